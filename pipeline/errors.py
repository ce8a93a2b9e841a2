"""Exception classes that tell the user what went wrong and what to do, with exit codes
(after OCRmyPDF's ExitCode)."""
from __future__ import annotations

from enum import IntEnum
from typing import Optional


class ExitCode(IntEnum):
    OK = 0
    BAD_ARGS = 1
    INPUT_FILE = 2
    SOME_REPORTS_FAILED = 3
    BELOW_THRESHOLD = 4
    INTERNAL = 15


class PipelineError(Exception):
    """A report cannot be processed. `str()` names the file (and page) and the fix."""

    exit_code = ExitCode.INPUT_FILE
    hint = ""

    def __init__(self, path: str, problem: str, page: Optional[int] = None, hint: str = ""):
        self.path = str(path)
        self.page = page
        self.problem = problem
        self.hint = hint or self.hint
        where = self.path if page is None else f"{self.path}, page {page}"
        super().__init__(f"{where}: {problem}" + (f" — {self.hint}" if self.hint else ""))

    def to_dict(self) -> dict:
        return {
            "file": self.path,
            "page": self.page,
            "error": type(self).__name__,
            "problem": self.problem,
            "hint": self.hint,
        }


class MissingInput(PipelineError):
    hint = "check the path; give a .pdf or .txt file or a folder holding them"


class EmptyInput(PipelineError):
    hint = "the file has no content; re-export or re-scan the report"


class UnsupportedInput(PipelineError):
    hint = "give a .pdf (scanned or with a text layer) or a .txt OCR dump"


class UnreadablePdf(PipelineError):
    hint = "the file is not a valid PDF or is truncated; re-download or re-export it"


class EncryptedPdf(PipelineError):
    hint = "the PDF is password-protected; save a decrypted copy (e.g. `qpdf --decrypt in.pdf out.pdf`)"


class EmptyPdf(PipelineError):
    hint = "the PDF has no pages; check the export"


class OcrFailed(PipelineError):
    hint = "Tesseract could not read this page; check that tesseract-ocr-spa is installed and the page image is valid"


class PageTooLarge(PipelineError):
    hint = ("the page (or a picture on it) is too large to render within bounded memory; the page is "
            "left empty; lower --dpi, or check the PDF for a damaged or malicious image")
