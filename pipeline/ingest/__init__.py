"""Ingest: any report file → `Document` (pages → lines → words, with provenance).

`load` reads a whole report in one process; the Prefect flows call the per-page functions of
`pipeline.ingest.pdf` instead, to OCR pages in parallel.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.errors import EmptyInput, MissingInput, OcrFailed, PageTooLarge, UnsupportedInput
from pipeline.ingest import pdf
from pipeline.ingest.textfile import read_text_report
from pipeline.models import Document, Page, SourceKind

SUFFIXES = (".pdf", ".txt")


def check_input(path: Path) -> None:
    if not path.exists():
        raise MissingInput(str(path), "no such file")
    if not path.is_file():
        raise UnsupportedInput(str(path), "not a regular file")
    if path.suffix.lower() not in SUFFIXES:
        raise UnsupportedInput(str(path), f"unsupported file type {path.suffix!r}")
    if path.stat().st_size == 0:
        raise EmptyInput(str(path), "the file is empty (0 bytes)")


def assemble_pdf(path: Path, sha256: str, pages: list[Page]) -> Document:
    pages = sorted(pages, key=lambda p: p.number)
    kinds = {p.source for p in pages}
    source = kinds.pop() if len(kinds) == 1 else SourceKind.OCR
    return Document(path=str(path), sha256=sha256, source=source, pages=pages)


def read_page(path: Path, plan: pdf.PagePlan, dpi: int = pdf.DEFAULT_DPI, lang: str = pdf.DEFAULT_LANG) -> Page:
    """One page as its plan says: the text layer (and the text of its pictures), or OCR. A page
    that cannot be OCR'd (Tesseract fails or times out, the page is too large to render) is kept
    empty with the error recorded in `Page.errors`, so that the rest of the report is still read."""
    if plan.method == "text-layer":
        return pdf.read_text_layer_page(path, plan, dpi, lang)
    try:
        return pdf.ocr_page(path, plan.number, dpi=dpi, lang=lang, quality=plan.text_quality)
    except (OcrFailed, PageTooLarge) as exc:
        return Page(number=plan.number, source=SourceKind.OCR, text_quality=plan.text_quality,
                    errors=[pdf.page_error(exc)])


def load(
    path: Path | str,
    dpi: int = pdf.DEFAULT_DPI,
    lang: str = pdf.DEFAULT_LANG,
    min_quality: float = pdf.DEFAULT_MIN_QUALITY,
) -> Document:
    """Read one report file (`.txt` OCR dump or `.pdf`) into a Document, pages in order."""
    path = Path(path)
    check_input(path)
    if path.suffix.lower() == ".txt":
        return read_text_report(path)
    pdf.page_count(path)
    plans = pdf.plan_pages(path, min_quality)
    return assemble_pdf(path, pdf.sha256_file(path), [read_page(path, p, dpi, lang) for p in plans])
