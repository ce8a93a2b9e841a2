"""The run's output folder: report folder names that cannot escape `--out`, shadow a run-level file
or collide; one run at a time (a lock, tried by two real processes); a report's folder replaced
whole; temp files removed only under the lock."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import outdir
from pipeline.errors import ExitCode, OutputFolderBusy


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _names(*paths: str) -> list[str]:
    inputs = [Path(p) for p in paths]
    names = outdir.report_names(inputs)
    return [names[p] for p in inputs]


def test_names_never_leave_out_nor_take_a_run_level_or_hidden_name(tmp_path):
    names = _names("in/...txt", "in/..pdf", "in/.hidden.txt", "in/.cache.txt", "in/errors.json.txt",
                   "in/catalog.csv.pdf", "in/SUMMARY.JSON.txt", "in/score.md.txt", "in/a\nb.txt", "in/plain.txt")
    for name in names:
        folder = outdir.report_folder(tmp_path, name)  # raises for a name that is not a report folder's
        assert folder.parent == tmp_path and not name.startswith(".") and name not in (".", "..")
        assert name.casefold() not in outdir.RUN_LEVEL_NAMES and "\n" not in name
    assert names[-1] == "plain"
    long = _names("a/" + "é" * 200 + ".txt", "b/" + "é" * 200 + ".txt")  # cut to fit, then suffixed
    assert all(len(n.encode()) < 255 - 20 and outdir.report_folder(tmp_path, n) for n in long)
    assert names[4].startswith("errors.json-") and names[7].startswith("score.md-")
    for bad in ("..", ".", ".cache", "errors.json", "a/b", ".x"):
        with pytest.raises(ValueError):
            outdir.report_folder(tmp_path, bad)


def test_same_stems_get_distinct_names_that_do_not_depend_on_order():
    inputs = ["a/a.txt", "a/a.pdf", "b/X.TXT", "b/X.txt", "sub1/dup.txt", "sub2/dup.txt", "c/dup-x.txt"]
    names = _names(*inputs)
    assert len({n.casefold() for n in names}) == len(names)
    assert all(n.startswith(Path(p).stem + "-") for n, p in zip(names[:6], inputs))
    assert names[6] == "dup-x"
    assert _names(*reversed(inputs)) == list(reversed(names))  # deterministic
    # a suffixed name never takes another input's own stem
    first, _ = _names("p/q.txt", "r/q.txt")
    crowded = _names("p/q.txt", "r/q.txt", f"s/{first}.txt")
    assert crowded[2] == first and len(set(crowded)) == 3


def test_a_report_folder_is_replaced_whole_or_removed_when_the_report_fails(tmp_path):
    old = tmp_path / "r"
    old.mkdir()
    (old / "commitments.json").write_text("old")
    (old / "review.html").write_text("old")
    with outdir.staged_report(tmp_path, "r") as staging:
        (staging / "document.json").write_text("new")
        assert (old / "commitments.json").read_text() == "old"  # untouched until the end
    assert sorted(f.name for f in old.iterdir()) == ["document.json"]
    assert old.stat().st_mode & 0o777 == 0o777 & ~_umask()  # an ordinary folder, not mkdtemp's 0700
    with pytest.raises(KeyboardInterrupt):
        with outdir.staged_report(tmp_path, "r") as staging:
            raise KeyboardInterrupt  # interrupted: the old folder stays whole
    assert sorted(f.name for f in old.iterdir()) == ["document.json"]
    with pytest.raises(RuntimeError):
        with outdir.staged_report(tmp_path, "r") as staging:
            (staging / "document.json").write_text("newer")
            raise RuntimeError("repair failed")
    assert not old.exists()  # a failed report has no folder: no old results beside new ones
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_temp_files_and_journals_are_removed_but_never_outputs(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / ".cache").mkdir()
    temps = [tmp_path / ".summary.json.abc.tmp", tmp_path / ".catalog.sqlite.x.tmp-journal",
             tmp_path / "r" / ".text.txt.y.tmp"]
    for t in temps:
        t.write_text("x")
    (tmp_path / ".r.staging.tmp").mkdir()
    (tmp_path / ".r.staging.tmp" / "document.json").write_text("{}")
    kept = [tmp_path / "summary.json", tmp_path / "r" / "text.txt", tmp_path / ".cache" / ".result.tmp"]
    for k in kept:
        k.write_text("x")
    assert outdir.remove_temp_files(tmp_path) == 4
    assert all(k.exists() for k in kept) and not any(t.exists() for t in temps)


HOLD = """
import sys, time
from pathlib import Path
from pipeline import outdir
from pipeline.errors import PipelineError
try:
    with outdir.run_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(120)
except PipelineError as exc:
    print(exc, flush=True)
    sys.exit(exc.exit_code)
"""


def _hold(out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])


def test_a_second_process_is_refused_while_the_first_holds_the_folder_and_not_after_it_dies(tmp_path):
    first = _hold(tmp_path)
    try:
        assert first.stdout.readline().strip() == "locked"
        second = _hold(tmp_path)
        message, _ = second.communicate(timeout=60)
        assert second.returncode == ExitCode.OUTPUT_BUSY
        assert f"pid {first.pid}" in message and "started 20" in message and "another --out" in message
    finally:
        first.send_signal(signal.SIGKILL)  # a crashed run: its flock dies with it
        first.wait()
    with outdir.run_lock(tmp_path):
        assert json.loads((tmp_path / outdir.LOCK_NAME).read_text())["pid"] == os.getpid()
    assert (tmp_path / outdir.LOCK_NAME).read_text() == ""  # released: it names no holder
    with outdir.run_lock(tmp_path):
        with outdir.run_lock(tmp_path):  # re-entrant within a process (the CLI, then its flow)
            pass
        refused = _hold(tmp_path)  # the outer block still holds it
        refused.communicate(timeout=60)
        assert refused.returncode == ExitCode.OUTPUT_BUSY
    with pytest.raises(OutputFolderBusy):
        with outdir.run_lock(tmp_path):
            raise OutputFolderBusy(str(tmp_path), "raised inside: the lock is released all the same")
    later = _hold(tmp_path)
    assert later.stdout.readline().strip() == "locked"
    later.kill()
    later.wait()


def test_ogp_run_refuses_a_folder_another_run_holds_and_leaves_its_temp_files(tmp_path):
    from tests.conftest import SEED

    out = tmp_path / "out"
    first = _hold(out)
    try:
        assert first.stdout.readline().strip() == "locked"
        theirs = out / ".summary.json.other-run.tmp"  # a temp file of the run holding the folder
        theirs.write_text("being written")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false")
        res = subprocess.run([str(Path(sys.executable).parent / "ogp"), "run", SEED, "--out", str(out)],
                             capture_output=True, text=True, timeout=300, env=env,
                             cwd=Path(__file__).resolve().parents[1])
        assert res.returncode == ExitCode.OUTPUT_BUSY, res.stderr[-2000:]
        assert f"pid {first.pid}" in res.stderr and "another `ogp run` is writing here" in res.stderr
        assert "Traceback" not in res.stderr  # refused before any flow run starts
        assert theirs.read_text() == "being written" and not (out / "summary.json").exists()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
