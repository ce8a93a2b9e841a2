"""`ogp`: the command line. Thin: parses arguments, calls the flows or the library, prints."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text
from rich.table import Table

from pipeline.errors import ExitCode
from pipeline.ingest.pdf import DEFAULT_MIN_QUALITY

app = typer.Typer(add_completion=False, no_args_is_help=True, help="OGP report pipeline")
err = Console(stderr=True, soft_wrap=True)  # messages name paths: never break them


@app.callback()
def _root() -> None:
    """OGP report pipeline: ingest, repair, extract and score OGP self-assessment reports."""


def _prefect_defaults() -> None:
    """Embedded server, offline, no telemetry — unless the user configured otherwise."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class _PagesPerMinute(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed * 60:.0f} pages/min" if speed else "", style="cyan")


class _Bars:
    """Rich progress: one bar per report (pages done of pages)."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def report_started(self, report: str, pages: int) -> None:
        self.tasks[report] = self.progress.add_task(Path(report).name, total=pages)

    def page_done(self, report: str) -> None:
        if report in self.tasks:
            self.progress.advance(self.tasks[report])

    def report_done(self, report: str, ok: bool) -> None:
        if report not in self.tasks:
            self.tasks[report] = self.progress.add_task(Path(report).name, total=1)
        task = self.tasks[report]
        self.progress.update(
            task, completed=self.progress.tasks[task].total,
            description=f"{Path(report).name} [{'green]ok' if ok else 'red]failed'}",
        )


@app.command()
def run(
    paths: List[Path] = typer.Argument(None, help="report files or folders (default: corpus/)"),
    out: Path = typer.Option(Path("outputs"), "--out", help="output folder"),
    dpi: int = typer.Option(300, help="rasterization resolution for OCR"),
    lang: str = typer.Option("spa", help="Tesseract language"),
    workers: int = typer.Option(os.cpu_count() or 1, min=1, help="pages and reports processed in parallel (reports in worker processes)"),
    min_quality: float = typer.Option(
        DEFAULT_MIN_QUALITY, help="re-OCR text-layer pages with a smaller share of known Spanish words"
    ),
    force: bool = typer.Option(False, "--force", help="recompute everything, ignoring cached results"),
    dask_address: Optional[str] = typer.Option(
        None, "--dask-address", help="run page tasks on an existing Dask cluster, e.g. tcp://HOST:8786"
    ),
    gold: Path = typer.Option(
        Path("gold"), "--gold", help="gold set (one folder per report): reviews beside it, and scores after the run"
    ),
    no_pdf: bool = typer.Option(False, "--no-pdf", help="make no searchable.pdf of the PDF inputs"),
) -> None:
    """Run the pipeline flow over every .pdf/.txt report in PATHS."""
    _prefect_defaults()
    # cached task results live beside the outputs, so deleting outputs/ forgets them too
    os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str((out / ".cache").resolve()))
    from flows import reuse

    paths = paths or [Path("corpus")]
    gold_root = gold if gold.is_dir() else None
    try:  # nothing changed since the last run on --out: its results stand, no flow starts
        settings = reuse.run_settings(dpi, lang, min_quality, pdf=not no_pdf)
        summaries = None if force else reuse.unchanged_run(paths, out, settings, gold_root)
    except Exception as exc:  # noqa: BLE001 - the folder is another run's (lock), or unreadable
        _fail(exc)
    if summaries is None:
        summaries = _run_flow(paths, out, dpi=dpi, lang=lang, min_quality=min_quality, workers=workers,
                              force=force, dask_address=dask_address, gold_root=gold_root,
                              pdf=not no_pdf)
    table = Table(title=f"ogp run → {out}")
    for col in ("report", "source", "pages", "ocr pages", "footnotes", "corrections", "commitments", "seconds", "result"):
        table.add_column(col)
    for s in summaries:
        result = {"success": "ok", "partial": "[yellow]partial"}.get(s["outcome"]) or f"[red]{s['error']['problem']}"
        result += " (unchanged)" if s.get("reused") else ""
        table.add_row(s["report"], s.get("source", "-"), str(s.get("pages", "-")), str(s.get("ocr_pages", "-")),
                      str(s.get("footnotes", "-")), str(s.get("corrections", "-")),
                      str(s.get("commitments", "-")), str(s["seconds"]), result)
    Console().print(table)
    failed = [s for s in summaries if not s["ok"]]
    for s in failed:
        e = s["error"]
        where = e["file"] + (f", page {e['page']}" if e.get("page") else "")
        err.print(f"[red]error[/red] {where}: {e['problem']}" + (f" — {e['hint']}" if e.get("hint") else ""))
    for s in summaries:
        for w in s.get("warnings", []):
            err.print(f"[yellow]warning[/yellow] {s['file']}" + (f", page {w['page']}" if w["page"] else "")
                      + f": {w['reason']}")
    if failed:
        err.print(f"{len(failed)} of {len(summaries)} reports failed; see {out / 'errors.json'}")
        kinds = {s["error"]["error"] for s in failed}
        raise typer.Exit(ExitCode.INTERNAL if "InternalError" in kinds
                         else ExitCode.CHILD_FAILED if "ChildFailed" in kinds else ExitCode.SOME_REPORTS_FAILED)


def _run_flow(paths: list[Path], out: Path, **options) -> list[dict]:
    """The corpus flow over `paths`, with a progress bar per report."""
    from flows import server

    with server.ephemeral():  # booting while the flows and the library are imported
        if options.get("workers", 1) > 1 and not options.get("dask_address"):
            _start_report_workers(paths)
        from flows import progress as flow_progress
        from flows.report import run_corpus

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _PagesPerMinute(),
                   TimeElapsedColumn())
        with Progress(*columns, console=err, transient=False) as bars:
            flow_progress.listen(_Bars(bars))
            try:
                return run_corpus(paths, out, **options)
            except Exception as exc:  # noqa: BLE001 - a typed run error (lock, dependency, access) or a bug
                _fail(exc, f"what the run wrote so far is in {out}; the report folders written are complete, "
                           "summary.json and the catalog may be those of the previous run")
            finally:
                flow_progress.listen(None)


def _start_report_workers(paths: list[Path]) -> None:
    """With more than one report to read, the forkserver of the report workers (flows.pool), so
    that it loads the library while this process starts the flow."""
    from pipeline import outdir

    try:
        several = len(outdir.discover(paths)) > 1
    except Exception:  # noqa: BLE001 - a bad path: the flow names it
        return
    if several:
        from flows import pool

        pool.start_forkserver()


def _fail(exc: Exception, written: str = "nothing was written") -> None:
    """A typed pipeline error: its message (file, page, fix) and its exit code; anything else is a
    bug: an internal error, saying where to report it and what was written."""
    from pipeline.errors import InternalError, PipelineError

    if not isinstance(exc, PipelineError):
        err.print_exception()
        exc = InternalError(type(exc).__name__, f"{exc}; {written}",
                            hint="a bug in ogp-pipeline: please report it in the project's issue tracker "
                                 "with this message and the traceback above")
    err.print(f"[red]error[/red] {exc}")
    raise typer.Exit(exc.exit_code)


@app.command()
def repair(
    file: str = typer.Argument("-", help="a .txt OCR dump or a .pdf report, or - for standard input"),
    log: Optional[Path] = typer.Option(None, "--log", help="write every correction (and flagged candidate) here as JSON lines"),
    keep_lines: bool = typer.Option(False, "--keep-lines", help="keep the input's line breaks inside paragraphs"),
) -> None:
    """Repair OCR artifacts; the repaired text goes to standard output."""
    from pipeline.export import atomic_write_text
    from pipeline.process import clean_text, read_report, repair_document
    from pipeline.repair import join_paragraphs, repair_text

    try:
        if file == "-":
            text, corrections = repair_text(sys.stdin.read())
        else:
            doc = read_report(Path(file))
            result = repair_document(doc)
            text, corrections = clean_text(doc, result), result.corrections
    except Exception as exc:  # noqa: BLE001 - typed errors become messages, others propagate
        _fail(exc)
    sys.stdout.write((text if keep_lines else join_paragraphs(text)) + "\n")
    if log:
        atomic_write_text(log, "".join(c.model_dump_json() + "\n" for c in corrections))
    applied = sum(c.applied for c in corrections)
    err.print(f"{applied} corrections applied, {len(corrections) - applied} flagged for review")


@app.command()
def extract(
    file: Path = typer.Argument(..., help="a .txt OCR dump or a .pdf report"),
    as_json: bool = typer.Option(False, "--json", help="print the commitments as JSON (default: a table)"),
) -> None:
    """Ingest, repair and extract one report; print its commitments."""
    from pipeline.process import extract_document, read_report, repair_document

    try:
        doc = read_report(file)
        report = extract_document(doc, repair_document(doc))
    except Exception as exc:  # noqa: BLE001
        _fail(exc)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=1) + "\n")
        return
    table = Table(title=f"{file.name}: {len(report.commitments)} commitments")
    for col in ("n", "title", "section", "status", "actors", "urls", "pages"):
        table.add_column(col)
    for c in report.commitments:
        table.add_row(str(c.number), c.title, c.section or "-", c.status or "[red]?", str(len(c.actors)),
                      str(len(c.urls)), f"{min(c.pages)}-{max(c.pages)}" if c.pages else "-")
    Console().print(table)


@app.command()
def score(
    gold: Path = typer.Option(Path("gold"), "--gold", help="gold root: one folder per report with commitments.json"),
    pred: Path = typer.Option(Path("outputs"), "--pred", help="predictions: the output folder of ogp run"),
    out: Optional[Path] = typer.Option(None, "--out", help="where score.json and score.md go (default: --pred)"),
    min_f1: Optional[float] = typer.Option(
        None, "--min-f1", help="exit with code 4 if the overall actor F1 is below this (a regression gate)"
    ),
    gates: Optional[Path] = typer.Option(
        None, "--gates", help="per-report floors (e.g. gold/gates.toml): exit with code 4 if any is not reached"
    ),
) -> None:
    """Score extracted commitments against the gold set; print the table, write score.json/score.md."""
    from pipeline.report import format_table, write_score
    from pipeline.score import score_corpus

    if not pred.is_dir():
        err.print(f"[red]error[/red] {pred}: no such folder — give the output folder of `ogp run` with --pred")
        raise typer.Exit(ExitCode.BAD_ARGS)
    if not any(gold.glob("*/commitments.json")):
        err.print(f"[red]error[/red] {gold}: no */commitments.json gold files — give the gold set with --gold")
        raise typer.Exit(ExitCode.BAD_ARGS)
    try:
        result = score_corpus(gold, pred)
    except (ValueError, OSError, RecursionError) as exc:
        _fail(_damaged_gold(exc, gold, pred))
    Console().print(format_table(result))
    if not result["overall"]["scored"]:
        err.print(f"[red]error[/red] no report in {pred} has gold in {gold}: nothing scored")
        raise typer.Exit(ExitCode.BAD_ARGS)
    write_score(result, out or pred)
    err.print(f"wrote {(out or pred) / 'score.json'} and score.md")
    if gates is not None:
        from pipeline import gates as gate_file

        try:
            checked = gate_file.check(result, gate_file.load(gates))
        except ValueError as exc:
            err.print(f"[red]error[/red] {exc}")
            raise typer.Exit(ExitCode.BAD_ARGS)
        for line in checked.lines:
            err.print(line, markup=False, highlight=False)
        if checked.failures:
            err.print(f"[red]{len(checked.failures)} gate(s) of {gates} not reached[/red]")
            raise typer.Exit(ExitCode.BELOW_THRESHOLD)
    if min_f1 is not None:
        f1 = result["overall"]["actors"]["micro_all"]["f1"] if result["overall"]["scored"] else None
        if f1 is None or f1 < min_f1:
            err.print(f"[red]actor F1 {f1 if f1 is None else round(f1, 4)} is below --min-f1 {min_f1}[/red]")
            raise typer.Exit(ExitCode.BELOW_THRESHOLD)


@app.command()
def review(
    out: Path = typer.Argument(..., help="an output folder of `ogp run`"),
    gold: Path = typer.Option(Path("gold"), "--gold", help="gold set the decisions are written into"),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="port to serve on"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to serve on (default: this machine only)"),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="name written in the review log (default: the user)"),
) -> None:
    """Review extracted values against their pages in the browser; decisions go into the gold set."""
    import getpass

    import uvicorn

    from pipeline.review_app import create_app

    if not out.is_dir():
        err.print(f"[red]error[/red] {out}: no such folder — give the output folder of `ogp run`")
        raise typer.Exit(ExitCode.BAD_ARGS)
    if gold.exists() and not gold.is_dir():
        err.print(f"[red]error[/red] {gold}: not a folder — give the gold set with --gold")
        raise typer.Exit(ExitCode.BAD_ARGS)
    hosts = [f"{host}:{port}"] + ([f"localhost:{port}", f"127.0.0.1:{port}"] if host == "127.0.0.1" else [])
    web = create_app(out, gold, reviewer or getpass.getuser(), hosts)
    err.print(f"reviewing {out} (gold: {gold}) at http://{host}:{port}/ — Ctrl-C to stop")
    uvicorn.run(web, host=host, port=port, log_level="warning")


def _damaged_gold(exc: Exception, gold: Path, pred: Path):
    """The typed error for a gold (or prediction) file `score_corpus` could not read, naming it."""
    from pipeline.errors import InvalidGold

    if isinstance(exc, RecursionError):  # json.loads of a deeply nested file: find which one
        for f in [*sorted(gold.glob("*/*.json")), *sorted(pred.glob("*/commitments.json"))]:
            try:
                json.loads(f.read_bytes())
            except RecursionError:
                return InvalidGold(str(f), "JSON nested too deeply to be a report")
            except (OSError, ValueError):
                continue
        return InvalidGold(str(gold), "a JSON file nested too deeply to be a report")
    if isinstance(exc, OSError):
        what = "a folder where a file should be" if isinstance(exc, IsADirectoryError) else exc.strerror
        return InvalidGold(str(exc.filename or gold), f"cannot be read: {what}")
    return InvalidGold(str(gold), str(exc))


def main() -> None:
    """`ogp`: exits with the README's codes, a usage error (unknown option, bad value) with 1."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # usage errors: click's code for them is 2, an unreadable input here
        exc.show()
        code = ExitCode.BAD_ARGS
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
