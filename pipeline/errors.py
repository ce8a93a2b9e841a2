"""Exception classes that tell the user what went wrong and what to do, with exit codes
(after OCRmyPDF's ExitCode)."""
from __future__ import annotations

from enum import IntEnum
import traceback
from pathlib import Path
from typing import Optional


class ExitCode(IntEnum):
    OK = 0
    BAD_ARGS = 1  # a usage error: an unknown option, a bad value (`--workers 0`)
    INPUT_FILE = 2  # the one report of a one-file command cannot be read
    SOME_REPORTS_FAILED = 3
    BELOW_THRESHOLD = 4
    MISSING_DEPENDENCY = 5  # Tesseract or its language data not installed
    FILE_ACCESS = 6  # a file or folder the pipeline may not read or write
    OUTPUT_BUSY = 7  # another `ogp run` holds the output folder
    INVALID_GOLD = 8  # a gold file that is not a gold report
    SERVER_FAILED = 9  # the run's own Prefect server did not start
    CHILD_FAILED = 10  # a worker process died while it ran a report (killed, out of memory)
    INTERNAL = 15  # a bug: the message says where to report it


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


class InputNotReadable(PipelineError):
    exit_code = ExitCode.FILE_ACCESS
    hint = "permission denied: give your user read access (`chmod u+r FILE`) or run as a user who has it"


class OutputNotWritable(PipelineError):
    exit_code = ExitCode.FILE_ACCESS
    hint = "give your user write access to the folder (`chmod u+w DIR`) or choose another with --out"


class OutputFolderBusy(PipelineError):
    exit_code = ExitCode.OUTPUT_BUSY
    hint = "wait for it to finish, or give this run another --out"


class MissingDependency(PipelineError):
    exit_code = ExitCode.MISSING_DEPENDENCY
    hint = "install it: `sudo apt-get install tesseract-ocr tesseract-ocr-spa` (or `bash scripts/setup.sh`)"


class ServerFailed(PipelineError):
    """The Prefect server the run started for itself (flows.server) exited or did not answer."""

    exit_code = ExitCode.SERVER_FAILED
    hint = ("point the run at a running server instead: `prefect server start`, then "
            "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (README, 'Run state in the Prefect UI')")


class ChildFailed(PipelineError):
    """The worker process running a report (flows.pool) died: the machine's fault or a crash, not
    necessarily the input's."""

    exit_code = ExitCode.CHILD_FAILED
    hint = ("run it again; if it fails again, run the report alone (`ogp run FILE --workers 1`) and look "
            "at the memory it takes (`dmesg` tells whether the system killed it)")


class InvalidGold(PipelineError):
    exit_code = ExitCode.INVALID_GOLD
    hint = "restore the gold file from git (`git checkout -- gold/`) or point --gold at a gold set"


class InternalError(PipelineError):
    """An unexpected exception: a bug, not the input's fault; `to_dict()` holds its traceback."""

    exit_code = ExitCode.INTERNAL
    stack = ""
    hint = ("a bug in ogp-pipeline: please report it in the project's issue tracker with this message, "
            "the input file and the traceback recorded in errors.json")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "traceback": self.stack}


def as_pipeline_error(exc: Exception, path: Path | str) -> PipelineError:
    """The typed error for an exception met while processing the report `path`: a PipelineError
    as it is; a permission error naming the file it was about (an input to read, or an output to
    write); anything else an InternalError carrying its traceback."""
    if isinstance(exc, PipelineError):
        return exc
    if isinstance(exc, PermissionError):
        where = exc.filename or path
        if Path(where) == Path(path):
            return InputNotReadable(str(where), f"permission denied ({exc.strerror})")
        return OutputNotWritable(str(where), f"permission denied writing the report's outputs ({exc.strerror})")
    error = InternalError(str(path), f"unexpected {type(exc).__name__}: {exc}")
    error.stack = "".join(traceback.format_exception(exc))
    return error
