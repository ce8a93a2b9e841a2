"""Where a value sits on its page: the page image with a box around its source lines (PDFs), or the
page's text with those lines marked (text reports).

The box is the union of the boxes `document.json` keeps for the value's lines (page and line from
`Evidence`; the evidence text's ` / `-joined parts say how many lines, counted from its first).
Page images are rendered from the input PDF named in `source.json` — only when that file's
SHA-256 is the report's — by pypdfium2, on demand, and kept in memory (`render_page`).
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Optional

from pipeline import pdfium_lock
from pipeline.models import BBox, Evidence

RENDER_DPI = 110
"""Page images at about 900 pixels across an A4 page: enough to read a line, small to send."""
_PDFIUM = pdfium_lock.LOCK  # the app serves requests from a thread pool


@dataclass
class PageLine:
    line: int
    text: str
    bbox: Optional[BBox]


@dataclass
class PageView:
    number: int
    width: Optional[float]
    height: Optional[float]
    lines: list[PageLine] = field(default_factory=list)


@dataclass
class Source:
    """A value's place on its page."""

    page: int
    marked: list[int]  # the source lines (line numbers as in Evidence.line)
    box: Optional[BBox]  # their union, in PDF points from the top-left; None without boxes
    view: Optional[PageView]

    def box_percent(self) -> Optional[dict[str, float]]:
        """The box as percentages of the page, for a box drawn over the image by CSS."""
        v = self.view
        if self.box is None or v is None or not v.width or not v.height:
            return None
        b = self.box
        return {"left": 100 * b.x0 / v.width, "top": 100 * b.top / v.height,
                "width": 100 * (b.x1 - b.x0) / v.width, "height": 100 * (b.bottom - b.top) / v.height}


@lru_cache(maxsize=8)
def _pages(path: str, mtime_ns: int) -> dict[int, PageView]:
    """document.json's pages (only what a review shows); keyed by mtime, so a new run's document
    is read again."""
    del mtime_ns
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    pages = {}
    for p in doc.get("pages", []):
        lines = [PageLine(ln["line"], ln.get("text", ""), BBox(**ln["bbox"]) if ln.get("bbox") else None)
                 for ln in p.get("lines", [])]
        pages[p["number"]] = PageView(p["number"], p.get("width"), p.get("height"), sorted(lines, key=lambda x: x.line))
    return pages


def document_pages(report_dir: Path) -> dict[int, PageView]:
    path = report_dir / "document.json"
    if not path.is_file():
        return {}
    return _pages(str(path), path.stat().st_mtime_ns)


def locate(report_dir: Path, evidence: Optional[Evidence]) -> Optional[Source]:
    if evidence is None:
        return None
    view = document_pages(report_dir).get(evidence.page)
    if view is None or evidence.line is None:
        return Source(evidence.page, [], None, view)
    wanted = max(1, len(evidence.text.split(" / ")))
    start = next((n for n, ln in enumerate(view.lines) if ln.line == evidence.line), None)
    if start is None:
        return Source(evidence.page, [], None, view)
    chosen = [ln for ln in view.lines[start:] if ln.text.strip()][:wanted] or [view.lines[start]]
    box = BBox.union([ln.bbox for ln in chosen if ln.bbox is not None])
    return Source(evidence.page, [ln.line for ln in chosen], box, view)


@lru_cache(maxsize=16)
def _sha256(path: str, mtime_ns: int) -> str:
    del mtime_ns
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_pdf(report_dir: Path, sha256: Optional[str]) -> Optional[Path]:
    """The report's input PDF, when `source.json` names one that is still the file the report
    was made from (same SHA-256); else None."""
    try:
        meta = json.loads((report_dir / "source.json").read_text(encoding="utf-8"))
        path = Path(meta["file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if path.suffix.lower() != ".pdf" or not path.is_file() or not sha256:
        return None
    return path if _sha256(str(path.resolve()), path.stat().st_mtime_ns) == sha256 else None


@lru_cache(maxsize=48)
def render_page(pdf: str, mtime_ns: int, number: int) -> bytes:
    """Page `number` (1-based) of `pdf` as PNG bytes; ValueError for a page the file does not have."""
    import pypdfium2 as pdfium

    del mtime_ns
    with _PDFIUM:
        document = pdfium.PdfDocument(pdf)
        try:
            if not 1 <= number <= len(document):
                raise ValueError(f"{pdf} has no page {number}")
            page = document[number - 1]
            image = page.render(scale=RENDER_DPI / 72).to_pil()
            page.close()
        finally:
            document.close()
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()
