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
        Commitment(number=str(i + 1), title=t, actors=[Actor(name=t, acronym="@A")]) for i, t in enumerate(hostile)])
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


def test_a_report_with_an_empty_page_or_no_commitment_is_a_partial_success():
    from pipeline.models import CommitmentReport, Document, Line, Page, SourceKind
    from pipeline.process import outcome

    doc = Document(path="r.pdf", sha256="0", source=SourceKind.OCR, pages=[
        Page(number=1, source=SourceKind.OCR, lines=[Line(text="Compromiso 1", page=1, line=1)]),
        Page(number=2, source=SourceKind.OCR, lines=[Line(text="  ", page=2, line=1)])])
    found = outcome(doc, CommitmentReport(report="r"))
    assert found["outcome"] == "partial"
    assert [w["page"] for w in found["warnings"]] == [2, None]
    assert "no text" in found["warnings"][0]["reason"] and "no commitment" in found["warnings"][1]["reason"]


def test_a_run_with_an_internal_error_exits_with_the_internal_code(tmp_path, monkeypatch):
    import flows.report

    bug = as_pipeline_error(ValueError("a bug"), tmp_path / "r.txt").to_dict()
    bad_input = MissingInput(str(tmp_path / "gone.txt"), "no such file").to_dict()
    runs = {"internal": [{"report": "r", "file": "r.txt", "ok": False, "outcome": "failure", "error": bug,
                          "seconds": 0.1}],
            "input": [{"report": "gone", "file": "gone.txt", "ok": False, "outcome": "failure",
                       "error": bad_input, "seconds": 0.1}]}
    for kind, code in (("internal", ExitCode.INTERNAL), ("input", ExitCode.SOME_REPORTS_FAILED)):
        monkeypatch.setattr(flows.report, "run_corpus", lambda paths, out, **options: runs[kind])
        res = CliRunner().invoke(cli.app, ["run", SEED, "--out", str(tmp_path / "out")])
        assert res.exit_code == code, res.output


def test_ogp_run_without_tesseract_names_the_missing_dependency(sample_pdfs, tmp_path):
    folder, _, _ = sample_pdfs
    bin_dir = tmp_path / "bin"  # a PATH without tesseract
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PATH=str(bin_dir), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    res = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(folder / "scanned.pdf"),
                          "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == ExitCode.MISSING_DEPENDENCY, res.stderr[-3000:]
    assert "tesseract" in res.stderr and "apt-get install tesseract-ocr" in res.stderr
    assert "Traceback" not in res.stderr and not (tmp_path / "out" / "summary.json").exists()
