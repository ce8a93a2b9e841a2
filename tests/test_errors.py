"""Failures typed by kind, each with its exit code and a message naming the file and the fix:
usage errors, missing dependencies, permissions, broken links, damaged gold, internal errors; and
CSV cells a spreadsheet cannot run as formulas."""
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import cli, ingest
from pipeline.errors import ExitCode, InputNotReadable, InternalError, MissingDependency, MissingInput, \
    OutputNotWritable, as_pipeline_error
from tests.conftest import SEED

OGP = [sys.executable, "-m", "pipeline.cli"]


def ogp(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*OGP, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


@pytest.mark.parametrize("args", [("run", "--workers", "0"), ("run", "--no-such-option"), ("score", "--min-f1", "x")])
def test_usage_errors_exit_with_the_readme_code_and_no_traceback(args):
    res = ogp(*args)
    assert res.returncode == ExitCode.BAD_ARGS == 1, res.stderr
    assert "Traceback" not in res.stderr and "Error" in res.stderr


def test_the_readme_exit_code_table_is_the_code():
    readme = Path("README.md").read_text(encoding="utf-8")
    table = " ".join(readme.split("\nExit codes", 1)[1].split("\n\n", 1)[0].split())
    given = [int(n) for n in re.findall(r"(?:: |, )(\d+) [a-z]", table)]
    assert given == [code.value for code in ExitCode]


def test_missing_tesseract_or_language_data_is_a_missing_dependency_with_the_install_command(monkeypatch):
    ingest.check_ocr.cache_clear()
    with pytest.raises(MissingDependency) as no_lang:
        ingest.check_ocr("spa+zzz")
    assert no_lang.value.exit_code == ExitCode.MISSING_DEPENDENCY
    assert "zzz.traineddata" in str(no_lang.value) and "apt-get install tesseract-ocr-zzz" in str(no_lang.value)
    monkeypatch.setattr(ingest.shutil, "which", lambda name: None)
    ingest.check_ocr.cache_clear()
    with pytest.raises(MissingDependency, match=r"^tesseract: .*not on PATH.*apt-get install tesseract-ocr"):
        ingest.check_ocr("spa")
    ingest.check_ocr.cache_clear()


def test_a_permission_error_names_the_file_and_the_fix(tmp_path, monkeypatch):
    report = tmp_path / "report.txt"
    report.write_text("texto")
    monkeypatch.setattr(ingest.os, "access", lambda path, mode: False)  # the tests run as root
    with pytest.raises(InputNotReadable, match=r"report.txt: permission denied.*chmod u\+r"):
        ingest.check_input(report)
    err = as_pipeline_error(PermissionError(13, "Permission denied", str(tmp_path / "out" / "r" / "x.tmp")), report)
    assert isinstance(err, OutputNotWritable) and err.exit_code == ExitCode.FILE_ACCESS
    assert "x.tmp" in str(err) and "chmod u+w" in str(err)
    assert isinstance(as_pipeline_error(PermissionError(13, "Permission denied", str(report)), report),
                      InputNotReadable)


def test_a_broken_symlink_is_reported_not_skipped(tmp_path):
    from pipeline.outdir import discover

    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    assert discover([tmp_path]) == [tmp_path / "gone.txt"]
    with pytest.raises(MissingInput, match=r"gone.txt: a broken symbolic link .*nowhere.txt"):
        ingest.check_input(tmp_path / "gone.txt")


def test_an_unexpected_exception_is_an_internal_error_saying_where_to_report_it(tmp_path, monkeypatch):
    err = as_pipeline_error(KeyError("lines"), tmp_path / "r.txt")
    assert isinstance(err, InternalError) and err.exit_code == ExitCode.INTERNAL
    assert "issue tracker" in err.hint and "KeyError" in err.to_dict()["traceback"]
    import flows.report

    def crash(paths, out, **options):
        raise RuntimeError("catalog bug")

    monkeypatch.setattr(flows.report, "run_corpus", crash)
    res = CliRunner().invoke(cli.app, ["run", SEED, "--out", str(tmp_path / "out")])
    assert res.exit_code == ExitCode.INTERNAL
    assert "catalog bug" in res.output and "issue tracker" in res.output and str(tmp_path / "out") in res.output


def _gold(tmp_path: Path) -> tuple[Path, Path]:
    gold, pred = tmp_path / "gold" / "r", tmp_path / "pred" / "r"
    for folder in (gold, pred):
        folder.mkdir(parents=True)
        (folder / "commitments.json").write_text(json.dumps({"report": "r", "commitments": []}))
    return gold, pred


def test_score_on_damaged_gold_is_a_typed_error_naming_the_file(tmp_path):
    gold, pred = _gold(tmp_path)
    (gold / "commitments.json").write_text("[" * 100_000 + "]" * 100_000)
    res = ogp("score", "--gold", str(gold.parent), "--pred", str(pred.parent))
    assert res.returncode == ExitCode.INVALID_GOLD, res.stderr
    assert "gold/r/commitments.json" in res.stderr and "nested too deeply" in res.stderr
    assert "Traceback" not in res.stderr
    (gold / "commitments.json").write_text(json.dumps({"report": "r", "commitments": []}))
    (gold / "text").mkdir()
    (gold / "text" / "001.txt").mkdir()  # a folder where a gold page should be
    (pred / "text.txt").write_text("a\n")
    (pred / "clean.txt").write_text("a\n")
    res = ogp("score", "--gold", str(gold.parent), "--pred", str(pred.parent))
    assert res.returncode == ExitCode.INVALID_GOLD, res.stderr
    assert "text/001.txt" in res.stderr and "a folder where a file should be" in res.stderr


def test_csv_cells_starting_with_a_formula_prefix_are_written_as_text(tmp_path):
    from pipeline.catalog import build_catalog
    from pipeline.export import write_commitments
    from pipeline.extract import commitments_to_csv_rows
    from pipeline.models import Actor, Commitment, CommitmentReport

    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1"]
    report = CommitmentReport(report="r", plan="=1+1", commitments=[
        Commitment(number=i + 1, title=t, actors=[Actor(name=t, acronym="@A")]) for i, t in enumerate(hostile)])
    folder = tmp_path / "r"
    write_commitments(report, *commitments_to_csv_rows(report), folder)
    (tmp_path / "summary.json").write_text(json.dumps([{"report": "r", "file": "r.txt", "ok": True}]))
    build_catalog(tmp_path)
    for path in (folder / "commitments.csv", folder / "actors.csv", tmp_path / "catalog.csv"):
        with open(path, encoding="utf-8", newline="") as fh:
            cells = [c for row in csv.reader(fh) for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], path.name
        assert "'" + hostile[0] in cells, path.name
    assert '"title": "=HYPERLINK' in (folder / "commitments.json").read_text(encoding="utf-8")  # JSON as it is
