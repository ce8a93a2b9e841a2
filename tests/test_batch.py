"""`ogp run` on a batch, as a user runs it (a subprocess): killed with SIGKILL at several points and
re-run, it ends with the same outputs as an uninterrupted run and never a half-written file; and on a
real Dask cluster (a scheduler and two workers on 127.0.0.1) it gives the same outputs as locally."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import SEED

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OGP = str(BIN / "ogp")
# summary.json's "seconds" is a wall-clock timing, the one output that legitimately differs, and
# "reused" says a resumed run kept a report a killed run had finished (flows.reuse)
TIMING_FIELDS = ("seconds", "reused")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    """The seed text and a 3-page scan: OCR pages in parallel, then a long text report."""
    from tests.fixtures.generate import make_scanned_pdf

    src = tmp_path_factory.mktemp("batch")
    shutil.copy(REPO / SEED, src / "seed.txt")
    make_scanned_pdf(src / "scanned.pdf", pages=3)
    return src


def _env(**extra: str) -> dict[str, str]:
    """The user's environment without the test session's Prefect settings (so each output folder
    keeps its own task cache, `OUT/.cache`, as `ogp run` sets by default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", OMP_THREAD_LIMIT="1", **extra)
    return env


def _start(src: Path, out: Path, env: dict[str, str], extra: tuple[str, ...] = ()) -> subprocess.Popen:
    log = open(out.parent / f"{out.name}.log", "ab")
    # its own process group: the embedded Prefect server and Tesseract die with it, as on Ctrl-\ or OOM
    return subprocess.Popen([OGP, "run", str(src), "--out", str(out), *extra], cwd=REPO, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _finish(proc: subprocess.Popen, out: Path, timeout: float = 300) -> None:
    rc = proc.wait(timeout=timeout)
    assert rc == 0, f"ogp run failed ({rc}):\n" + (out.parent / f"{out.name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory) -> Path:
    """One Prefect home (the embedded server's database) for this module's runs."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture(scope="module")
def reference(batch, prefect_home, tmp_path_factory) -> Path:
    """An uninterrupted local run."""
    out = tmp_path_factory.mktemp("reference") / "out"
    _finish(_start(batch, out, _env(PREFECT_HOME=str(prefect_home))), out)
    return out


def _outputs(out: Path) -> dict[str, Path]:
    """Every output file (not the task cache in OUT/.cache), by path relative to OUT."""
    return {str(f.relative_to(out)): f for f in sorted(out.rglob("*"))
            if f.is_file() and ".cache" not in f.relative_to(out).parts}


def _comparable(path: Path, out: Path):
    if path.name in ("score.json", "score.md"):  # they name the folder they scored
        return path.read_bytes().replace(str(out).encode(), b"OUT")
    if path.suffix == ".sqlite":
        with sqlite3.connect(path) as db:
            return list(db.iterdump())
    if path.name == "summary.json":
        return [{k: v for k, v in s.items() if k not in TIMING_FIELDS} for s in json.loads(path.read_bytes())]
    if path.name == "run.json" and path.parent != out:  # a report's: its key, files and summary
        record = json.loads(path.read_bytes())
        return record["key"], record["files"], {k: v for k, v in record["summary"].items() if k not in TIMING_FIELDS}
    if path.suffix == ".pdf":  # searchable.pdf records when it was written (ModDate, XMP dates, /ID)
        return _pdf_content(path)
    return path.read_bytes()


def _pdf_content(path: Path):
    """What a PDF shows and holds, without the dates and ids of its writing: each page's size,
    images and text, and the PDF/A part it declares."""
    import hashlib

    import pikepdf
    import pypdfium2

    text = pypdfium2.PdfDocument(str(path))
    try:
        with pikepdf.open(path) as pdf, pdf.open_metadata() as meta:
            return meta.pdfa_status, [
                (list(map(float, page.mediabox)), text[n].get_textpage().get_text_range(),
                 sorted(hashlib.sha256(img.read_raw_bytes()).hexdigest() for img in page.get_images().values()))
                for n, page in enumerate(pdf.pages)]
    finally:
        text.close()


def _assert_same_outputs(out: Path, reference: Path) -> None:
    mine, theirs = _outputs(out), _outputs(reference)
    assert sorted(mine) == sorted(theirs)
    assert any("/" in name for name in mine)  # per-report outputs, not only the run's summary
    for name in theirs:
        assert _comparable(mine[name], out) == _comparable(theirs[name], reference), \
            f"{name} differs from the uninterrupted run"


def _assert_nothing_half_written(out: Path) -> None:
    """Every output that exists is whole (a kill may leave temp files, never a torn output)."""
    for name, f in _outputs(out).items():
        if f.name.endswith(".tmp"):
            continue
        if f.suffix == ".json":
            json.loads(f.read_bytes())
        elif f.suffix == ".jsonl":
            for line in f.read_bytes().splitlines():
                json.loads(line)
        elif f.suffix == ".sqlite":
            with sqlite3.connect(f) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), name
        elif f.suffix in (".txt", ".csv"):
            assert f.read_bytes().endswith(b"\n"), f"{name} is cut short"
        elif f.suffix == ".pdf":
            assert f.read_bytes().rstrip().endswith(b"%%EOF"), f"{name} is cut short"


def _tesseract_running(proc: subprocess.Popen) -> bool:
    try:
        return any(p.name() == "tesseract" for p in psutil.Process(proc.pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return False


def _kill_when(proc: subprocess.Popen, out: Path, ready, what: str) -> None:
    deadline = time.monotonic() + 240
    while not ready():
        assert proc.poll() is None, f"the run ended before {what}; log:\n" + \
            (out.parent / f"{out.name}.log").read_text(errors="replace")[-2000:]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_runs_resume_to_the_outputs_of_an_uninterrupted_run(batch, reference, prefect_home, tmp_path):
    out = tmp_path / "out"
    env = _env(PREFECT_HOME=str(prefect_home))
    kill_points = [
        ("Tesseract is reading the first pages", lambda p: _tesseract_running(p)),
        ("the scan's outputs are being written", lambda p: (out / "scanned" / "document.json").exists()),
        ("the text report's outputs are being written", lambda p: (out / "seed" / "document.json").exists()),
    ]
    for what, ready in kill_points:
        proc = _start(batch, out, env)
        _kill_when(proc, out, lambda: ready(proc), what)
        _assert_nothing_half_written(out)
    _finish(_start(batch, out, env), out)
    _assert_nothing_half_written(out)
    assert not list(out.rglob("*.tmp"))
    _assert_same_outputs(out, reference)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_dask_cluster_gives_the_outputs_of_a_local_run(batch, reference, prefect_harness, tmp_path):
    from distributed import Client
    from prefect.settings import get_current_settings

    # the client and the workers report to one Prefect API: the test session's server
    api = _env(PREFECT_API_URL=get_current_settings().api.url, PREFECT_HOME=str(tmp_path / "prefect-home"))
    worker_env = dict(api, PREFECT_LOGGING_LEVEL="INFO",
                      PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    address = f"tcp://127.0.0.1:{_free_port()}"
    dask = [str(BIN / "dask")]
    procs: list[subprocess.Popen] = []
    try:
        commands = {
            "scheduler": [*dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                          "--dashboard-address", ":0"],
            **{f"worker-{i}": [*dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                               "--dashboard-address", ":0"] for i in range(2)},
        }
        for name, command in commands.items():
            with open(tmp_path / f"{name}.log", "ab") as log:
                procs.append(subprocess.Popen(command, cwd=tmp_path, env=worker_env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "out"
        _finish(_start(batch, out, api, ("--dask-address", address)), out)
    finally:
        _stop(procs)
    _assert_same_outputs(out, reference)
    # the pages were read on the workers: their task runs are in the workers' logs
    worker_logs = "".join((tmp_path / f"worker-{i}.log").read_text(errors="replace") for i in range(2))
    done = set(re.findall(r"Task run 'read-page-(\d+)' - Finished in state Completed", worker_logs))
    assert done == {"1", "2", "3"}, worker_logs[-3000:]
