"""Batch-scale benchmarks of ogp-pipeline, side by side in one run (not tests: figures, not verdicts).

    .venv/bin/python benchmarks/bench.py                  # everything, ~15 min on 2 cores
    .venv/bin/python benchmarks/bench.py --only text_path prefect_overhead   # re-measure some

Each measurement runs in its own child process; the parent samples the peak memory (summed PSS,
see `_pss`) of that child's whole process tree (Tesseract, OCRmyPDF, the embedded Prefect server included), the 1-minute load
average before and after, and the CPU that other processes used meanwhile ("others_cores": system
busy CPU-seconds minus our tree's, per second of wall time — the disturbance from other sessions on
this shared machine). Results go to benchmarks/results.json (merged by measurement, so `--only`
updates a few) and a plot to benchmarks/results.png. Inputs are scanned PDFs from the fixture
generator (tests/fixtures/generate.py), whose known truth gives the CER.

Measurements:
  raw_tesseract     `tesseract PAGE.pgm stdout -l spa --psm 3 tsv` on the page images made
                    beforehand (pipeline.ingest.pdf.page_image, same dpi, the very pixels the
                    pipeline OCRs), two processes at a time, one thread each
  pipeline_ocr      the pipeline's OCR path (pipeline.ingest.read_page: page image + Tesseract +
                    words into lines), two pages at a time as the flow's thread pool does; then
                    layout and repair, timed apart, for the CER (these three: best of 2 runs)
  ocrmypdf          Debian's OCRmyPDF, `-l spa -j 2 --output-type none --sidecar`, same PDF
  flow_1_worker,    the process-corpus flow (ingest, layout, repair, extract, outputs, catalog) on
  flow_2_workers    the 20-page scan with --workers 1 and 2, `force=True`, after a warm-up run
                    (best of 2 runs)
  flow_2_processes  the same with Prefect's ProcessPoolTaskRunner (2 processes) in place of the
                    flow's thread pool, for comparison
  text_path         ingest + layout + repair + extract of the seed text (pipeline.process, the
                    library's own composition), warm: best of 3
  prefect_overhead  per-task cost of Prefect (plain, mapped, cached-and-persisted tasks, subflows)
  server_startup    the embedded Prefect server's start-up, cold (new database) and warm
  big_scan          `ogp run` (as `python -m pipeline.cli run`) on a 300-page scan (10 generated pages
                    repeated), peak memory
  run_vs_tesseract  `ogp run` (start-up included) on an 8-page scan, new input, against raw Tesseract
                    on the same pages (2 at a time, one thread each), then `ogp run` on the
                    unchanged input; in turns, twice
  text_reports      `ogp run` over 20 different text reports, --workers 1 and 2, in turns, twice
  linear_cost       `ogp run` on a text report, a born-digital PDF and a scan of 26, 100 and 300
                    pages each: the marginal cost per page of pages 101-300 against that of 27-100
  pdfium_chars,     a 100-page born-digital PDF (the fixture generator's two-column text pages):
  born_digital      pypdfium2 just reading every character with its box (`get_text_range`,
                    `get_charbox(loose=True)`), against the library's ingest + layout of it
                    (pipeline.ingest.load + pipeline.layout.analyse, what `ogp extract` runs before
                    repair); each warmed on another PDF, best of 2, the two in turns (A B A B):
    .venv/bin/python benchmarks/bench.py --only pdfium_chars born_digital
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED = REPO / "corpus" / "000_5431f427d6bef971.txt"
BIN = Path(sys.executable).parent
DPI, LANG = 300, "spa"
REPEATS = 2  # the side-by-side OCR timings keep the best of this many runs (others share the machine)
ORDER = ["server_startup", "prefect_overhead", "text_path", "raw_tesseract", "pipeline_ocr", "ocrmypdf",
         "flow_1_worker", "flow_2_workers", "flow_2_processes", "big_scan", "pdfium_chars", "born_digital",
         "run_vs_tesseract", "text_reports", "linear_cost"]
TARGETS = {
    "ocr_path_vs_raw_tesseract": ("<=", 1.15),
    "speedup_vs_ocrmypdf": (">", 1.0),
    "cer_repaired_minus_ocrmypdf": ("<", 0.0),
    "scaling_2_vs_1_workers": (">=", 1.8),
    "text_path_seconds": ("<=", 1.0),
    "big_scan_peak_mb": ("<", 1024),
    "born_digital_vs_pdfium_chars": ("<=", 5.0),
    "run_8_pages_vs_raw_tesseract": ("<=", 1.15),
    "unchanged_run_vs_cold_run": ("<=", 0.10),
    "text_reports_2_vs_1_workers": (">=", 1.8),
    "marginal_page_cost_300_vs_100": ("<=", 1.25),
}
BORN_DIGITAL_PAGES = 100


# ---------------------------------------------------------------- children: one measurement each

def _warm_prefect() -> None:
    """Start the embedded server (a first API call) so that it is not in the timed part."""
    from prefect import flow

    @flow(name="warm-up")
    def warm() -> int:
        return 1

    warm()


def child_server_startup(work: Path) -> dict:
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_HOME, temporary_settings

    home = work / "prefect-home-fresh"
    shutil.rmtree(home, ignore_errors=True)
    result = {}
    with temporary_settings({PREFECT_HOME: str(home)}):
        for kind in ("cold", "warm"):  # cold: a new database, migrated on start
            server = SubprocessASGIServer()
            t = time.perf_counter()
            server.start(timeout=120)
            result[f"{kind}_seconds"] = round(time.perf_counter() - t, 2)
            server.stop()
    result["seconds"] = result["warm_seconds"]
    return result


def child_prefect_overhead(work: Path) -> dict:
    """Per-run costs, measured with flow-run heartbeats off (Prefect 3.8 joins each flow run's
    heartbeat thread, which sleeps in 1 s steps: up to 1 s more per flow run, at random, which
    would swamp the per-task figures), and the flow-run costs again with them on (the default)."""
    from prefect import flow, task
    from prefect.cache_policies import INPUTS
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.task_runners import ThreadPoolTaskRunner

    n, subflows = 200, 10

    def bare(x: int) -> int:
        return x + 1

    plain = task(bare, name="plain")
    cached = task(bare, name="cached", cache_policy=INPUTS, persist_result=True)

    @flow(name="sequential")
    def sequential(cache: bool, xs: list[int]) -> None:
        for x in xs:
            (cached if cache else plain)(x)

    @flow(name="mapped", task_runner=ThreadPoolTaskRunner(max_workers=2))
    def mapped(xs: list[int]) -> None:
        plain.map(xs).result()

    @flow(name="child")
    def child(x: int) -> int:
        return x

    @flow(name="parent")
    def parent(k: int) -> None:
        for i in range(k):
            child(i)

    @flow(name="empty")
    def empty() -> None:
        return None

    def timed(fn, *args) -> float:
        t = time.perf_counter()
        fn(*args)
        return time.perf_counter() - t

    _warm_prefect()
    result = {}
    for heartbeats in (None, 180):  # None: off; 180 s: Prefect's default
        tag = "" if heartbeats is None else "_with_heartbeats"
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: heartbeats}):
            base = statistics.median(timed(empty) for _ in range(5))
            result[f"empty_flow_ms{tag}"] = round(base * 1000, 1)
            result[f"subflow_ms{tag}"] = round((timed(parent, subflows) - base) / subflows * 1000, 1)
            if heartbeats is None:
                salt = time.time_ns() % 10**9 * 1000  # new inputs: the first cached pass must miss
                xs = list(range(salt, salt + n))
                per = {
                    "plain_task_ms": timed(sequential, False, xs),
                    "mapped_task_ms": timed(mapped, xs),
                    "cached_task_miss_ms": timed(sequential, True, xs),
                    "cached_task_hit_ms": timed(sequential, True, xs),
                }
                result.update({k: round((v - base) / n * 1000, 2) for k, v in per.items()})
    result["seconds"] = round(result["empty_flow_ms_with_heartbeats"] / 1000, 3)
    return result


def child_text_path(work: Path) -> dict:
    from pipeline.process import extract_document, read_report, repair_document

    def once() -> dict:
        t0 = time.perf_counter()
        doc = read_report(SEED)
        t1 = time.perf_counter()
        repaired = repair_document(doc)
        t2 = time.perf_counter()
        extract_document(doc, repaired)
        t3 = time.perf_counter()
        return {"ingest_layout": t1 - t0, "repair": t2 - t1, "extract": t3 - t2, "seconds": t3 - t0}

    once()  # warm: imports, spaCy model, lexicons
    runs = [once() for _ in range(3)]
    best = min(runs, key=lambda r: r["seconds"])
    words = len(SEED.read_text(encoding="utf-8").split())
    return {
        **{k: round(v, 3) for k, v in best.items()},
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "words": words,
        "words_per_second": round(words / best["seconds"]),
    }


def _best_of(runs: int, fn) -> list[float]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def child_pdfium_chars(work: Path) -> dict:
    import pypdfium2 as pdfium

    def read(path: Path) -> int:
        doc = pdfium.PdfDocument(str(path))
        chars = 0
        for page in doc:
            textpage = page.get_textpage()
            textpage.get_text_range()
            n = textpage.count_chars()
            for i in range(n):
                textpage.get_charbox(i, loose=True)
            chars += n
            textpage.close()
            page.close()
        doc.close()
        return chars

    read(REPO / "corpus" / "sample-text-layer.pdf")  # warm
    pdf = work / f"text{BORN_DIGITAL_PAGES}.pdf"
    times = _best_of(REPEATS, lambda: read(pdf))
    return {"seconds": round(min(times), 3), "runs": [round(x, 3) for x in times], "pages": BORN_DIGITAL_PAGES,
            "chars": read(pdf)}


def child_born_digital(work: Path) -> dict:
    from pipeline.ingest import load
    from pipeline.layout import analyse

    analyse(load(REPO / "corpus" / "sample-text-layer.pdf"))  # warm: imports, the lexicon
    pdf = work / f"text{BORN_DIGITAL_PAGES}.pdf"
    docs = []
    times = _best_of(REPEATS, lambda: docs.append(analyse(load(pdf))))
    doc = docs[-1]
    return {"seconds": round(min(times), 3), "runs": [round(x, 3) for x in times], "pages": len(doc.pages),
            "text_layer_pages": sum(p.source.value == "text-layer" for p in doc.pages),
            "words": sum(len(ln.words) for p in doc.pages for ln in p.lines),
            "ocr_regions": sum(len(p.images) for p in doc.pages)}


def _page_images(pdf: Path, folder: Path) -> list[Path]:
    from pipeline.ingest.pdf import page_count, page_image

    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for n in range(1, page_count(pdf) + 1):
        image, _ = page_image(pdf, n, DPI)
        images.append(folder / f"{n:03d}.pgm")  # the uncompressed gray image the pipeline hands over
        image.save(images[-1], "PPM")
    return images


def child_raw_tesseract(work: Path) -> dict:
    images = _page_images(work / "scan10.pdf", work / "pgm10")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def ocr(png: Path) -> None:
        subprocess.run(["tesseract", str(png), "stdout", "-l", LANG, "--psm", "3", "tsv"], check=True,
                       capture_output=True, env=env)

    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(ocr, images))
        times.append(time.perf_counter() - t)
    return {"seconds": round(min(times), 2), "runs": [round(x, 2) for x in times], "pages": len(images)}


def _ogp_run(work: Path, inputs: list[Path], out: Path, *options: str, cache: Path | None = None) -> float:
    """Wall time of `ogp run` (as `python -m pipeline.cli run`), start-up included. With `cache`,
    the run's task cache is that folder (a new folder makes a cold run: no page, repair or
    extraction result of an earlier run can be reused)."""
    env = dict(os.environ)
    if cache is not None:
        env["PREFECT_LOCAL_STORAGE_PATH"] = str(cache)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "run", *map(str, inputs), "--out", str(out),
                    "--gold", str(work / "no-gold"), *options], check=True, capture_output=True, cwd=REPO,
                   env=env)
    return time.perf_counter() - t


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


def child_run_vs_tesseract(work: Path) -> dict:
    """`ogp run` on an 8-page scan as a user sees it (new input: a new output folder and a new task
    cache for every cold run; the Prefect home made before), against raw Tesseract on the same pages (two at a time,
    one thread each), then `ogp run` again on the unchanged input; in turns, twice."""
    import pypdfium2 as pdfium

    scan = work / "scan8.pdf"
    if not scan.exists():
        src, dst = pdfium.PdfDocument(str(work / "scan10.pdf")), pdfium.PdfDocument.new()
        dst.import_pages(src, list(range(8)))
        dst.save(str(scan))
    images = _page_images(scan, work / "pgm8")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def ocr(image: Path) -> None:
        subprocess.run(["tesseract", str(image), "stdout", "-l", LANG, "--psm", "3", "tsv"], check=True,
                       capture_output=True, env=env)

    _ogp_run(work, [work / "scan1.pdf"], work / "out-warm")  # the Prefect home's database, made
    raw, cold, unchanged = [], [], []
    for n in range(REPEATS):
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(ocr, images))
        raw.append(time.perf_counter() - t)
        out, cache = _fresh(work / f"out-run8-{n}"), _fresh(work / f"cache-run8-{n}")
        cold.append(_ogp_run(work, [scan], out, "--workers", "2", cache=cache))
        unchanged.append(_ogp_run(work, [scan], out, "--workers", "2", cache=cache))
    return {"seconds": round(min(cold), 2), "raw_tesseract_seconds": round(min(raw), 2),
            "unchanged_seconds": round(min(unchanged), 2), "pages": len(images),
            "runs": {"raw": [round(x, 2) for x in raw], "cold": [round(x, 2) for x in cold],
                     "unchanged": [round(x, 2) for x in unchanged]}}


def child_text_reports(work: Path) -> dict:
    """`ogp run` over 20 different text reports (the seed, each with a line of its own) in one
    folder, with --workers 1 and 2, each on a new output folder and a new task cache; in turns, twice."""
    folder = work / "text20"
    folder.mkdir(exist_ok=True)
    seed = SEED.read_text(encoding="utf-8")
    for i in range(20):
        (folder / f"r{i:02d}.txt").write_text(f"{seed}\nInforme {i}\n", encoding="utf-8")
    times: dict[int, list[float]] = {1: [], 2: []}
    for n in range(REPEATS):
        for workers in (1, 2):
            out, cache = _fresh(work / f"out-text20-{workers}-{n}"), _fresh(work / f"cache-text20-{workers}-{n}")
            times[workers].append(_ogp_run(work, [folder], out, "--workers", str(workers), cache=cache))
    return {"seconds": round(min(times[2]), 2), "one_worker_seconds": round(min(times[1]), 2),
            "runs": {str(k): [round(x, 2) for x in v] for k, v in times.items()}}


LINEAR_PAGES = (26, 100, 300)


def _paged_inputs(work: Path, pages: int) -> dict[str, Path]:
    """A text report, a born-digital PDF and a scan of `pages` pages each: the seed's pages (as
    the text ingest splits them) cycled, form feeds between; the born-digital fixture's pages and
    the 10 scanned pages, repeated."""
    import pypdfium2 as pdfium

    from pipeline.ingest import read_text_report

    made = {"text": work / f"text-{pages}p.txt", "born_digital": work / f"born-{pages}p.pdf",
            "scan": work / f"scan-{pages}p.pdf"}
    if not made["text"].exists():
        seed = [ "\n".join(ln.text for ln in page.lines) for page in read_text_report(SEED).pages]
        made["text"].write_text("\f".join(seed[i % len(seed)] for i in range(pages)) + "\n", encoding="utf-8")
    for kind, source in (("born_digital", work / f"text{BORN_DIGITAL_PAGES}.pdf"), ("scan", work / "scan10.pdf")):
        if made[kind].exists():
            continue
        src, out = pdfium.PdfDocument(str(source)), pdfium.PdfDocument.new()
        while len(out) < pages:
            out.import_pages(src, list(range(min(len(src), pages - len(out)))))
        out.save(str(made[kind]))
        out.close()
        src.close()
    return made


def child_linear_cost(work: Path) -> dict:
    """`ogp run` (start-up included, --workers 2, a new output folder and task cache each) on a
    text report, a born-digital PDF and a scan of 26, 100 and 300 pages. What grows faster than
    the page count shows in the marginal cost per page: that of pages 101-300 against that of
    pages 27-100 (1.0 when linear; start-up cancels out)."""
    seconds: dict[str, dict[int, float]] = {}
    for pages in LINEAR_PAGES:
        for kind, path in _paged_inputs(work, pages).items():
            out, cache = _fresh(work / f"out-linear-{kind}-{pages}"), _fresh(work / f"cache-linear-{kind}-{pages}")
            seconds.setdefault(kind, {})[pages] = round(_ogp_run(work, [path], out, "--workers", "2", cache=cache), 2)
    a, b, c = LINEAR_PAGES
    marginal = {kind: round(((t[c] - t[b]) / (c - b)) / ((t[b] - t[a]) / (b - a)), 3) for kind, t in seconds.items()}
    return {"seconds": round(sum(sum(t.values()) for t in seconds.values()), 2),
            "runs": {kind: {str(n): x for n, x in t.items()} for kind, t in seconds.items()},
            "marginal_300_vs_100": marginal}


def child_pipeline_ocr(work: Path) -> dict:
    from pipeline.ingest import assemble_pdf, read_page
    from pipeline.ingest.pdf import page_count, plan_pages, sha256_file
    from pipeline.layout import analyse
    from pipeline.process import repair_document

    pdf = work / "scan10.pdf"
    t = time.perf_counter()
    page_count(pdf)
    plans = plan_pages(pdf)
    plan_seconds = time.perf_counter() - t
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            pages = list(pool.map(lambda plan: read_page(pdf, plan, DPI, LANG), plans))
        times.append(time.perf_counter() - t)
    t = time.perf_counter()
    doc = analyse(assemble_pdf(pdf, sha256_file(pdf), pages))
    repaired = repair_document(doc)
    return {
        "seconds": round(min(times), 2), "runs": [round(x, 2) for x in times],
        "plan_seconds": round(plan_seconds, 2), "layout_repair_seconds": round(time.perf_counter() - t, 2),
        "pages": len(pages), "raw_body": doc.body_text().split("\f"), "repaired_body": repaired.text().split("\f"),
    }


def child_ocrmypdf(work: Path) -> dict:
    sidecar = work / "ocrmypdf-sidecar.txt"
    cmd = ["ocrmypdf", "-l", LANG, "-j", "2", "--output-type", "none", "--sidecar", str(sidecar),
           str(work / "scan10.pdf"), "-"]
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
        times.append(time.perf_counter() - t)
    return {"seconds": round(min(times), 2), "runs": [round(x, 2) for x in times],
            "command": " ".join(cmd[:-2]) + " IN.pdf -", "pages_text": sidecar.read_text(encoding="utf-8").split("\f")}


class _PageClock:
    """Progress listener (flows.progress): when the pages started and when the last one was read."""

    def __init__(self):
        self.started = self.last_page = 0.0

    def report_started(self, report: str, pages: int) -> None:
        self.started = time.perf_counter()

    def page_done(self, report: str) -> None:
        self.last_page = time.perf_counter()

    def report_done(self, report: str, ok: bool) -> None:
        pass


def _flow(work: Path, workers: int, name: str) -> dict:
    from flows import progress
    from flows.report import run_corpus

    _warm_prefect()
    run_corpus([work / "scan1.pdf"], work / f"out-warm-{name}", workers=workers, force=True)
    runs = []
    for _ in range(REPEATS):
        clock = _PageClock()
        progress.listen(clock)
        t = time.perf_counter()
        summaries = run_corpus([work / "scan20.pdf"], work / f"out-{name}", workers=workers, force=True)
        end = time.perf_counter()
        assert all(s["ok"] for s in summaries), summaries
        runs.append({
            "seconds": round(end - t, 2),
            "before_pages_seconds": round(clock.started - t, 2),  # flow start, plan
            "pages_seconds": round(clock.last_page - clock.started, 2),  # reading the pages: what workers share
            "after_pages_seconds": round(end - clock.last_page, 2),  # layout, repair, extract, outputs, catalog
        })
    best = min(runs, key=lambda r: r["seconds"])
    pages = sum(s["pages"] for s in summaries)
    return {**best, "runs": [r["seconds"] for r in runs], "pages": pages,
            "pages_per_minute": round(pages / best["seconds"] * 60, 1)}


def child_flow_1_worker(work: Path) -> dict:
    return _flow(work, 1, "flow-1")


def child_flow_2_workers(work: Path) -> dict:
    return _flow(work, 2, "flow-2")


def child_flow_2_processes(work: Path) -> dict:
    """The same flow with Prefect's ProcessPoolTaskRunner in place of the thread pool: what a
    process pool would cost (a process start per report, results pickled across), for the record
    of why the local pool is threads, each driving its own Tesseract process. The page-done
    events stay in the worker processes, so only the total time is measured."""
    from prefect.task_runners import ProcessPoolTaskRunner

    import flows.report

    flows.report.ThreadPoolTaskRunner = ProcessPoolTaskRunner
    result = _flow(work, 2, "flow-2-processes")
    return {k: v for k, v in result.items() if not k.endswith("pages_seconds")}


# ---------------------------------------------------------------- parent: inputs, sampling, report

BORN_DIGITAL_ONLY = {"pdfium_chars", "born_digital"}  # measurements that need no scan


def _generate_inputs(work: Path, big_pages: int, wanted: list[str]) -> None:
    import pypdfium2 as pdfium

    from tests.fixtures.generate import make_scanned_pdf, make_text_pdf

    work.mkdir(parents=True, exist_ok=True)
    text = work / f"text{BORN_DIGITAL_PAGES}.pdf"
    if not text.exists():
        make_text_pdf(text, pages=BORN_DIGITAL_PAGES)
    if set(wanted) <= BORN_DIGITAL_ONLY:
        return
    for name, pages in (("scan1", 1), ("scan10", 10), ("scan20", 20)):
        pdf, truth_file = work / f"{name}.pdf", work / f"{name}.truth.json"
        if not truth_file.exists():
            truth = make_scanned_pdf(pdf, pages=pages)
            truth_file.write_text(json.dumps([p.__dict__ for p in truth.pages], ensure_ascii=False), encoding="utf-8")
    big = work / f"scan{big_pages}.pdf"
    if not big.exists():  # the 10 generated pages, repeated: cheap to make, as costly to read
        src, out = pdfium.PdfDocument(str(work / "scan10.pdf")), pdfium.PdfDocument.new()
        while len(out) < big_pages:
            out.import_pages(src, list(range(min(len(src), big_pages - len(out)))))
        out.save(str(big))
        out.close()
        src.close()


def _pss(pid: int) -> int:
    """Proportional set size in bytes: a page shared by n processes counts 1/n in each, so the
    sum over a tree is its real footprint (a sum of RSS counts shared pages once per process).
    Costly to read: the kernel walks the process's mappings (~5 ms for a big Python process)."""
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    """Resident set size in bytes, from /proc/PID/statm: ~300x cheaper to read than the PSS."""
    with open(f"/proc/{pid}/statm") as fh:
        return int(fh.read().split()[1]) * _PAGE


class _TreeSampler(threading.Thread):
    """Peak memory of a process and all its descendants, measured without slowing them down.

    Every 50 ms the sampler sums the RSS of the tree (cheap; the tree is found anew every 250 ms, and
    a process that ended is skipped); it reads the PSS (the real footprint, see `_pss`) when that
    RSS sum reaches a new high, 1% or more above the last, and once a second. (Reading the PSS at
    every sample took 0.24 of a core, which slowed whatever fills both cores: the 2-worker flow by
    ~15%.) The PSS can peak while the RSS sum does not (when processes that shared pages end), so
    the once-a-second reading bounds what a peak between readings can hide to a second's growth.
    Also which processes made up the peak, and a timeline (one point a second) of the PSS of the
    tree and of the root process."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.at_peak: dict[str, int] = {}
        self.timeline: list[tuple[float, int, int]] = []
        self.cpu_seconds = 0.0  # the sampler's own CPU time: what it took from the measured work at most

    def run(self) -> None:
        cpu0 = time.thread_time()
        try:
            self._sample()
        finally:
            self.cpu_seconds = time.thread_time() - cpu0

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        start, last, high, n = time.monotonic(), -1.0, 0, 0
        cmdlines: dict[int, list[str]] = {}
        while not self.stop.is_set():
            if n % 5 == 0:  # the tree itself every 250 ms: finding a process's children reads all of /proc
                try:
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    break
                alive = {p.pid for p in procs}
                cmdlines = {pid: c for pid, c in cmdlines.items() if pid in alive}  # a PID may be reused
            n += 1
            rss: dict[int, int] = {}
            for p in procs:
                try:
                    if p.pid not in cmdlines:
                        cmdline = p.cmdline()
                        if p.pid != self.pid and cmdlines.get(p.ppid()) == cmdline:
                            continue  # (v)forked, not exec'd yet: its parent's memory, maybe the very same pages
                        cmdlines[p.pid] = cmdline
                    rss[p.pid] = _rss(p.pid)
                except (psutil.Error, OSError):
                    pass  # ended since the tree was read
            total = sum(rss.values())
            now = time.monotonic() - start
            each_second = now - last >= 1.0
            if total >= high * 1.01 or each_second:
                high = max(high, total)
                sizes: dict[str, int] = {}
                for pid in rss:
                    label = "root" if pid == self.pid else _label(cmdlines[pid])
                    try:
                        sizes[label] = sizes.get(label, 0) + _pss(pid)
                    except OSError:
                        pass
                pss = sum(sizes.values())
                if pss > self.peak:
                    self.peak, self.at_peak = pss, sizes
                if each_second:
                    self.timeline.append((round(now, 1), round(pss / 2**20), round(sizes.get("root", 0) / 2**20)))
                    last = now
            self.stop.wait(0.05)


def _label(cmdline: list[str]) -> str:
    """A short name for a process of the tree: the program, or the Python module/script it runs."""
    if not cmdline:
        return "?"
    program = Path(cmdline[0]).name
    if program.startswith("python") and len(cmdline) > 1:
        return "python " + (cmdline[2] if cmdline[1] == "-m" and len(cmdline) > 2 else Path(cmdline[1]).name)
    return program


def _busy_cpu_seconds() -> float:
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _env(work: Path, name: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(work / "prefect-home"), PREFECT_LOCAL_STORAGE_PATH=str(work / f"cache-{name}"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", OMP_THREAD_LIMIT="1",
    )
    return env


def _command(name: str, work: Path, big_pages: int) -> list[str]:
    if name == "big_scan":  # `ogp run`, of this checkout (python -m from REPO, not the installed entry point)
        return [sys.executable, "-m", "pipeline.cli", "run", str(work / f"scan{big_pages}.pdf"),
                "--out", str(work / "out-big"), "--workers", "2", "--force"]
    return [sys.executable, __file__, "--child", name, "--work", str(work)]


def measure(name: str, work: Path, big_pages: int) -> dict:
    shutil.rmtree(work / f"cache-{name}", ignore_errors=True)
    result_file = work / f"{name}.json"
    result_file.unlink(missing_ok=True)
    load_before = os.getloadavg()[0]
    busy0, ours0 = _busy_cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    log = open(work / f"{name}.log", "wb")
    proc = subprocess.Popen(_command(name, work, big_pages), env=_env(work, name), cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    rc = proc.wait()
    wall = time.perf_counter() - t
    sampler.stop.set()
    sampler.join()
    ours1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = (ours1.ru_utime - ours0.ru_utime) + (ours1.ru_stime - ours0.ru_stime)
    if rc != 0:  # a failure is a result too: say where it failed, keep its time and memory
        errors = [ln for ln in (work / f"{name}.log").read_text(errors="replace").splitlines() if "Error" in ln]
        result = {"failed": f"exit code {rc}", "error": errors[-1].strip() if errors else "", "seconds": None}
    elif result_file.exists():
        result = json.loads(result_file.read_text())
        _score_text(name, result, work)
    else:
        result = {"seconds": round(wall, 2)}
    if name == "big_scan":
        result["pages"] = big_pages
        if rc == 0:
            result["pages_per_minute"] = round(big_pages / wall * 60, 1)
    result.update(
        wall_seconds=round(wall, 2), sampler_cores=round(sampler.cpu_seconds / wall, 3),
        peak_mb=round(sampler.peak / 2**20),
        at_peak_mb={k: round(v / 2**20) for k, v in sorted(sampler.at_peak.items(), key=lambda kv: -kv[1])},
        memory_timeline=[list(point) for point in sampler.timeline],
        load_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        others_cores=round(max(0.0, _busy_cpu_seconds() - busy0 - ours) / wall, 2),
        measured_at=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return result


_NOTE_REF = re.compile(r"\[\^\d+\]|(?<=[^\W\d_])\d{1,2}(?=[.,;:]?(\s|$))")


def _fold(text: str) -> str:
    """Footnote references out (`[^3]` or a number glued to a word), whitespace folded; case,
    accents and punctuation kept."""
    return " ".join(_NOTE_REF.sub("", text).split())


def _cer(truth: list[str], hyp: list[str]) -> float:
    from rapidfuzz.distance import Levenshtein

    ref, out = [_fold(t) for t in truth], [_fold(h) for h in hyp]
    return sum(Levenshtein.distance(r, h) for r, h in zip(ref, out)) / sum(len(r) for r in ref)


def _ocrmypdf_body(page_text: str, truth: dict) -> str:
    """OCRmyPDF's page text without its header, footer and footnote lines, removed with the
    generator's truth (an oracle the pipeline does not get: it finds furniture itself)."""
    from rapidfuzz import fuzz

    furniture = [truth["header"], truth["footer"], *(f"{n} {t}" for n, t in truth["footnotes"].items())]
    return "\n".join(line for line in page_text.splitlines()
                     if line.strip() and max(fuzz.ratio(line, f) for f in furniture) < 80)


def _score_text(name: str, result: dict, work: Path) -> None:
    """CER of the texts a measurement read, against the generator's truth; the texts themselves
    are not kept in the results."""
    if name not in ("pipeline_ocr", "ocrmypdf"):
        return
    truth = json.loads((work / "scan10.truth.json").read_text(encoding="utf-8"))
    body = [" ".join(p["body"]) for p in truth]
    def score(key: str, pages: list[str]) -> None:
        result[key] = round(_cer(body, pages), 4)
        result[f"{key}_pages"] = [round(_cer([b], [p]), 4) for b, p in zip(body, pages)]

    if name == "pipeline_ocr":
        score("cer_raw", result.pop("raw_body"))
        score("cer_repaired", result.pop("repaired_body"))
    if name == "ocrmypdf":
        score("cer", [_ocrmypdf_body(text, t) for text, t in zip(result.pop("pages_text"), truth)])


# Measurements compared with each other run in turns, ROUNDS times (A B A B): the machine's speed
# drifts by 10-20% over minutes (a VM on a shared host), and a ratio of runs taken minutes apart
# measures that drift as much as the pipeline (2.04x once, 1.54x another time, same code).
INTERLEAVED = [("raw_tesseract", "pipeline_ocr", "ocrmypdf"), ("flow_1_worker", "flow_2_workers"),
               ("pdfium_chars", "born_digital")]
ROUNDS = 2


def _schedule(wanted: list[str]) -> list[str]:
    order: list[str] = []
    for name in wanted:
        group = next((g for g in INTERLEAVED if name in g), None)
        if group is None:
            order.append(name)
        elif name == next(n for n in group if n in wanted):  # the group's first wanted member
            order += [n for _ in range(ROUNDS) for n in group if n in wanted]
    return order


def _best(old: dict, new: dict) -> dict:
    """Of two rounds of one measurement, the faster one's figures, with every round's times and the
    highest peak memory of all."""
    if "failed" in old or "failed" in new:
        kept = dict(new if "failed" in old else old)
        kept["failed_rounds"] = kept.get("failed_rounds", 0) + 1
        return kept
    best = dict(min((old, new), key=lambda r: r["seconds"]))
    best["rounds"] = old.get("rounds", [old.get("runs", old["seconds"])]) + [new.get("runs", new["seconds"])]
    top = max((old, new), key=lambda r: r["peak_mb"])
    best.update(peak_mb=top["peak_mb"], at_peak_mb=top["at_peak_mb"])
    return best


def summarize(results: dict) -> dict:
    m = {k: v for k, v in results["measurements"].items() if "failed" not in v}
    derived: dict[str, float] = {}
    if {"pipeline_ocr", "raw_tesseract"} <= m.keys():
        derived["ocr_path_vs_raw_tesseract"] = round(m["pipeline_ocr"]["seconds"] / m["raw_tesseract"]["seconds"], 3)
    if "pipeline_ocr" in m:
        derived["cer_pipeline_raw"] = m["pipeline_ocr"]["cer_raw"]
        derived["cer_pipeline_repaired"] = m["pipeline_ocr"]["cer_repaired"]
    if "ocrmypdf" in m:
        derived["cer_ocrmypdf"] = m["ocrmypdf"]["cer"]
    if {"pipeline_ocr", "ocrmypdf"} <= m.keys():
        ours = m["pipeline_ocr"]
        derived["cer_repaired_minus_ocrmypdf"] = round(ours["cer_repaired"] - m["ocrmypdf"]["cer"], 4)
        ours_total = ours["plan_seconds"] + ours["seconds"] + ours["layout_repair_seconds"]
        derived["speedup_vs_ocrmypdf"] = round(m["ocrmypdf"]["seconds"] / ours_total, 3)
    if {"flow_1_worker", "flow_2_workers"} <= m.keys():
        derived["scaling_2_vs_1_workers"] = round(m["flow_1_worker"]["seconds"] / m["flow_2_workers"]["seconds"], 3)
        if all("rounds" in m[k] for k in ("flow_1_worker", "flow_2_workers")):  # each round's best against its own
            derived["scaling_per_round"] = [round(min(one) / min(two), 3) for one, two in
                                            zip(m["flow_1_worker"]["rounds"], m["flow_2_workers"]["rounds"])]
        if all("pages_seconds" in m[k] for k in ("flow_1_worker", "flow_2_workers")):  # older results lack it
            derived["scaling_of_page_reading"] = round(
                m["flow_1_worker"]["pages_seconds"] / m["flow_2_workers"]["pages_seconds"], 3)
    if "text_path" in m:
        derived["text_path_seconds"] = m["text_path"]["seconds"]
    if "big_scan" in m:
        derived["big_scan_peak_mb"] = m["big_scan"]["peak_mb"]
    if {"pdfium_chars", "born_digital"} <= m.keys():
        derived["born_digital_vs_pdfium_chars"] = round(m["born_digital"]["seconds"] / m["pdfium_chars"]["seconds"], 2)
        if all("rounds" in m[k] for k in ("pdfium_chars", "born_digital")):  # each round's best against its own
            derived["born_digital_per_round"] = [round(min(ours) / min(raw), 2) for raw, ours in
                                                 zip(m["pdfium_chars"]["rounds"], m["born_digital"]["rounds"])]
    if "run_vs_tesseract" in m:
        r = m["run_vs_tesseract"]
        derived["run_8_pages_vs_raw_tesseract"] = round(r["seconds"] / r["raw_tesseract_seconds"], 3)
        derived["unchanged_run_vs_cold_run"] = round(r["unchanged_seconds"] / r["seconds"], 3)
    if "text_reports" in m:
        derived["text_reports_2_vs_1_workers"] = round(m["text_reports"]["one_worker_seconds"]
                                                       / m["text_reports"]["seconds"], 3)
    if "linear_cost" in m:
        derived["marginal_page_cost_300_vs_100"] = max(m["linear_cost"]["marginal_300_vs_100"].values())
        derived["marginal_page_cost_by_kind"] = m["linear_cost"]["marginal_300_vs_100"]
    ops = {"<=": float.__le__, "<": float.__lt__, ">=": float.__ge__, ">": float.__gt__}
    results["derived"] = derived
    results["targets"] = {k: {"value": derived[k], "target": f"{op} {v}", "met": ops[op](float(derived[k]), float(v))}
                          for k, (op, v) in TARGETS.items() if k in derived}
    return results


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    every, d = results["measurements"], results["derived"]
    m = {k: v for k, v in every.items() if "failed" not in v}
    fig, axes = plt.subplots(2, 3, figsize=(17, 8))

    def bars(ax, labels, values, title, unit, line=None):
        shown = [(lab, v) for lab, v in zip(labels, values) if v is not None]
        if not shown:
            ax.set_visible(False)
            return
        ax.bar([s[0] for s in shown], [s[1] for s in shown], color="#4477aa")
        for i, (_, v) in enumerate(shown):
            ax.annotate(f"{v:g}", (i, v), ha="center", va="bottom", fontsize=8)
        if line:
            ax.axhline(line[0], color="#cc3311", linestyle="--", label=line[1])
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.tick_params(axis="x", labelsize=8, rotation=15)

    get = lambda name, k="seconds": m.get(name, {}).get(k)  # noqa: E731
    bars(axes[0][0], ["raw tesseract", "pipeline OCR", "pipeline OCR\n+layout+repair", "OCRmyPDF"],
         [get("raw_tesseract"), get("pipeline_ocr"),
          round(get("pipeline_ocr") + get("pipeline_ocr", "layout_repair_seconds") + get("pipeline_ocr", "plan_seconds"), 2)
          if "pipeline_ocr" in m else None, get("ocrmypdf")],
         "10-page scan, 2 processes × 1 thread", "seconds")
    bars(axes[0][1], ["pipeline raw", "pipeline repaired", "OCRmyPDF"],
         [d.get("cer_pipeline_raw"), d.get("cer_pipeline_repaired"), d.get("cer_ocrmypdf")],
         "CER of the body text vs the generator's truth", "CER")
    bars(axes[1][0], ["1 worker", "2 workers", "2 processes\n(Prefect's pool)"],
         [get("flow_1_worker"), get("flow_2_workers"), get("flow_2_processes")],
         f"flow on a 20-page scan: {d.get('scaling_2_vs_1_workers', '?')}× "
         f"(page reading {d.get('scaling_of_page_reading', '?')}×)", "seconds")
    names = [n for n in ORDER if n in every]
    bars(axes[1][1], [n + (" (failed)" if "failed" in every[n] else "") for n in names],
         [every[n]["peak_mb"] for n in names], "peak memory (PSS) of the process tree", "MB", line=(1024, "1 GB"))
    axes[1][1].tick_params(axis="x", labelsize=7, rotation=35)
    bars(axes[0][2], ["text path\n(seed, warm)"], [get("text_path")], "ingest+layout+repair+extract", "seconds",
         line=(1.0, "target 1 s"))
    big = every.get("big_scan")
    ax = axes[1][2]
    if big and big.get("memory_timeline"):
        t, total, root = zip(*big["memory_timeline"])
        ax.plot(t, total, label="whole tree")
        ax.plot(t, root, label="ogp process")
        ax.axhline(1024, color="#cc3311", linestyle="--", label="1 GB")
        ax.set_title(f"{big['pages']}-page scan: memory (PSS) over time"
                     + (" (failed)" if "failed" in big else ""), fontsize=10)
        ax.set_xlabel("seconds")
        ax.set_ylabel("MB")
        ax.legend(fontsize=8)
    else:
        ax.set_visible(False)
    fig.suptitle(f"ogp-pipeline benchmarks, {results['machine']['cpus']} cores, {time.strftime('%Y-%m-%d')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _machine() -> dict:
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    ocrmypdf = (subprocess.run(["ocrmypdf", "--version"], capture_output=True, text=True).stdout.strip()
                if shutil.which("ocrmypdf") else None)  # not needed by every measurement
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "tesseract": tess, "ocrmypdf": ocrmypdf}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", choices=ORDER, help="measure only these (others kept from results.json)")
    ap.add_argument("--skip", nargs="+", choices=ORDER, default=[], help="do not measure these")
    ap.add_argument("--big-pages", type=int, default=300)
    ap.add_argument("--work", type=Path, default=Path("/tmp/ogp-bench"), help="inputs and scratch outputs")
    ap.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results.json")
    ap.add_argument("--child", choices=ORDER, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        result = globals()[f"child_{args.child}"](args.work)
        (args.work / f"{args.child}.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return
    from pipeline.export import atomic_write_json

    wanted = [n for n in (args.only or ORDER) if n not in args.skip]
    _generate_inputs(args.work, args.big_pages, wanted)
    results = json.loads(args.results.read_text()) if args.results.exists() and args.only else {"measurements": {}}
    results["machine"] = _machine()
    results["command"] = " ".join([".venv/bin/python benchmarks/bench.py", *sys.argv[1:]])
    seen: set[str] = set()
    for name in _schedule(wanted):
        print(f"{name} …", end=" ", flush=True)
        r = measure(name, args.work, args.big_pages)
        results["measurements"][name] = _best(results["measurements"].get(name), r) if name in seen else r
        seen.add(name)
        print(f"{r.get('failed', '')} {r['seconds']} s, peak {r['peak_mb']} MB, load {r['load_1min']}, "
              f"others {r['others_cores']} cores {r.get('error', '')}")
        summarize(results)
        atomic_write_json(args.results, results)
    plot(results, args.results.with_suffix(".png"))
    for k, t in results["targets"].items():
        print(f"{k}: {t['value']} (target {t['target']}) {'met' if t['met'] else 'NOT met'}")


if __name__ == "__main__":
    main()
