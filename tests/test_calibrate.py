"""Each extracted value's rule and confidence, and how the confidences are measured on gold."""
from __future__ import annotations

import json
from pathlib import Path

from pipeline.calibrate import calibrate, judge, main
from pipeline.extract.confidence import TABLE, rows
from pipeline.models import CommitmentReport, Evidence, Milestone

GOLD = Path("gold/000_5431f427d6bef971/commitments.json")


def _evidences(report: CommitmentReport) -> list[Evidence]:
    out = []
    for c in report.commitments:
        out += [e for e in c.evidence.values()]
        out += [a.evidence for a in c.actors if a.evidence] + [m.evidence for m in c.milestones if m.evidence]
    return out


def test_every_value_of_the_seed_names_a_rule_of_the_table_and_carries_its_confidence():
    from pipeline.process import extract_document, read_report, repair_document

    doc = read_report("corpus/000_5431f427d6bef971.txt")
    report = extract_document(doc, repair_document(doc))
    table = {r["rule"]: float(r["confidence"]) for r in rows()}
    evidences = _evidences(report)
    assert evidences and all(e.rule in table and e.confidence == table[e.rule] for e in evidences)
    assert {e.rule for e in evidences} >= {"title.numbered_heading", "status.self_assessment", "actor.gazetteer"}


def test_judge_confirms_what_the_gold_says_and_skips_fields_it_does_not_annotate():
    gold = CommitmentReport.model_validate(json.loads(GOLD.read_text(encoding="utf-8")))
    pred = gold.model_copy(deep=True)
    ev = lambda rule: Evidence(page=1, rule=rule, confidence=0.5)  # noqa: E731
    for c in pred.commitments:
        c.evidence = {"title": ev("title.numbered_heading"), "status": ev("status.self_assessment")}
        for a in c.actors:
            a.evidence = ev("actor.head")
        c.milestones = []
    pred.commitments[0].status = "limitado" if gold.commitments[0].status != "limitado" else "completo"
    pred.commitments[0].actors[0].name = "Organización que no existe"
    pred.commitments[1].milestones = [Milestone(text="un hito", evidence=ev("milestone.unnumbered"))]
    verdicts = judge(gold, pred)
    count = lambda rule, ok: sum(1 for r, o in verdicts if r == rule and o == ok)  # noqa: E731
    n = len(gold.commitments)
    assert (count("title.numbered_heading", True), count("title.numbered_heading", False)) == (n, 0)
    assert (count("status.self_assessment", True), count("status.self_assessment", False)) == (n - 1, 1)
    assert count("actor.head", False) == 1
    assert count("actor.head", True) == sum(len(c.actors) for c in gold.commitments) - 1
    assert not any(r == "milestone.unnumbered" for r, _ in verdicts)  # the seed's gold has no milestones


def test_calibrate_counts_a_run_and_writes_no_rule_data(tmp_path, capsys):
    gold = CommitmentReport.model_validate(json.loads(GOLD.read_text(encoding="utf-8")))
    pred = gold.model_copy(deep=True)
    for c in pred.commitments:
        c.evidence = {"title": Evidence(page=1, rule="title.numbered_heading")}
    (tmp_path / "pred" / "any-name").mkdir(parents=True)
    (tmp_path / "pred" / "any-name" / "commitments.json").write_text(pred.model_dump_json(), encoding="utf-8")
    counts = calibrate(Path("gold"), tmp_path / "pred")
    n = len(gold.commitments)
    assert counts == {"title.numbered_heading": (n, n)}
    before = TABLE.read_bytes()
    assert main(["--gold", "gold", "--pred", str(tmp_path / "pred")]) == 0
    assert TABLE.read_bytes() == before  # the confidences are set by hand, never from gold
    assert f"title.numbered_heading\t0.9\t{n}/{n}\t{round((n + 1) / (n + 2), 3)}" in capsys.readouterr().out


def test_the_confidence_table_is_not_counted_from_gold():
    text = TABLE.read_text(encoding="utf-8")
    assert "never counted from gold" in text
    assert all(set(r) == {"rule", "confidence", "what"} and 0 < float(r["confidence"]) <= 1 for r in rows())
