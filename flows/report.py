"""Flows: `process_report` (one file) and `process_corpus` (files and folders), and `run_corpus`,
which starts the corpus flow as the CLI does. Orchestration only: every step is a library function
wrapped in a task."""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from prefect import Task, flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext, TagsContext
from prefect.states import Crashed, Pending
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque

from flows import pool, progress, reuse, server, tasks
from flows.evaluate import evaluate
from flows.caching import extract_version, ingest_version, repair_version
from pipeline import outdir
from pipeline.errors import ChildFailed, as_pipeline_error
from pipeline.export import atomic_write_json
from pipeline.ingest import assemble_pdf, check_dependencies, check_input
from pipeline.ingest.pdf import DEFAULT_DPI, DEFAULT_LANG, DEFAULT_MIN_QUALITY, sha256_file
from pipeline.models import SourceKind
from pipeline.process import outcome
from pipeline.score import find_gold, gold_by_source


@flow(name="process-report", flow_run_name="report-{path.name}")
def process_report(
    path: Path,
    out: Path,
    name: str | None = None,
    dpi: int = DEFAULT_DPI,
    lang: str = DEFAULT_LANG,
    min_quality: float = DEFAULT_MIN_QUALITY,
    force: bool = False,
    gold_root: Path | None = None,
    pdf: bool = True,
    key: str | None = None,
) -> dict:
    """Ingest → layout → repair → extract → outputs (the review page, beside the gold when
    `gold_root` has this report; searchable.pdf of a PDF input unless `pdf` is False) for one
    report, into the folder `out/name` (default: the name `pipeline.outdir.report_names` gives the
    file alone), replaced whole at the end. Returns a summary; a bad report gives a summary with its
    error instead of raising, so one bad report never stops a batch."""
    started = time.perf_counter()
    name = name or outdir.report_names([path])[path]
    summary = {"report": name, "file": str(path), "ok": False, "outcome": "failure"}
    try:
        with outdir.staged_report(out, name) as folder:
            check_input(path)
            sha = sha256_file(path)
            summary["sha256"] = sha
            code = ingest_version()
            opts = {"refresh_cache": True} if force else {}
            if path.suffix.lower() == ".txt":
                progress.report_started(str(path), 1)
                doc = tasks.read_text_file.with_options(**opts)(path, sha, code)
                # the cache is keyed on the content, not the path: a renamed or moved copy gets the
                # result read from the old path, and must name its own file
                doc = doc.model_copy(update={"path": str(path)})
                progress.page_done(str(path))
            else:
                plans = tasks.plan_pdf.with_options(**opts)(path, sha, min_quality, code)
                progress.report_started(str(path), len(plans))
                futures = tasks.read_page.with_options(**opts).map(path, sha, plans, dpi, lang, code)
                doc = assemble_pdf(path, sha, futures.result())
            # opaque(): Prefect would otherwise walk every word of the document looking for futures
            # to resolve and record as inputs, twice per task: ~0.4 s a task on a 20-page scan
            doc = tasks.analyse_layout(opaque(doc))
            repaired = tasks.repair.with_options(**opts)(opaque(doc), repair_version())
            pdf_errors = (tasks.write_searchable(path, opaque(doc), opaque(repaired), folder, lang)
                          if pdf and doc.source is not SourceKind.TEXT_FILE else [])
            report = tasks.extract.with_options(**opts)(opaque(doc), opaque(repaired), extract_version())
            # named as its folder (the extraction names it after the file's stem, which may clash)
            report = report.model_copy(update={"report": name})
            tasks.write_outputs(folder, name, opaque(doc), opaque(repaired), opaque(report), gold_root)
            summary.update(
                ok=True,
                **outcome(doc, report, pdf_errors),
                source=doc.source.value,
                pages=len(doc.pages),
                ocr_pages=sum(p.source.value == "ocr" for p in doc.pages),
                footnotes=len(doc.footnotes()),
                corrections=sum(c.applied for c in repaired.corrections),
                flagged=sum(not c.applied for c in repaired.corrections),
                commitments=len(report.commitments),
                seconds=round(time.perf_counter() - started, 2),
            )
            if key:  # what the next run needs to know this folder is current (flows.reuse)
                reuse.record_report(folder, key, summary)
    except Exception as exc:  # typed errors, and bugs or unforeseen inputs: still one report, not the batch
        summary["error"] = as_pipeline_error(exc, path).to_dict()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    progress.report_done(str(path), summary["ok"])
    return summary


def _subflow_run(parameters: dict, attempt: int = 1):
    """A flow run of `process_report` for a worker, made as Prefect makes a subflow's: a tracking
    task run in the corpus run, then the flow run as its child (the server keeps the two states in
    step)."""
    tracker = Task(name=process_report.name, fn=process_report.fn, version=process_report.version)
    corpus_run, tags = FlowRunContext.get().flow_run, TagsContext.get().current_tags
    key = parameters["name"] + (f"-{attempt}" if attempt > 1 else "")  # report names are unique in a run
    with get_client(sync_client=True) as client:
        parent = client.create_task_run(tracker, corpus_run.id, dynamic_key=key, state=Pending(),
                                        name=f"{tracker.name}-{key}", extra_tags=tags)
        return client.create_flow_run(process_report, parameters=process_report.serialize_parameters(parameters),
                                      state=Pending(), parent_task_run_id=parent.id, tags=tags)


def _reports_in_workers(jobs: dict[Path, dict], workers: int) -> dict[Path, dict]:
    """Each report's subflow in a worker process (flows.pool), `workers` at a time. Each flow run
    is made just before its report is handed to the pool, so the first reports start while the
    others' runs are being made (making all twenty first kept the workers waiting 2-3 s). A worker
    that died takes down the reports the pool had not finished: each is run again alone, and the
    one that kills its worker again fails (`ChildFailed`), the batch goes on."""
    runs = {}

    def submitted():
        for p, params in jobs.items():
            runs[p] = _subflow_run(params)
            yield p, (runs[p], params, workers)

    with pool.ReportPool(min(workers, len(jobs))) as reports:
        results = reports.run_all(pool.run_report, submitted())
        for p in [p for p, r in results.items() if isinstance(r, BrokenProcessPool)]:
            _crashed(runs[p])
            results[p] = reports.run_alone(pool.run_report, _subflow_run(jobs[p], attempt=2), jobs[p], workers)
    summaries = {}
    for p, result in results.items():
        if isinstance(result, dict):
            summaries[p] = result
            continue
        error = (ChildFailed(p, "the worker process running it died (killed, or out of memory)")
                 if isinstance(result, BrokenProcessPool) else as_pipeline_error(result, p))
        progress.report_done(str(p), False)
        summaries[p] = {"report": jobs[p]["name"], "file": str(p), "ok": False, "outcome": "failure",
                        "error": error.to_dict(), "seconds": 0.0}
    return summaries


def _crashed(flow_run) -> None:
    """Mark the flow run of a report whose worker died as crashed (it stays Running otherwise)."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run.id, Crashed(message="its worker process died"), force=True)


@flow(name="process-corpus")
def process_corpus(
    paths: list[Path],
    out: Path,
    dpi: int = DEFAULT_DPI,
    lang: str = DEFAULT_LANG,
    min_quality: float = DEFAULT_MIN_QUALITY,
    workers: int = os.cpu_count() or 1,
    force: bool = False,
    dask_address: str | None = None,
    gold_root: Path | None = None,
    pdf: bool = True,
) -> list[dict]:
    """Every report file in `paths`, each its own subflow; pages are read by `workers` parallel
    tasks (one Tesseract thread each), or on an existing Dask cluster at `dask_address`.
    `force` recomputes everything instead of reusing cached results; `pdf` False makes no
    searchable.pdf. Writes errors.json (the failed reports), summary.json and the corpus catalog
    (catalog.csv, catalog.sqlite); when `gold_root` holds gold for some of the reports, runs the
    `evaluate` flow (score.json, score.md, Prefect artifacts)."""
    with outdir.run_lock(out):  # one run per output folder: its temp files are this run's to remove
        outdir.remove_temp_files(out)
        inputs = outdir.discover(paths)
        check_dependencies(inputs, lang)  # a missing Tesseract is named once, not as every page's failure
        # decided before any report starts: the unchanged ones keep their folders (flows.reuse)
        plan = reuse.plan_run(inputs, out, reuse.run_settings(dpi, lang, min_quality, pdf), gold_root, force)
        names = plan.names
        if dask_address:
            from prefect_dask import DaskTaskRunner

            runner = DaskTaskRunner(address=dask_address)
        else:
            runner = ThreadPoolTaskRunner(max_workers=workers)
        to_run = [p for p in inputs if p not in plan.reused]

        def parameters(p: Path) -> dict:
            return dict(path=p, out=out, name=names[p], dpi=dpi, lang=lang, min_quality=min_quality, force=force,
                        gold_root=gold_root, pdf=pdf, key=plan.keys[p])

        if workers > 1 and len(to_run) > 1 and not dask_address:  # reports side by side (flows.pool)
            done = _reports_in_workers({p: parameters(p) for p in to_run}, workers)
        else:
            per_report = process_report.with_options(task_runner=runner)
            # Prefect joins a flow run's heartbeat thread on exit, and it sleeps in 1 s steps: up to
            # 1 s more per report. The corpus run keeps its heartbeat (see run_corpus); the
            # per-report subflows go without.
            with _no_heartbeats():
                done = {p: per_report(**parameters(p)) for p in to_run}
        summaries = [plan.reused.get(p) or done[p] for p in inputs]
        errors = [s["error"] for s in summaries if not s["ok"]]
        atomic_write_json(out / "errors.json", errors)
        atomic_write_json(out / "summary.json", summaries)
        tasks.build_catalog(out)
        index = gold_by_source(gold_root) if gold_root else {}
        if gold_root and any(find_gold(gold_root, s.get("sha256"), s["report"], index) for s in summaries if s["ok"]):
            try:
                evaluate(gold_root, out)
            except ValueError as exc:  # a damaged gold file: the batch's outputs stand, the score is skipped
                get_run_logger().error("not scored: %s", exc)
        reuse.record_run(out, plan)
        return summaries


def run_corpus(paths: list[Path], out: Path, **options) -> list[dict]:
    """`process_corpus(paths, out, **options)`, with the corpus run's heartbeats only when a Prefect
    server outlives the run (`PREFECT_API_URL` set). Heartbeats let that server's UI tell a batch
    that died from one still running; the embedded server stops with the run, so nobody would
    read them there, and joining their thread costs up to 1 s (at random) at the end of the run."""
    # the output folder's lock and the dependencies, before the flow starts: a refusal is a message,
    # not a failed flow run with its traceback (the flow takes the lock again: it is re-entrant)
    with outdir.run_lock(out):
        check_dependencies(outdir.discover(paths), options.get("lang", DEFAULT_LANG))
        server.wait()  # the run's own server (flows.server), when the CLI started one
        outlives = PREFECT_API_URL.value() and not server.ours()
        with contextlib.nullcontext() if outlives else _no_heartbeats():
            return process_corpus(paths, out, **options)


def _no_heartbeats():
    """Flow runs started inside go without heartbeats. A no-op when they are off already: a new
    settings context costs 0.1-0.2 s (Prefect validates the whole settings tree again)."""
    if PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() is None:
        return contextlib.nullcontext()
    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
