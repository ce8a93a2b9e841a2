"""Commitment extraction (pipeline.extract): the seed report against its hand-built gold, a second
synthetic report written for these tests, and PDF versions of the seed rebuilt from the gold's
hand-corrected pages (scanned, text layer, poor OCR layer)."""
from __future__ import annotations

import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jsonschema
import pytest

from pipeline import ingest, process
from pipeline.extract import ACTOR_COLUMNS, COMMITMENT_COLUMNS, CONFIG, build_pipeline, commitments_to_csv_rows, extract_commitments
from pipeline.ingest import pdf
from pipeline.layout import analyse
from pipeline.models import CommitmentReport, Line
from pipeline.score import match_actors, match_commitments, name_similarity, score_report, title_similarity
from tests.conftest import SEED
from tests.fixtures import reports
from tests.fixtures.generate import ScanSettings, make_report_pdfs, read_text_pages

GOLD_DIR = Path("gold/000_5431f427d6bef971")
SCHEMA = Path("pipeline/schema/commitments.schema.json")


def extract_document(doc) -> CommitmentReport:
    return process.extract_document(doc, process.repair_document(doc))


def pairs(gold: CommitmentReport, pred: CommitmentReport):
    matched, _, _ = match_commitments(gold.commitments, pred.commitments)
    return [(gold.commitments[i], pred.commitments[j]) for i, j, _, _ in matched]


def actor_pairs(gold: CommitmentReport, pred: CommitmentReport):
    for g, p in pairs(gold, pred):
        found, _, _ = match_actors(g.actors, p.actors)
        for i, j, _, _ in found:
            yield g, g.actors[i], p.actors[j]


@pytest.fixture(scope="module")
def gold() -> CommitmentReport:
    return CommitmentReport.model_validate_json((GOLD_DIR / "commitments.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def seed_doc():
    return analyse(ingest.load(SEED))


@pytest.fixture(scope="module")
def seed(seed_doc) -> CommitmentReport:
    return extract_document(seed_doc)


@pytest.fixture(scope="module")
def seed_score(gold, seed) -> dict:
    return score_report(gold, seed)


# ------------------------------------------------------------------------------------- the seed
def test_seed_commitments_in_report_order(gold, seed):
    assert [c.number for c in seed.commitments] == [c.number for c in gold.commitments]


def test_seed_sections_statuses_and_status_pages(gold, seed):
    for g, p in pairs(gold, seed):
        assert (p.section, p.status, p.status_page) == (g.section, g.status, g.status_page), g.number
        assert title_similarity(p.status_text, g.status_text) >= 90, (g.number, p.status_text)


def test_seed_titles(gold, seed):
    for g, p in pairs(gold, seed):
        assert title_similarity(p.title, g.title) >= 90, (g.number, p.title, g.title)


def test_damaged_heading_title_comes_from_the_summary_table_with_a_flag(gold, seed):
    last_page = max(p for c in gold.commitments for p in c.pages) + 1  # the table follows the last section
    recovered = [g for g in gold.commitments if g.evidence["title"].page >= last_page]
    assert recovered, "the gold takes at least one title from the final table"
    by_number = {c.number: c for c in seed.commitments}
    for g in recovered:
        p = by_number[g.number]
        assert title_similarity(p.title, g.title) >= 95
        assert any("summary table" in f and "damaged" in f for f in p.flags), p.flags
        assert p.evidence["title"].line == g.evidence["title"].line
    kept = [c for c in seed.commitments if c.number not in {g.number for g in recovered}]
    assert not any("taken from the summary table" in f for c in kept for f in c.flags if "title" in f)


def test_seed_urls(gold, seed):
    for g, p in pairs(gold, seed):
        assert p.urls == g.urls, g.number


def test_seed_actors_f1_and_precision(seed_score):
    micro = seed_score["actors"]["micro"]
    assert micro["gold"] == 109
    assert micro["f1"] >= 0.95 and micro["precision"] >= 0.97, micro


def test_coordinated_lists_split_into_one_actor_per_item(gold, seed):
    """Every gold actor that the section names through a plural head (`las Secretarías de …, de …`,
    `las Comisiones Nacionales de …, del … y …`: two actors of one head noun on one line or the next)
    is found, unless the gold notes that the stamp hid its line."""
    stamped = {int(n) for g in gold.commitments for f in g.flags if "stamp" in f
               for n in re.findall(r"line (\d+)", f)}
    checked = 0
    for g, p in pairs(gold, seed):
        for a in g.actors:
            listed = a.name.startswith(("Secretaría de", "Secretaría del", "Comisión Nacional")) and any(
                b is not a and b.name.split()[0] == a.name.split()[0] and abs(b.evidence.line - a.evidence.line) <= 1
                for b in g.actors)
            if listed and a.evidence.line not in stamped:
                assert any(name_similarity(a.name, b.name) >= 90 for b in p.actors), (g.number, a.name)
                checked += 1
    assert checked >= 8


@pytest.mark.parametrize("sentence, expected", [
    ("con la participación de las Secretarías de Medio Ambiente y Recursos Naturales, de Agricultura y "
     "Desarrollo Rural, y otras instancias.",
     ["Secretaría de Medio Ambiente y Recursos Naturales", "Secretaría de Agricultura y Desarrollo Rural"]),
    ("con la participación de las Comisiones Nacionales de Acuacultura y Pesca, del Agua y Forestal; así "
     "como de otras instancias.",
     ["Comisión Nacional de Acuacultura y Pesca", "Comisión Nacional del Agua", "Comisión Nacional Forestal"]),
    ("Se sumaron al grupo de trabajo las Secretarías de Marina, Defensa Nacional y la Guardia Nacional.",
     ["Secretaría de Marina", "Secretaría de la Defensa Nacional", "Guardia Nacional"]),
])
def test_coordinated_list_in_a_minimal_report(sentence, expected):
    text = ["IV. Compromisos activos.", "", "Compromiso 21: Un compromiso de prueba", "", *_wrap(sentence, 40)]
    lines = [Line(text=t, page=1, line=n) for n, t in enumerate(text, 1)]
    report = extract_commitments(lines, "prueba")
    assert [a.name for a in report.commitments[0].actors] == expected


def _wrap(text: str, width: int) -> list[str]:
    out, cur = [], ""
    for word in text.split():
        if cur and len(cur) + len(word) + 1 > width:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}".strip()
    return out + [cur]


def test_acronyms_linked_both_ways(gold, seed):
    """`Secretaría de la Función Pública (SFP)` in one place and a bare `SFP` in another name the same
    actor: every matched actor carries the gold's acronym and full name."""
    checked = 0
    for g, ga, pa in actor_pairs(gold, seed):
        assert pa.acronym == ga.acronym, (g.number, ga.name, pa.acronym)
        if ga.acronym:
            assert name_similarity(pa.name, ga.name) >= 90, (g.number, pa.name, ga.name)
            checked += 1
    assert checked >= sum(1 for c in gold.commitments for a in c.actors if a.acronym) - 2


def test_roles_and_sectors(seed_score, gold, seed):
    assert seed_score["actors"]["role"]["accuracy"] >= 0.97, seed_score["actors"]["role"]["wrong"]
    assert seed_score["actors"]["sector"]["accuracy"] >= 0.97, seed_score["actors"]["sector"]["wrong"]
    printed_roles = [(g.number, ga.name, ga.role, pa.role) for g, ga, pa in actor_pairs(gold, seed)
                     if ga.role != "participante"]
    assert len(printed_roles) >= 30
    assert sum(gr == pr for _, _, gr, pr in printed_roles) >= len(printed_roles) - 2, printed_roles


def test_evaluators_and_forums_are_not_actors(seed):
    names = [a.name for c in seed.commitments for a in c.actors]
    for outsider in ("Mecanismo de Revisión Independiente", "Alianza para el Gobierno Abierto", "Comité Coordinador",
                     "Grupo de Acción Financiera", "Fiscalía General de la República"):
        assert not any(name_similarity(outsider, n) >= 90 for n in names), outsider


def test_seed_irm_levels_and_evidence(seed_score, gold, seed):
    assert seed_score["irm"]["completion"]["accuracy"] == 1.0, seed_score["irm"]["completion"]["wrong"]
    assert seed_score["irm"]["results"]["accuracy"] == 1.0, seed_score["irm"]["results"]["wrong"]
    for g, p in pairs(gold, seed):
        assert (p.irm is None) == (g.irm is None), g.number
        if p.irm:
            assert "IRM" in p.irm.text and p.irm.evidence.page in p.pages
        assert p.pages == g.pages, g.number
        for actor in p.actors:
            assert actor.evidence and actor.evidence.page in p.pages


def test_seed_reasons_and_next_steps(gold, seed):
    for g, p in pairs(gold, seed):
        assert len(p.reasons) == len(g.reasons), (g.number, p.reasons)
        assert len(p.next_steps) == len(g.next_steps), (g.number, p.next_steps)
        for pr, gr in zip(p.reasons + p.next_steps, g.reasons + g.next_steps):
            assert title_similarity(pr, gr) >= 80, (g.number, pr, gr)


def test_front_matter_names_country_and_plan(seed, seed_doc):
    front = seed_doc.pages[0].body_text()
    assert seed.country and seed.country in front
    assert seed.plan and "Plan de Acción" in seed.plan and re.search(r"\b20\d\d-20\d\d\b", seed.plan)


# ---------------------------------------------------------------------- a second, different report
@pytest.fixture(scope="module")
def second(tmp_path_factory) -> CommitmentReport:
    path = reports.write(tmp_path_factory.mktemp("second"))
    return extract_document(analyse(ingest.load(path)))


def test_second_report_extracted_right(second):
    expected = reports.EXPECTED
    score = score_report(expected, second)
    assert [c.number for c in second.commitments] == [c.number for c in expected.commitments]
    assert (second.country, second.plan) == (expected.country, expected.plan)
    for e, p in pairs(expected, second):
        assert (p.section, p.status, p.status_text, p.status_page) == (e.section, e.status, e.status_text, e.status_page)
        assert title_similarity(p.title, e.title) >= 95, (p.title, e.title)
        assert p.urls == e.urls, e.number
        assert (p.irm.completion if p.irm else None, p.irm.results if p.irm else None) == \
               (e.irm.completion if e.irm else None, e.irm.results if e.irm else None)
        assert [title_similarity(a, b) >= 90 for a, b in zip(p.reasons + p.next_steps, e.reasons + e.next_steps)] == \
               [True] * len(e.reasons + e.next_steps)
    assert score["actors"]["micro"]["f1"] == 1.0, score["actors"]["per_commitment"]
    assert score["actors"]["role"]["accuracy"] == 1.0, score["actors"]["role"]["wrong"]
    assert score["actors"]["sector"]["accuracy"] == 1.0, score["actors"]["sector"]["wrong"]
    for _, ea, pa in actor_pairs(expected, second):
        assert pa.acronym == ea.acronym, (ea.name, pa.acronym)


def test_second_report_missing_status_and_damaged_title(second):
    by_number = {c.number: c for c in second.commitments}
    no_status = [c for c in reports.EXPECTED.commitments if c.status is None]
    assert no_status and all(by_number[c.number].status is None for c in no_status)
    flagged = [c for c in second.commitments if any("summary table" in f and "damaged" in f for f in c.flags)]
    assert [c.number for c in flagged] == ["17"]


# ------------------------------------------------------------------------------- outputs and config
def test_csv_rows(seed):
    commitments, actors = commitments_to_csv_rows(seed)
    assert len(commitments) == len(seed.commitments)
    assert all(list(row) == COMMITMENT_COLUMNS for row in commitments)
    assert all(list(row) == ACTOR_COLUMNS for row in actors)
    assert [row["n_actors"] for row in commitments] == [len(c.actors) for c in seed.commitments]
    assert len(actors) == sum(len(c.actors) for c in seed.commitments)
    assert all(row["report"] == seed.report and row["page"] for row in actors)
    assert commitments[0]["urls"] == " ".join(seed.commitments[0].urls)


def test_schema_file_is_the_models_schema_and_outputs_validate(seed, second):
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert committed == CommitmentReport.model_json_schema(), (
        "regenerate: python -c \"import json; from pipeline.models import CommitmentReport as C; "
        "print(json.dumps(C.model_json_schema(), indent=2, ensure_ascii=False))\" > " + str(SCHEMA))
    for report in (seed, second):
        jsonschema.validate(json.loads(report.model_dump_json()), committed)


def test_pipeline_is_built_once_from_its_config():
    nlp = build_pipeline()
    assert build_pipeline() is nlp
    assert nlp.lang == "es" and not any(name in nlp.pipe_names for name in ("tagger", "parser", "ner"))
    configured = re.search(r"pipeline = \[(.*?)\]", CONFIG.read_text()).group(1)
    assert nlp.pipe_names == re.findall(r'"(\w+)"', configured)


# ------------------------------------------------------------------------------- PDF versions
@pytest.fixture(scope="session")
def pdf_reports(gold_page_pdfs) -> dict[str, CommitmentReport]:
    """The commitments of each PDF version of the gold pages (conftest.gold_page_pdfs)."""
    return {name: extract_document(doc) for name, (_, doc) in gold_page_pdfs.items()}


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["scanned", "text-layer", "poor-layer"])
def test_pdf_versions_score_like_the_text(variant, pdf_reports, gold, seed_score):
    score = score_report(gold, pdf_reports[variant])
    assert score["commitments"]["found"] == len(gold.commitments)
    assert score["titles"]["at_or_above"] == len(gold.commitments), score["titles"]["below"]
    assert score["actors"]["micro"]["f1"] >= seed_score["actors"]["micro"]["f1"] - 0.03, score["actors"]["micro"]
    assert score["status"]["correct"] == len(gold.commitments), score["status"]["wrong"]
    assert score["urls"]["correct"] == len(gold.commitments), score["urls"]["wrong"]


@pytest.mark.parametrize("dpi, settings", [
    (200, ScanSettings(tilt=0.8, blur=0.7, noise=0.10, jpeg=60)),
    pytest.param(300, ScanSettings(tilt=1.0, blur=0.8, noise=0.10, jpeg=70), marks=pytest.mark.slow),
], ids=["200dpi-jpeg60", "300dpi-tilt1-jpeg70"])
def test_scans_made_otherwise_score_like_the_text(dpi, settings, gold, seed_score, tmp_path):
    """The gold pages scanned with settings the other tests do not use (more tilt, blur and noise,
    JPEG, 200 and 300 dpi) read as well as the text."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    path = make_report_pdfs(tmp_path, read_text_pages(GOLD_DIR / "text"), dpi=dpi, seed=5,
                            settings=settings)["scanned"]
    plans = pdf.plan_pages(path)
    with ProcessPoolExecutor(2) as pool:
        pages = list(pool.map(_read_page_at, [(path, p, dpi) for p in plans]))
    score = score_report(gold, extract_document(analyse(ingest.assemble_pdf(path, pdf.sha256_file(path), pages))))
    assert score["commitments"]["found"] == len(gold.commitments)
    assert score["titles"]["at_or_above"] == len(gold.commitments), score["titles"]["below"]
    assert score["status"]["correct"] == len(gold.commitments), score["status"]["wrong"]
    assert score["urls"]["correct"] == len(gold.commitments), score["urls"]["wrong"]
    assert score["actors"]["micro"]["f1"] >= 0.95, score["actors"]["micro"]


def _read_page_at(args):
    path, plan, dpi = args
    return ingest.read_page(path, plan, dpi=dpi)


def test_no_commitment_heading_no_commitments():
    assert extract_commitments([], "vacío").commitments == []
    lines = [Line(text=t, page=1, line=n) for n, t in enumerate(["Introducción", "", "Un texto sin compromisos."], 1)]
    assert extract_commitments(lines, "sin-compromisos").commitments == []


def test_matches_from_given_starts_are_the_full_runs_matches_at_them():
    """`matches_from` runs the Matcher only from the given tokens: the same matches as the run
    over the whole Doc that begin there, punctuation between a pattern's words included."""
    import spacy
    from spacy.matcher import Matcher

    from pipeline.extract.state import matches_from

    nlp = spacy.blank("es")
    matcher = Matcher(nlp.vocab)
    matcher.add("A", [[{"ORTH": "¿", "OP": "?"}, {"LOWER": "quién"}, {"IS_PUNCT": True, "OP": "*"},
                       {"LOWER": "ejecuta"}]])
    matcher.add("B", [[{"LOWER": "entidad"}, {"IS_PUNCT": True, "OP": "*"}, {"LOWER": "responsable"}]])
    doc = nlp("¿ Quién , - ejecuta ? la entidad responsable y Entidad ( : responsable otra entidad responsable")
    starts = [0, 1, 7, 10]
    expected = sorted(m for m in matcher(doc) if m[1] in starts)
    assert sorted(matches_from(matcher, doc, starts, words=2)) == expected
    assert {(doc.vocab.strings[m], s) for m, s, _ in expected} == {("A", 0), ("A", 1), ("B", 7), ("B", 10)}
