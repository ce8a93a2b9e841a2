"""The `ogp` command line: one-file commands, their output and their exit codes."""
import json
import subprocess
import sys

from tests.conftest import SEED

OGP = [sys.executable, "-m", "pipeline.cli"]


def ogp(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*OGP, *args], input=stdin, capture_output=True, text=True, timeout=300)


def test_repair_reads_stdin_and_writes_the_log(tmp_path):
    log = tmp_path / "corrections.jsonl"
    res = ogp("repair", "-", "--log", str(log), stdin="Ia informacién del\ndisefio de Ia politica.\n")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "la información del diseño de la política."
    changes = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()]
    assert {(c["original"], c["replacement"]) for c in changes} >= {("Ia", "la"), ("disefio", "diseño")}
    assert all({"page", "line", "offset", "rule", "confidence"} <= set(c) for c in changes)


def test_repair_of_a_report_file_drops_furniture_and_keeps_pages(tmp_path):
    res = ogp("repair", SEED, "--keep-lines")
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("\f") == 25
    assert "Guadalupe Inn" not in res.stdout  # the running footer's address
    assert "Compromiso 2: Incidencia ciudadana" in res.stdout


def test_bad_input_names_the_file_and_the_fix(tmp_path):
    bad = tmp_path / "scan.pdf"
    bad.write_text("not a pdf")
    res = ogp("repair", str(bad))
    assert res.returncode == 2
    assert "scan.pdf" in res.stderr and "not a PDF" in res.stderr and "re-export" in res.stderr
    missing = ogp("extract", str(tmp_path / "nowhere.txt"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def _prediction(tmp_path, drop_actors: int) -> str:
    """A prediction folder: the gold commitments with `drop_actors` actors removed."""
    gold = json.loads(open("gold/000_5431f427d6bef971/commitments.json", encoding="utf-8").read())
    dropped = 0
    for c in gold["commitments"]:
        while c["actors"] and dropped < drop_actors:
            c["actors"].pop()
            dropped += 1
    folder = tmp_path / "pred" / "000_5431f427d6bef971"
    folder.mkdir(parents=True)
    (folder / "commitments.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return str(tmp_path / "pred")


def test_score_gate_passes_and_fails_on_actor_f1(tmp_path):
    good = ogp("score", "--pred", _prediction(tmp_path / "a", 0), "--min-f1", "0.95")
    assert good.returncode == 0, good.stderr
    result = json.loads((tmp_path / "a" / "pred" / "score.json").read_text(encoding="utf-8"))
    assert result["overall"]["actors"]["micro_all"]["f1"] == 1.0
    assert (tmp_path / "a" / "pred" / "score.md").read_text(encoding="utf-8").startswith("# Scores")
    # 20 of 109 actors missed: recall 0.82, F1 0.90 < 0.95
    bad = ogp("score", "--pred", _prediction(tmp_path / "b", 20), "--min-f1", "0.95")
    assert bad.returncode == 4 and "below --min-f1" in bad.stderr
    nothing = ogp("score", "--gold", str(tmp_path / "no-gold"), "--pred", str(tmp_path))
    assert nothing.returncode == 1 and "no-gold" in nothing.stderr
    typo = ogp("score", "--pred", str(tmp_path / "outptus"))
    assert typo.returncode == 1 and "outptus" in typo.stderr and not (tmp_path / "outptus").exists()
    unrelated = ogp("score", "--pred", str(tmp_path / "a"))  # a folder without any gold report
    assert unrelated.returncode == 1 and "nothing scored" in unrelated.stderr


def test_a_report_whose_worker_died_exits_10_naming_the_file_and_the_fix(tmp_path, monkeypatch):
    """`ogp run` maps a report lost with its worker (`ChildFailed`, as `flows.report` records it)
    to exit code 10, after the other reports' table, with the file and what to do."""
    from typer.testing import CliRunner

    from pipeline import cli
    from pipeline.errors import ChildFailed, ExitCode

    good, lost = tmp_path / "a.txt", tmp_path / "b.txt"
    for f in (good, lost):
        f.write_text("Compromiso 1: Algo\n", encoding="utf-8")
    error = ChildFailed(lost, "the worker process running it died (killed, or out of memory)").to_dict()
    summaries = [{"report": "a", "file": str(good), "ok": True, "outcome": "success", "seconds": 1.0},
                 {"report": "b", "file": str(lost), "ok": False, "outcome": "failure", "error": error, "seconds": 0.0}]
    monkeypatch.setattr(cli, "_run_flow", lambda paths, out, **options: summaries)
    res = CliRunner().invoke(cli.app, ["run", str(good), str(lost), "--out", str(tmp_path / "out"), "--force"])
    assert res.exit_code == ExitCode.CHILD_FAILED == 10
    assert "b.txt" in res.output and "worker process" in res.output and "--workers 1" in res.output
    assert "1 of 2 reports failed" in res.output
