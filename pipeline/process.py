"""One report through the stages in a single process: ingest → layout → repair → extract.

The Prefect flows run the same stages as separate cached tasks (flows/); these functions are the
library's own composition of them, for the CLI's one-file commands and for scripts.
"""
from __future__ import annotations

from pathlib import Path

from pipeline import ingest, layout
from pipeline.ingest import pdf
from pipeline.models import CommitmentReport, Document
from pipeline.repair import RepairResult, repair_lines


def read_report(
    path: Path | str,
    dpi: int = pdf.DEFAULT_DPI,
    lang: str = pdf.DEFAULT_LANG,
    min_quality: float = pdf.DEFAULT_MIN_QUALITY,
) -> Document:
    """The report's pages with furniture and footnotes marked apart from the body."""
    return layout.analyse(ingest.load(path, dpi=dpi, lang=lang, min_quality=min_quality))


def repair_document(doc: Document) -> RepairResult:
    """OCR repair of the body lines, with the page's footnotes to link glued references to and the
    whole body text to take intact URLs from."""
    return repair_lines(doc.body_lines(), doc.footnotes(), doc_text=doc.body_text())


def clean_text(doc: Document, repaired: RepairResult) -> str:
    """The repaired body text, one form feed between pages: every page of the document, an empty
    one too, so that page N of clean.txt is page N of text.txt."""
    pages: dict[int, list[str]] = {p.number: [] for p in doc.pages}
    for ln in repaired.lines:
        pages.setdefault(ln.page, []).append(ln.text)
    return "\f".join("\n".join(texts) for _, texts in sorted(pages.items()))


def extract_document(doc: Document, repaired: RepairResult) -> CommitmentReport:
    from pipeline.extract import extract_commitments

    report = extract_commitments(repaired.lines, doc.name, doc.footnotes(), tables=doc.tables())
    report.source_sha256 = doc.sha256
    return report


def outcome(doc: Document, report: CommitmentReport, output_errors: list[dict] = ()) -> dict:
    """A processed report's outcome: `success`, or `partial` with each problem that makes its
    results incomplete listed as a warning (a page whose reading failed and was kept empty, a
    page that gave no text, no commitment found, a count the report states that was not found, an
    output that could not be written: `output_errors`, each a `PipelineError.to_dict()`)."""
    warnings = [{"page": p.number, "reason": f"{e.error}: {e.problem}", "hint": e.hint}
                for p in doc.pages for e in p.errors]
    warnings += [{"page": e["page"], "reason": f"{e['error']}: {e['problem']}", "hint": e["hint"]}
                 for e in output_errors]
    warnings += [{"page": p.number, "reason": "no text was read from this page"}
                 for p in doc.pages if not any(ln.text.strip() for ln in p.lines) and not p.errors]
    if not report.commitments:
        warnings.append({"page": None, "reason": "no commitment found: check that this is an OGP report (action "
                                                 "plan, self-assessment, IRM or progress report) and that its "
                                                 "text is readable (see text.txt)"})
    for flag in report.flags:
        warnings.append({"page": None, "reason": flag})
    return {"outcome": "partial" if warnings else "success", "warnings": warnings}
