"""The scorer: gold against itself is perfect, and a perturbed copy gives the exact expected counts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.models import Actor, Commitment, CommitmentReport
from pipeline.score import (
    ACTOR_THRESHOLD,
    match_actors,
    name_similarity,
    normalize_url,
    score_corpus,
    score_report,
)

GOLD = Path("gold/000_5431f427d6bef971/commitments.json")


@pytest.fixture(scope="module")
def gold() -> CommitmentReport:
    return CommitmentReport.model_validate(json.loads(GOLD.read_text(encoding="utf-8")))


def by_number(report: CommitmentReport, number: int | str) -> Commitment:
    return next(c for c in report.commitments if c.number == str(number))


def test_gold_against_itself_is_perfect(gold):
    r = score_report(gold, gold)
    n = len(gold.commitments)
    n_actors = sum(len(c.actors) for c in gold.commitments)
    assert r["commitments"]["found"] == n and not r["commitments"]["missed"] and not r["commitments"]["extra"]
    assert r["titles"]["mean_ratio"] == 100 and r["titles"]["at_or_above"] == n
    for key in ("status", "section", "urls"):
        assert r[key]["accuracy"] == 1.0 and r[key]["wrong"] == []
    assert r["irm"]["completion"]["accuracy"] == 1.0 and r["irm"]["results"]["accuracy"] == 1.0
    assert r["actors"]["micro"] == {"tp": n_actors, "pred": n_actors, "gold": n_actors,
                                    "precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert r["actors"]["sector"]["accuracy"] == 1.0 and r["actors"]["role"]["accuracy"] == 1.0
    assert sum(sum(row.values()) for row in r["status"]["confusion"].values()) == n
    json.dumps(r)  # serialisable as is


@pytest.fixture(scope="module")
def perturbed(gold):
    pred = gold.model_copy(deep=True)
    c2, c3, c4, c6, c7, c8, c10 = (by_number(pred, n) for n in (2, 3, 4, 6, 7, 8, 10))
    dropped = c2.actors.pop()                                    # 1 missed actor
    c3.actors[3].name = c3.actors[3].name + "s"                  # one letter off: still matched
    c3.actors[0] = Actor(name="SEP", sector=c3.actors[0].sector)  # acronym only: matched by acronym
    renamed = c4.actors[0].name
    c4.actors[0].name = "Secretaría de Marina"                   # another body: 1 missed + 1 extra
    c6.status = "completo"                                     # gold: avance_limitado
    c7.number = "70"                                              # wrong number, same title
    c8.urls = [u.replace("https://tablero.", "HTTPS://TABLERO.") + "/" for u in c8.urls]  # same URL
    c10.urls = [c10.urls[0] + "-x"]                              # wrong URL
    c10.actors[1].sector = "academia" if c10.actors[1].sector != "academia" else "gobierno"
    c10.actors[2].role = "coadyuvante" if c10.actors[2].role != "coadyuvante" else "participante"
    c10.irm.results = "marginal" if c10.irm.results != "marginal" else "excepcional"
    pred.commitments = [c for c in pred.commitments if c.number != "13"]  # missing commitment
    pred.commitments.append(Commitment(                          # extra commitment, 2 actors
        number="99", title="Compromiso inventado de datos abiertos",
        actors=[Actor(name="Organización Inventada"), Actor(name="Otra Organización Inventada")]))
    return pred, dropped.name, renamed


def test_perturbed_copy_gives_exact_counts(gold, perturbed):
    pred, dropped, renamed = perturbed
    r = score_report(gold, pred)
    c = r["commitments"]
    assert (c["gold"], c["pred"], c["found"]) == (13, 13, 12)
    assert [m["number"] for m in c["missed"]] == ["13"]
    assert [e["number"] for e in c["extra"]] == ["99"]
    assert c["matched_by_title"] == [{"gold": "7", "pred": "70"}]

    assert r["status"]["correct"] == 11 and r["status"]["total"] == 12
    assert r["status"]["wrong"] == [{"number": "6", "gold": "limitado", "pred": "completo"}]
    assert r["status"]["confusion"]["limitado"] == {"limitado": 2, "completo": 1}

    assert r["urls"]["correct"] == 11
    [wrong_url] = r["urls"]["wrong"]
    assert wrong_url["number"] == "10" and len(wrong_url["missing"]) == 1 and wrong_url["extra"][0].endswith("-x")

    a = r["actors"]
    gold_matched = sum(len(x.actors) for x in gold.commitments if x.number != "13")
    assert a["micro"]["gold"] == gold_matched
    assert a["micro"]["pred"] == gold_matched - 1
    assert a["micro"]["tp"] == gold_matched - 2
    assert a["micro_all"]["gold"] == 109 and a["micro_all"]["pred"] == gold_matched - 1 + 2
    per = {e["number"]: e for e in a["per_commitment"]}
    assert [m["name"] for m in per["2"]["missed"]] == [dropped] and per["2"]["extra"] == []
    assert per["3"]["tp"] == per["3"]["gold"] and {"by": "acronym", "gold": "Secretaría de Educación Pública",
                                                 "pred": "SEP"} .items() <= per["3"]["pairs"][0].items()
    assert [m["name"] for m in per["4"]["missed"]] == [renamed]
    assert [e["name"] for e in per["4"]["extra"]] == ["Secretaría de Marina"]
    assert [(w["number"], w["gold_actor"]) for w in a["sector"]["wrong"]] == [("10", by_number(gold, 10).actors[1].name)]
    gold_role = by_number(gold, 10).actors[2].role
    assert [(w["number"], w["gold"]) for w in a["role"]["wrong"]] == [("10", gold_role)]
    assert a["role"]["wrong"][0]["pred"] != gold_role
    assert a["sector"]["total"] == gold_matched - 2

    assert [w["number"] for w in r["irm"]["results"]["wrong"]] == ["10"]
    assert r["irm"]["completion"]["accuracy"] == 1.0
    assert r["titles"]["at_or_above"] == 12


def test_actor_matching_is_one_to_one_and_rejects_truncated_names():
    gold = [Actor(name="Comisión Nacional del Agua"), Actor(name="Fundar, Centro de Análisis e Investigación, A.C.")]
    pred = [Actor(name="Fundar, Centro de Análisis e Investigación"),
            Actor(name="FUNDAR, Centro de Análisis e Investigación, A.C."),
            Actor(name="Comisión Nacional")]
    pairs, missed, extra = match_actors(gold, pred)
    assert [(i, j) for i, j, _, _ in pairs] == [(1, 1)]  # the exact form wins, the other is extra
    assert missed == [0] and extra == [0, 2]
    assert name_similarity("Comisión Nacional", "Comisión Nacional del Agua") < ACTOR_THRESHOLD
    assert name_similarity("Secretaría de Educación Pública", "Secretaría de la Función Pública") < ACTOR_THRESHOLD
    assert name_similarity("Transparencia Mexicana, A.C.", "Transparencia Mexicana") >= ACTOR_THRESHOLD


def test_url_normalization_keeps_the_path_case():
    assert normalize_url(" HTTPS://Tablero.Example.org/compromiso/Salud/ ") == "https://tablero.example.org/compromiso/Salud"
    assert normalize_url("https://x.org/a") != normalize_url("https://x.org/A")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_score_corpus_sums_reports_scores_text_and_lists_missing_predictions(tmp_path, gold):
    gold_root, pred_root = tmp_path / "gold", tmp_path / "pred"
    _write(gold_root / "a" / "commitments.json", GOLD.read_text(encoding="utf-8"))
    _write(gold_root / "a" / "text" / "001.txt", "La Secretaría de Salud publicó los datos abiertos.\nSegunda línea del texto.\n")
    _write(gold_root / "a" / "text" / "002.txt", "Otra página.\n")
    _write(gold_root / "a" / "text" / "001.footnotes.txt", "1 una nota\n")  # not a page
    other = gold.model_copy(update={"source_sha256": "0" * 64})  # gold of another file
    _write(gold_root / "b" / "commitments.json", other.model_dump_json())
    pred = gold.model_copy(deep=True)
    pred.commitments = pred.commitments[1:]
    _write(pred_root / "a" / "commitments.json", pred.model_dump_json())
    _write(pred_root / "a" / "text.txt",
           "La Secretaria de Salud publicó los dalos abiertos.\nSegunda línea del texto.\fOtra página.\nde más\n")
    _write(pred_root / "a" / "clean.txt",
           "La Secretaría de Salud publicó los datos abiertos.\nSegunda línea del texto.\fOtra página.\n")

    r = score_corpus(gold_root, pred_root)
    a, b = r["reports"]
    assert b == {"report": "b", "error": f"no prediction: {pred_root / 'b' / 'commitments.json'} does not exist"}
    assert r["overall"]["scored"] == 1 and r["overall"]["not_scored"] == ["b"]
    assert r["overall"]["commitments"]["missed"] == 1 and r["overall"]["commitments"]["found"] == 12
    text = a["text"]
    assert text["pages"] == 1 and text["per_page"][0]["page"] == 1
    assert [s["page"] for s in text["skipped"]] == [2]  # 3 raw lines, 2 clean lines: not paired
    assert text["counts"]["raw_word_errors"] == 2 and text["counts"]["rep_word_errors"] == 0
    assert text["repaired_wer"] == 0 and text["raw_wer"] == round(2 / 12, 4)
    assert r["overall"]["text"]["raw_wer"] == text["raw_wer"]
    json.dumps(r)


def test_gold_pairs_with_the_prediction_of_its_file_whatever_the_folder(tmp_path, gold):
    """Gold names its input by content (`source_sha256`): a report whose output folder is called
    otherwise (a renamed file, a name made unique in a batch) still pairs with its gold."""
    gold_root, pred_root = tmp_path / "gold", tmp_path / "pred"
    _write(gold_root / "seed" / "commitments.json", GOLD.read_text(encoding="utf-8"))
    _write(pred_root / "renamed-copy" / "commitments.json", gold.model_dump_json())
    _write(pred_root / "seed" / "commitments.json",
           gold.model_copy(update={"source_sha256": "f" * 64, "commitments": []}).model_dump_json())
    (entry,) = score_corpus(gold_root, pred_root)["reports"]
    assert entry["commitments"]["found"] == len(gold.commitments)


def test_score_corpus_names_an_unreadable_prediction(tmp_path):
    gold_root, pred_root = tmp_path / "gold", tmp_path / "pred"
    _write(gold_root / "a" / "commitments.json", GOLD.read_text(encoding="utf-8"))
    _write(pred_root / "a" / "commitments.json", "{not json")
    [entry] = score_corpus(gold_root, pred_root)["reports"]
    assert str(pred_root / "a" / "commitments.json") in entry["error"]
    with pytest.raises(ValueError, match="no \\*/commitments.json"):
        score_corpus(pred_root / "nothing", pred_root)


def test_numbering_that_is_off_by_one_pairs_by_title(gold):
    """Every commitment extracted right but numbered one higher: pairs by title, not number."""
    shifted = gold.model_copy(deep=True)
    for c in shifted.commitments:
        c.number = str(int(c.number) + 1)
    result = score_report(gold, shifted)
    assert result["commitments"]["found"] == len(gold.commitments)
    assert result["status"]["correct"] == len(gold.commitments)
    assert result["actors"]["micro_all"]["f1"] == 1.0
    assert len(result["commitments"]["matched_by_title"]) == len(gold.commitments)
    # a damaged title under the right number still pairs by number
    damaged = gold.model_copy(deep=True)
    damaged.commitments[0].title = damaged.commitments[0].title[:6] + " ,"
    assert score_report(gold, damaged)["commitments"]["matched_by_title"] == []


def test_gates_pass_fail_and_skip(tmp_path, gold):
    """Floors per report: one reached, one not, a missing figure, and an unscored report that
    fails only when required."""
    from pipeline import gates

    entry = score_report(gold, gold)
    result = {"reports": [entry, {"report": "absent", "error": "no prediction"}]}
    path = tmp_path / "gates.toml"
    path.write_text(f'[reports."{gold.report}"]\n"commitments.found" = 13\n"actors.micro_all.f1" = 1.01\n'
                    '"no.such" = 1\n[reports."absent"]\n"commitments.found" = 1\n', encoding="utf-8")
    checked = gates.check(result, gates.load(path))
    assert [line.split(" = ")[0] if " = " in line else line for line in checked.failures] == [
        f"{gold.report}: actors.micro_all.f1", f"{gold.report}: no.such: no such figure in the score"]
    path.write_text(path.read_text() + "required = true\n", encoding="utf-8")
    assert gates.check(result, gates.load(path)).failures[-1] == "absent: not scored (no prediction)"
    path.write_text("reports = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="gates.toml"):
        gates.load(path)
