"""Decide early, do little (flows.reuse): an unchanged report keeps its folder without going
through the flow; anything that changes its outputs (content, settings, code, its gold, a deleted
output) sends it through again; a run where nothing changed starts no flow."""
import json
import shutil
from pathlib import Path

from flows import reuse
from tests.conftest import SEED

SETTINGS = reuse.run_settings()


def _folder_with_record(out: Path, name: str, key: str) -> Path:
    folder = out / name
    folder.mkdir(parents=True)
    (folder / "commitments.json").write_text("{}", encoding="utf-8")
    reuse.record_report(folder, key, {"report": name, "file": "x", "ok": True, "outcome": "success", "seconds": 1.0})
    return folder


def test_a_report_is_reused_only_under_the_same_key_with_all_its_files(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    report = src / "a.txt"
    report.write_text("Compromiso 1\n", encoding="utf-8")
    [key] = reuse.plan_run([report], out, SETTINGS).keys.values()
    folder = _folder_with_record(out, "a", key)
    plan = reuse.plan_run([report], out, SETTINGS)
    assert plan.reused[report]["reused"] and plan.reused[report]["file"] == str(report)
    assert record_files(folder) == ["commitments.json"]
    assert not reuse.plan_run([report], out, SETTINGS, force=True).reused
    assert not reuse.plan_run([report], out, reuse.run_settings(dpi=200)).reused
    report.write_text("Compromiso 2\n", encoding="utf-8")
    assert not reuse.plan_run([report], out, SETTINGS).reused
    report.write_text("Compromiso 1\n", encoding="utf-8")
    (folder / "commitments.json").unlink()
    assert not reuse.plan_run([report], out, SETTINGS).reused


def record_files(folder: Path) -> list[str]:
    return json.loads((folder / reuse.RUN_FILE).read_text(encoding="utf-8"))["files"]


def test_the_key_follows_the_reports_gold_and_the_code(tmp_path, monkeypatch):
    src, out, gold = tmp_path / "in", tmp_path / "out", tmp_path / "gold"
    src.mkdir()
    report = src / "a.txt"
    report.write_text("Compromiso 1\n", encoding="utf-8")
    (gold / "a").mkdir(parents=True)
    (gold / "a" / "commitments.json").write_text('{"commitments": []}', encoding="utf-8")
    key = reuse.plan_run([report], out, SETTINGS, gold).keys[report]
    (gold / "a" / "commitments.json").write_text('{"commitments": [{"number": "1"}]}', encoding="utf-8")
    assert reuse.plan_run([report], out, SETTINGS, gold).keys[report] != key  # its review page changes
    key = reuse.plan_run([report], out, SETTINGS).keys[report]
    monkeypatch.setattr(reuse, "code_fingerprint", lambda: "another version of the code")
    assert reuse.plan_run([report], out, SETTINGS).keys[report] != key


def test_an_unreadable_input_has_no_key_and_is_never_reused(tmp_path):
    missing = tmp_path / "gone.txt"
    plan = reuse.plan_run([missing], tmp_path / "out", SETTINGS)
    assert plan.keys == {missing: None} and not plan.reused


def test_a_run_where_nothing_changed_starts_no_flow(prefect_harness, tmp_path, monkeypatch):
    import flows.report as report_flow
    from flows.report import process_corpus

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    unique = Path(SEED).read_text(encoding="utf-8") + f"\n{tmp_path.name}-reuse\n"
    (src / "seed.txt").write_text(unique, encoding="utf-8")
    (src / "other.txt").write_text(unique + "otro\n", encoding="utf-8")
    assert reuse.unchanged_run([src], out, SETTINGS) is None  # nothing ran yet
    first = process_corpus([src], out)
    assert [s["outcome"] for s in first] == ["success", "success"] and not any(s.get("reused") for s in first)
    again = reuse.unchanged_run([src], out, SETTINGS)
    assert [s["report"] for s in again] == ["other", "seed"] and all(s["reused"] for s in again)
    assert [s["commitments"] for s in again] == [s["commitments"] for s in first]

    # one report changed: only that one goes through the flow; the other keeps its folder as it was
    before = (out / "seed" / "commitments.json").stat().st_mtime_ns
    (src / "other.txt").write_text(unique + "otro cambio\n", encoding="utf-8")
    assert reuse.unchanged_run([src], out, SETTINGS) is None
    ran = []
    real = report_flow.process_report
    monkeypatch.setattr(report_flow, "process_report", _Spy(real, ran))
    second = process_corpus([src], out)
    assert ran == ["other"] and [bool(s.get("reused")) for s in second] == [False, True]
    assert (out / "seed" / "commitments.json").stat().st_mtime_ns == before
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))[1]["reused"] is True
    assert reuse.unchanged_run([src], out, SETTINGS) is not None

    # a run-level file deleted, or a report added: the run is not unchanged any more
    (out / "catalog.csv").unlink()
    assert reuse.unchanged_run([src], out, SETTINGS) is None
    process_corpus([src], out)
    shutil.copy(src / "seed.txt", src / "third.txt")
    assert reuse.unchanged_run([src], out, SETTINGS) is None


class _Spy:
    """process_report, recording the name of each report it runs (its `with_options` kept)."""

    def __init__(self, flow, ran):
        self.flow, self.ran = flow, ran

    def with_options(self, **options):
        inner = self.flow.with_options(**options)

        def run(**parameters):
            self.ran.append(parameters["name"])
            return inner(**parameters)

        return run
