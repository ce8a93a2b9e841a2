"""The Prefect flows end to end: outputs, a bad report among good ones, cache hits, --force."""
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SEED

STEM = Path(SEED).name


@pytest.fixture()
def batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SEED, src / STEM)  # named as in gold/, so the run is scored
    (src / "not-a-pdf.pdf").write_bytes(b"this is a text file, not a PDF\n")
    (src / "empty.txt").write_bytes(b"")
    return src, tmp_path / "out"


def test_corpus_flow_writes_outputs_and_names_bad_reports(prefect_harness, batch):
    from flows.report import process_corpus

    src, out = batch
    summaries = process_corpus([src], out, gold_root=Path("gold"))
    by_name = {s["report"]: s for s in summaries}
    by_name["seed"] = by_name.pop(Path(STEM).stem)
    assert by_name["seed"]["ok"] and by_name["seed"]["pages"] == 26
    (out / "seed").symlink_to(out / Path(STEM).stem)
    text = (out / "seed" / "text.txt").read_text(encoding="utf-8")
    assert text.count("\f") == 25
    assert "Guadalupe Inn" not in text
    doc = json.loads((out / "seed" / "document.json").read_text(encoding="utf-8"))
    assert doc["source"] == "text-file" and doc["pages"][0]["lines"][0]["line"] == 1
    notes = json.loads((out / "seed" / "footnotes.json").read_text(encoding="utf-8"))
    assert any(n["number"] == "11" for n in notes)

    # repaired text: same pages, OCR artifacts fixed, every change on record
    clean = (out / "seed" / "clean.txt").read_text(encoding="utf-8")
    assert clean.count("\f") == 25
    assert "disefio" in text and "disefio" not in clean and "diseño" in clean
    lines = (out / "seed" / "corrections.jsonl").read_text(encoding="utf-8").splitlines()
    corrections = [json.loads(x) for x in lines]
    assert by_name["seed"]["corrections"] == sum(c["applied"] for c in corrections) > 100
    assert {"page", "line", "offset", "original", "replacement", "rule", "confidence", "applied"} <= set(corrections[0])

    # commitments, their CSVs and the review page; scores against gold for the whole run
    report = json.loads((out / "seed" / "commitments.json").read_text(encoding="utf-8"))
    assert by_name["seed"]["commitments"] == len(report["commitments"]) > 0
    assert (out / "seed" / "commitments.csv").read_text(encoding="utf-8").count("\n") == len(report["commitments"]) + 1
    assert (out / "seed" / "actors.csv").stat().st_size > 0
    assert "<html" in (out / "seed" / "review.html").read_text(encoding="utf-8").lower()
    score = json.loads((out / "score.json").read_text(encoding="utf-8"))
    assert score["overall"]["scored"] == 1 and score["reports"][0]["report"] == Path(STEM).stem

    errors = json.loads((out / "errors.json").read_text(encoding="utf-8"))
    failed = {Path(e["file"]).name: e for e in errors}
    assert set(failed) == {"not-a-pdf.pdf", "empty.txt"}
    assert failed["not-a-pdf.pdf"]["error"] == "UnreadablePdf"
    assert "not a PDF" in failed["not-a-pdf.pdf"]["problem"] and failed["not-a-pdf.pdf"]["hint"]
    assert failed["empty.txt"]["error"] == "EmptyInput"
    # the corpus catalog is rebuilt after the run, failed reports included
    import sqlite3

    with sqlite3.connect(out / "catalog.sqlite") as db:
        rows = dict(db.execute("SELECT report, ok FROM reports").fetchall())
    assert rows == {Path(STEM).stem: 1, "not-a-pdf": 0, "empty": 0}
    # nothing half-written: no temp files left behind
    assert not list(out.rglob("*.tmp"))


def test_unchanged_input_is_not_read_again_unless_forced(prefect_harness, tmp_path, monkeypatch):
    import pipeline.ingest as ingest
    from flows.report import process_corpus

    calls = []
    real = ingest.read_text_report

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(ingest, "read_text_report", counting)
    src = tmp_path / "in"
    src.mkdir()
    # content no other test has used, so no earlier cache entry applies
    unique = Path(SEED).read_text(encoding="utf-8") + f"\n{tmp_path.name}\n"
    (src / "seed.txt").write_text(unique, encoding="utf-8")
    process_corpus([src], tmp_path / "out1")
    process_corpus([src], tmp_path / "out2")
    assert len(calls) == 1  # second run: cache hit on the file's content hash
    assert (tmp_path / "out2" / "seed" / "text.txt").read_bytes() == (tmp_path / "out1" / "seed" / "text.txt").read_bytes()
    process_corpus([src], tmp_path / "out3", force=True)
    assert len(calls) == 2
    # a renamed copy is the same report: not read again, but its outputs name its own file
    (src / "seed.txt").rename(src / "renamed.txt")
    process_corpus([src], tmp_path / "out4")
    assert len(calls) == 2
    doc = json.loads((tmp_path / "out4" / "renamed" / "document.json").read_text(encoding="utf-8"))
    assert Path(doc["path"]).name == "renamed.txt"


def test_a_new_repair_rule_version_reruns_repair_but_not_ingest(prefect_harness, tmp_path, monkeypatch):
    import flows.report
    import pipeline.ingest as ingest
    import pipeline.process as process
    from flows.report import process_corpus

    reads, repairs = [], []
    real_read, real_repair = ingest.read_text_report, process.repair_document
    monkeypatch.setattr(ingest, "read_text_report", lambda p: reads.append(p) or real_read(p))
    monkeypatch.setattr(process, "repair_document", lambda d: repairs.append(d) or real_repair(d))
    src = tmp_path / "in"
    src.mkdir()
    unique = Path(SEED).read_text(encoding="utf-8") + f"\n{tmp_path.name}-rules\n"
    (src / "seed.txt").write_text(unique, encoding="utf-8")
    process_corpus([src], tmp_path / "out1")
    process_corpus([src], tmp_path / "out2")
    assert (len(reads), len(repairs)) == (1, 1)  # both cached
    monkeypatch.setattr(flows.report, "repair_version", lambda: "a-changed-rule")
    process_corpus([src], tmp_path / "out3")
    assert (len(reads), len(repairs)) == (1, 2)  # OCR/ingest still cached, repair recomputed


def test_cache_keys_follow_the_content_of_the_inputs_not_the_path():
    from flows.caching import ContentInputs
    from pipeline.models import Document
    from pipeline.process import read_report

    policy = ContentInputs(exclude=["path"])
    doc = read_report(SEED)

    def key(doc, path="a/seed.txt", code="v1", **more):
        return policy.compute_key(None, {"path": Path(path), "doc": doc, "code": code, **more}, {})

    same = Document.model_validate(doc.model_dump())  # equal content, another object
    assert key(doc) == key(same, path="elsewhere/renamed.txt")
    one_word = doc.model_copy(deep=True)
    one_word.pages[3].lines[5].text += "x"
    assert key(one_word) != key(doc)
    assert key(doc, code="v2") != key(doc)

    class Opaque:  # pydantic-core cannot serialize it: hashed as Prefect's Inputs policy does
        pass

    assert isinstance(key(doc, extra=Opaque()), str)


def test_corpus_runs_send_heartbeats_only_to_a_server_that_outlives_them(monkeypatch, tmp_path):
    import flows.report
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    seen = []
    monkeypatch.setattr(flows.report, "process_corpus",
                        lambda paths, out, **options: seen.append(PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()) or [])
    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # the embedded server
        flows.report.run_corpus([], tmp_path / "out")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        flows.report.run_corpus([], tmp_path / "out")
        default = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    assert seen == [None, default] and default is not None


def test_mixed_batch_of_good_and_broken_reports(prefect_harness, sample_pdfs, tmp_path):
    """The foundation's acceptance run: seed text, scanned, text-layer and poor-layer PDFs and
    three broken files in one folder."""
    from flows.report import process_corpus

    folder, _, broken = sample_pdfs
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SEED, src / "seed.txt")
    for name in ("scanned", "text-layer", "poor-layer"):
        shutil.copy(folder / f"{name}.pdf", src / f"{name}.pdf")
    for name in ("truncated", "encrypted", "zero-pages"):
        shutil.copy(broken[name], src / f"{name}.pdf")
    out = tmp_path / "out"
    summaries = {s["report"]: s for s in process_corpus([src], out)}
    good = {"seed", "scanned", "text-layer", "poor-layer"}
    assert {k for k, s in summaries.items() if s["ok"]} == good
    for name in good:
        for f in ("document.json", "text.txt", "footnotes.json"):
            assert (out / name / f).stat().st_size > 0
    assert summaries["poor-layer"]["ocr_pages"] == 2 and summaries["text-layer"]["ocr_pages"] == 0
    assert {name for name in good if (out / name / "searchable.pdf").exists()} == good - {"seed"}
    errors = {Path(e["file"]).stem: e["error"] for e in json.loads((out / "errors.json").read_text())}
    assert errors == {"truncated": "UnreadablePdf", "encrypted": "EncryptedPdf", "zero-pages": "EmptyPdf"}


def test_evaluate_flow_writes_scores_and_publishes_artifacts(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.evaluate import evaluate

    pred = tmp_path / "pred" / "000_5431f427d6bef971"
    pred.mkdir(parents=True)
    shutil.copy("gold/000_5431f427d6bef971/commitments.json", pred / "commitments.json")
    result = evaluate(Path("gold"), tmp_path / "pred")
    assert result["overall"]["commitments"]["found"] == 13
    assert json.loads((tmp_path / "pred" / "score.json").read_text())["overall"]["actors"]["micro_all"]["f1"] == 1.0
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ogp-scores", "ogp-scores-table"])))
    kinds = {a.key: a.type for a in found}
    assert kinds == {"ogp-scores": "markdown", "ogp-scores-table": "table"}
    table = next(a for a in found if a.key == "ogp-scores-table")
    assert "000_5431f427d6bef971" in str(table.data)


def test_a_damaged_gold_file_does_not_fail_the_batch(prefect_harness, tmp_path):
    from flows.report import process_corpus

    gold = tmp_path / "gold" / Path(STEM).stem
    gold.mkdir(parents=True)
    (gold / "commitments.json").write_text("{ not json", encoding="utf-8")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SEED, src / STEM)
    out = tmp_path / "out"
    summaries = process_corpus([src], out, gold_root=tmp_path / "gold")
    assert [s["ok"] for s in summaries] == [True]
    assert (out / Path(STEM).stem / "review.html").exists()
    assert not (out / "score.json").exists()


def _seed_copies(src: Path, *names: str) -> None:
    for name in names:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SEED, src / name)


def test_report_names_cannot_escape_collide_or_shadow_run_files(prefect_harness, tmp_path):
    from flows.report import process_corpus

    src, out = tmp_path / "in", tmp_path / "runs" / "out"
    _seed_copies(src, "...txt", "..txt", "errors.json.txt", "catalog.csv.txt", ".cache.txt", ".hidden.txt",
                 "X.TXT", "X.txt", "sub1/dup.txt", "sub2/dup.txt")
    summaries = process_corpus([src], out)
    assert [s["outcome"] for s in summaries] == ["success"] * 10
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["out"]  # nothing beside --out
    names = [s["report"] for s in summaries]
    assert len({n.casefold() for n in names}) == 10
    assert {s["file"] for s in summaries} == {str(p) for p in src.rglob("*.*")}
    for s in summaries:
        folder = out / s["report"]
        assert folder.parent == out and not s["report"].startswith(".")
        source = json.loads((folder / "source.json").read_text(encoding="utf-8"))
        assert source["file"] == s["file"] and source["sha256"] == json.loads(
            (folder / "document.json").read_text(encoding="utf-8"))["sha256"]
        assert json.loads((folder / "commitments.json").read_text(encoding="utf-8"))["report"] == s["report"]
    # the run's own files are files, whole; the catalog lists every report once
    assert len(json.loads((out / "errors.json").read_text())) == 0
    assert [s["report"] for s in json.loads((out / "summary.json").read_text())] == names
    import sqlite3

    with sqlite3.connect(out / "catalog.sqlite") as db:
        assert sorted(r for (r,) in db.execute("SELECT report FROM reports")) == sorted(names)
    assert not (out / ".cache" / "document.json").exists()


def test_identical_copies_in_one_run_give_identical_results(prefect_harness, tmp_path):
    """The cached Document is handed to each copy; layout must not change the one the cache keeps."""
    from flows.report import process_corpus

    src = tmp_path / "in"
    _seed_copies(src, "one.txt", "two.txt", "three.txt")
    summaries = process_corpus([src], tmp_path / "out")
    assert len({(s["footnotes"], s["commitments"], s["corrections"]) for s in summaries}) == 1

    def result(name: str) -> dict:
        folder = tmp_path / "out" / name
        report = json.loads((folder / "commitments.json").read_text(encoding="utf-8"))
        report.pop("report")  # the folder's name, also the first column of actors.csv
        actors = [row.split(",", 1)[1] for row in (folder / "actors.csv").read_text(encoding="utf-8").splitlines()]
        return {"commitments": report, "actors": actors, **{f: (folder / f).read_bytes() for f in
                ("footnotes.json", "text.txt", "clean.txt", "corrections.jsonl")}}

    assert result("one") == result("two") == result("three")


def test_a_report_failing_after_ingest_leaves_no_old_results_and_the_catalog_follows_the_run(
        prefect_harness, tmp_path, monkeypatch):
    import sqlite3

    import pipeline.process as process
    from flows.report import process_corpus

    src, out = tmp_path / "in", tmp_path / "out"
    unique = Path(SEED).read_text(encoding="utf-8") + f"\n{tmp_path.name}-stale\n"
    src.mkdir()
    (src / "seed.txt").write_text(unique, encoding="utf-8")
    assert process_corpus([src], out)[0]["outcome"] == "success"

    def broken(doc, repaired):
        raise RuntimeError("extraction bug")

    monkeypatch.setattr(process, "extract_document", broken)
    [failed] = process_corpus([src], out, force=True)
    assert failed["outcome"] == "failure" and failed["error"]["error"] == "InternalError"
    assert "extraction bug" in failed["error"]["problem"] and "report it" in failed["error"]["hint"]
    assert "RuntimeError" in failed["error"]["traceback"]
    assert not (out / "seed").exists()  # no old commitments.json beside a new document.json
    with sqlite3.connect(out / "catalog.sqlite") as db:
        assert db.execute("SELECT ok, outcome, commitments FROM reports").fetchall() == [(0, "failure", None)]
        assert db.execute("SELECT count(*) FROM commitments").fetchone() == (0,)
    monkeypatch.undo()
    # a renamed input: its old folder is not listed beside the new one
    assert process_corpus([src], out)[0]["ok"]
    (src / "seed.txt").rename(src / "renamed.txt")
    process_corpus([src], out)
    with sqlite3.connect(out / "catalog.sqlite") as db:
        assert db.execute("SELECT report, ok FROM reports").fetchall() == [("renamed", 1)]
        assert {r for (r,) in db.execute("SELECT DISTINCT report FROM commitments")} == {"renamed"}


def test_cache_versions_follow_the_code_each_task_runs(tmp_path):
    """Computed from the tasks' import closure, not a hand list: the page-reading task runs the
    reading-order code (pipeline/layout.py, through pipeline/ingest/pdf.py), so a change there is a
    new version of it; a repair rule is a new repair version only."""
    from flows import tasks
    from flows.caching import code_version, ingest_version

    root = tmp_path / "pipeline"
    shutil.copytree(Path("pipeline"), root, ignore=shutil.ignore_patterns("__pycache__"))

    def versions() -> tuple[str, ...]:
        return tuple(code_version(t, root=root) for t in (tasks.read_page, tasks.read_text_file, tasks.repair,
                                                          tasks.extract))

    before = versions()
    assert before[0] == before[1] == ingest_version()  # the copy is the library, file for file
    assert len(set(before)) == 3
    with open(root / "layout.py", "a", encoding="utf-8") as fh:
        fh.write("\n# reading order changed\n")
    after_layout = versions()
    assert after_layout[0] != before[0] and after_layout[1] != before[1]
    assert after_layout[2:] == before[2:]  # repair and extraction do not run the layout code
    with open(root / "data" / "repair" / "confusions.tsv", "a", encoding="utf-8") as fh:
        fh.write("x\ty\n")
    after_rule = versions()
    assert after_rule[:2] == after_layout[:2] and after_rule[2] != after_layout[2]
    with open(root / "extract" / "orgs.py", "a", encoding="utf-8") as fh:
        fh.write("\n# a new organisation rule\n")
    after_extract = versions()
    assert after_extract[:3] == after_rule[:3] and after_extract[3] != after_rule[3]


def test_stage_versions_are_kept_per_code_fingerprint(tmp_path, monkeypatch):
    """The stage versions are read back from the user's cache folder while the code is the same,
    and computed again as soon as the code fingerprint differs."""
    import json

    import flows.reuse
    from flows import caching

    monkeypatch.setenv("OGP_CACHE_DIR", str(tmp_path))
    caching.stage_versions.cache_clear()
    try:
        real = caching.stage_versions()
        stored = json.loads((tmp_path / "code-versions.json").read_text())
        assert stored == {"fingerprint": flows.reuse.code_fingerprint(), "versions": real}
        # the same fingerprint: what is stored is what is used
        (tmp_path / "code-versions.json").write_text(json.dumps(
            {"fingerprint": flows.reuse.code_fingerprint(), "versions": {"ingest": "i", "repair": "r", "extract": "e"}}))
        caching.stage_versions.cache_clear()
        assert caching.ingest_version() == "i"
        # another fingerprint (the code changed): computed again
        monkeypatch.setattr(flows.reuse, "code_fingerprint", lambda: "changed")
        caching.stage_versions.cache_clear()
        assert caching.stage_versions() == real
        assert json.loads((tmp_path / "code-versions.json").read_text())["fingerprint"] == "changed"
    finally:
        caching.stage_versions.cache_clear()
