"""Prefect tasks: thin wrappers over the library's stages, adding caching, retries and timeouts.
Every cached task takes a `code` input, the version of the library code it runs (flows.caching).
The others say NO_CACHE: Prefect's default policy would hash their inputs, whole documents, to
cache within one run what never runs twice in one (0.14 s a 20-page report)."""
from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import pool, progress
from flows.caching import BY_CONTENT
from pipeline import export, ingest, layout, process, searchable
from pipeline.errors import as_pipeline_error
from pipeline.ingest import pdf
from pipeline.models import CommitmentReport, Document, Page
from pipeline.repair import RepairResult


@task(name="plan-pdf", cache_policy=BY_CONTENT, persist_result=True)
def plan_pdf(path: Path, sha256: str, min_quality: float, code: str) -> list[pdf.PagePlan]:
    pdf.page_count(path)
    return pdf.plan_pages(path, min_quality)


@task(
    name="read-page",
    cache_policy=BY_CONTENT,
    persist_result=True,
    retries=2,
    retry_delay_seconds=1,  # the per-page timeout is Tesseract's own (pipeline.ingest.pdf)
    task_run_name="read-page-{plan.number}",
)
def read_page(path: Path, sha256: str, plan: pdf.PagePlan, dpi: int, lang: str, code: str) -> Page:
    with pool.page_slot():  # in a report worker: one of the run's page slots, shared by all reports
        page = ingest.read_page(path, plan, dpi, lang)
    progress.page_done(str(path))
    return page


@task(name="read-text-file", cache_policy=BY_CONTENT, persist_result=True)
def read_text_file(path: Path, sha256: str, code: str) -> Document:
    return ingest.read_text_report(path)


@task(name="layout", cache_policy=NO_CACHE)
def analyse_layout(doc: Document) -> Document:
    """The layout of a copy: `layout.analyse` changes the document it is given, and this one may be
    a cached result that the next report with the same content gets too."""
    return layout.analyse(doc.model_copy(deep=True))


@task(name="repair", cache_policy=BY_CONTENT, persist_result=True)
def repair(doc: Document, code: str) -> RepairResult:
    """OCR repair of the body lines; cached on the document and the repair rules' version."""
    return process.repair_document(doc)


@task(name="extract", cache_policy=BY_CONTENT, persist_result=True)
def extract(doc: Document, repaired: RepairResult, code: str) -> CommitmentReport:
    """Commitments from the repaired lines; cached on them and the extraction rules' version."""
    return process.extract_document(doc, repaired)


@task(name="write-searchable-pdf", cache_policy=NO_CACHE)
def write_searchable(path: Path, doc: Document, repaired: RepairResult, report_dir: Path, lang: str) -> list[dict]:
    """searchable.pdf; a failure to make it is returned as the report's error (the report is then
    partial, its other outputs complete), never raised."""
    try:
        made = searchable.write_searchable_pdf(path, doc, repaired, report_dir / "searchable.pdf", lang)
    except Exception as exc:  # noqa: BLE001 - typed (SearchablePdfFailed), or a bug: recorded, not fatal
        return [as_pipeline_error(exc, path).to_dict()]
    get_run_logger().info("searchable.pdf of %s: %s, a text layer on %d of %d pages", path.name,
                          "PDF/A-2b" if made.pdfa else "PDF (the input cannot be PDF/A as it is)",
                          len(made.text_pages), len(doc.pages))
    return []


@task(name="write-outputs", cache_policy=NO_CACHE)
def write_outputs(report_dir: Path, name: str, doc: Document, repaired: RepairResult, report: CommitmentReport,
                  gold_root: Path | None) -> Path:
    """The report's files, in one task (each task run costs the run's Prefect server its events):
    document.json and text.txt, clean.txt and corrections.jsonl, commitments.json/.csv and
    review.html, beside the report's gold when `gold_root` has it (`pipeline.score.find_gold`: by
    the input's content, else by name; an unreadable gold file is reported in the log and the page
    is made without it). Returns review.html's path."""
    from pipeline.extract import commitments_to_csv_rows
    from pipeline.report import write_review
    from pipeline.score import find_gold, load_report

    export.write_document(doc, report_dir)
    export.write_repair(process.clean_text(doc, repaired), repaired.corrections, report_dir)
    export.write_commitments(report, *commitments_to_csv_rows(report), report_dir)
    gold_file = find_gold(gold_root, report.source_sha256, name) if gold_root else None
    gold = None
    if gold_file and gold_file.exists():
        try:
            gold = load_report(gold_file)
        except ValueError as exc:
            get_run_logger().warning("review of %s made without gold: %s", name, exc)
    return write_review(report_dir, report, gold, repaired.corrections)


@task(name="build-catalog", cache_policy=NO_CACHE)
def build_catalog(out: Path) -> dict:
    from pipeline.catalog import build_catalog as build

    return build(out)
