"""Ingest: any report file → `Document` (pages → lines → words, with provenance).

`load` reads a whole report in one process; the Prefect flows call the per-page functions of
`pipeline.ingest.pdf` instead, to OCR pages in parallel.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from pipeline.errors import (EmptyInput, InputNotReadable, MissingDependency, MissingInput, OcrFailed, PageTooLarge,
                             UnsupportedInput)
from pipeline.ingest import pdf
from pipeline.ingest.textfile import read_text_report
from pipeline.models import Document, Page, SourceKind

SUFFIXES = (".pdf", ".txt")


def check_input(path: Path) -> None:
    if path.is_symlink() and not path.exists():
        raise MissingInput(str(path), f"a broken symbolic link (to {os.readlink(path)}, which does not exist)",
                           hint="fix or remove the link, or copy the report in its place")
    if not path.exists():
        raise MissingInput(str(path), "no such file")
    if not path.is_file():
        raise UnsupportedInput(str(path), "not a regular file")
    if path.suffix.lower() not in SUFFIXES:
        raise UnsupportedInput(str(path), f"unsupported file type {path.suffix!r}")
    if path.stat().st_size == 0:
        raise EmptyInput(str(path), "the file is empty (0 bytes)")
    if not os.access(path, os.R_OK):
        raise InputNotReadable(str(path), "permission denied: this user may not read the file")


def check_dependencies(inputs: list[Path], lang: str) -> None:
    """What reading `inputs` needs is installed: Tesseract and its `lang` data when a PDF is among
    them (its pages may need OCR)."""
    if any(p.suffix.lower() == ".pdf" for p in inputs):
        check_ocr(lang)


@lru_cache(maxsize=None)
def check_ocr(lang: str) -> None:
    """Tesseract and its data for every language of `lang` (`spa`, `spa+eng`) are installed: checked
    once, before any page is read, so a missing install is named as such, not as a bad page."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise MissingDependency("tesseract", "the Tesseract OCR program is not on PATH (scanned pages need it)")
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise MissingDependency(binary, f"Tesseract does not run ({exc})") from exc
    installed = set(line.strip() for line in listed.stdout.splitlines()[1:] if listed.returncode == 0) - {""}
    missing = [code for code in lang.split("+") if code not in installed]
    if missing:
        raise MissingDependency(
            f"{missing[0]}.traineddata", f"Tesseract has no data for language {'+'.join(missing)!r} "
            f"(installed: {', '.join(sorted(installed)) or 'none'})",
            hint=f"install it: `sudo apt-get install {' '.join('tesseract-ocr-' + m for m in missing)}`")


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
