"""The organisations gazetteer is built from independent sources, and the actor rules read
organisations it does not know (other countries' bodies, a report's own acronyms)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pipeline.evaluate_loo import leave_own_out, own_rows
from pipeline.extract import build_pipeline, extract_commitments, load_pipeline
from pipeline.extract.gazetteer import DATA, Gazetteer
from pipeline.extract.text import fold
from pipeline.models import Line
from pipeline.score import load_report, name_similarity

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "gold" / "000_5431f427d6bef971"
SEED = ROOT / "corpus" / "000_5431f427d6bef971.txt"


def _build_script():
    spec = importlib.util.spec_from_file_location("build_gazetteer", ROOT / "scripts" / "build_gazetteer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _actors(sentences: list[str]):
    text = ["IV. Compromisos activos.", "", "Compromiso 21: Un compromiso de prueba", "", *sentences]
    report = extract_commitments([Line(text=t, page=1, line=n) for n, t in enumerate(text, 1)], "prueba")
    return report.commitments[0].actors


def test_every_gazetteer_row_cites_a_source():
    gaz = Gazetteer.load(DATA / "organizations.tsv")
    assert len(gaz.orgs) > 300
    assert all(org.source and org.source != "-" for org in gaz.orgs)
    irm = [org for org in gaz.orgs if "ogp-irm-data:" in org.source]
    assert len(irm) > 200 and any("ogp-irm-data:Uruguay" in org.source for org in irm)


def test_a_row_without_a_source_is_refused(tmp_path):
    path = tmp_path / "orgs.tsv"
    path.write_text("Secretaría de Marina\tSEMAR\tgobierno\tactor\t-\t-\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cites no source"):
        Gazetteer.load(path)


def test_gazetteer_file_is_what_the_build_script_makes():
    script = _build_script()
    if not script.IRM.exists():
        pytest.skip(f"the IRM data is not here: {script.IRM}")
    assert (DATA / "organizations.tsv").read_text(encoding="utf-8") == script.build(script.IRM)


@pytest.mark.parametrize("cell, expected", [
    ("Secretaría de Energía y PEMEX", ["Secretaría de Energía", "PEMEX"]),
    ("Secretaría de<br/>Hacienda y Crédito<br/>Público", ["Secretaría de Hacienda y Crédito Público"]),
    ("Responsable:<br/>IMCO<br/>Corresponsable<br/>s: CIDAC e IMCO<br/>", ["IMCO", "CIDAC", "IMCO"]),
    ("Ministerio de Agricultura, Alimentación y Medio Ambiente", ["Ministerio de Agricultura, Alimentación y Medio Ambiente"]),
    ("Fundar: Centro de Análisis e Investigación", ["Fundar, Centro de Análisis e Investigación"]),
])
def test_irm_cells_are_cut_into_institutions(cell, expected):
    script = _build_script()
    assert script.Cutter(script.load_heads(DATA / "heads.tsv")).cut(cell) == expected


def test_exclude_leaves_rows_out_of_the_pipeline_only():
    nlp = load_pipeline({"components.ogp_orgs.exclude": ["Secretaría de Marina"]})
    gaz = nlp.get_pipe("ogp_orgs").gaz
    assert "secretaria de marina" not in gaz.by_form and "semar" not in gaz.by_acronym
    assert "secretaria de marina" in build_pipeline().get_pipe("ogp_orgs").gaz.by_form


def test_own_rows_are_the_gold_actors_rows():
    gold = load_report(GOLD / "commitments.json")
    rows = own_rows(Gazetteer.load(DATA / "organizations.tsv"), gold)
    names = {fold(org.name) for org in rows}
    assert "secretaria de la funcion publica" in names and "transparencia mexicana" in names
    assert "ministerio de salud" not in names
    actors = [a.name for c in gold.commitments for a in c.actors]
    assert all(any(name_similarity(a, f) >= 90 for a in actors for f in (org.name, *org.aliases))
               or org.acronym for org in rows)


def test_seed_with_its_own_organisations_left_out():
    result = leave_own_out(GOLD, SEED)
    assert len(result["left_out"]) >= 25
    assert result["actors"]["f1"] >= 0.90, result["actors"]


def test_other_countries_bodies_read_from_head_nouns_and_acronyms():
    names = ["Ministerio de Telecomunicaciones y de la Sociedad de la Información", "Secretaría Técnica Planifica Ecuador",
             "Servicio Nacional de Contratación Pública", "Red Ecuatoriana de Datos Abiertos y Metadatos",
             "Fundación Ciudadanía y Desarrollo"]
    gaz = build_pipeline().get_pipe("ogp_orgs").gaz
    assert not any(fold(n) in gaz.by_form for n in names)  # read by the rules, not listed
    actors = _actors([
        "El compromiso estuvo a cargo del Ministerio de Telecomunicaciones y de la Sociedad de la Información.",
        "Participaron la Secretaría Técnica Planifica Ecuador, el Servicio Nacional de Contratación Pública, la Red "
        "Ecuatoriana de Datos Abiertos y Metadatos (REDAM) y la Fundación Ciudadanía y Desarrollo.",
    ])
    assert [(a.name, a.sector) for a in actors] == [
        (names[0], "gobierno"), (names[1], "gobierno"), (names[2], "gobierno"), (names[3], "sociedad_civil"),
        (names[4], "sociedad_civil")]
    assert actors[3].acronym == "REDAM"
    assert actors[0].role == "responsable"


@pytest.mark.parametrize("sentences, expected", [
    (["Participaron el Núcleo de Organizaciones Ciudadanas por la Apertura (NOCA) y el INAI.", "El NOCA presentó."],
     [("Núcleo de Organizaciones Ciudadanas por la Apertura", "NOCA", "sociedad_civil"),
      ("Instituto Nacional de Transparencia, Acceso a la Información y Protección de Datos Personales", "INAI",
       "organismo_autonomo")]),
    (["Con el acompañamiento de Datos Libres Andinos, Ojo Cívico Sur y la Guardia Costera Austral."],
     [("Datos Libres Andinos", None, None), ("Ojo Cívico Sur", None, None), ("Guardia Costera Austral", None, None)]),
    (["Participaron las organizaciones de la sociedad civil Transparencia Austral, Cuentas Claras del Sur y la "
      "Comisión Andina de Defensa y Promoción de los Derechos Humanos."],
     [("Transparencia Austral", None, "sociedad_civil"), ("Cuentas Claras del Sur", None, "sociedad_civil"),
      ("Comisión Andina de Defensa y Promoción de los Derechos Humanos", None, "sociedad_civil")]),
    (["Colaboraron la Agencia de Vivienda, Suelo y Territorio del Sur y la Contraloría Ciudadana de Lima."],
     [("Agencia de Vivienda, Suelo y Territorio del Sur", None, "gobierno"),
      ("Contraloría Ciudadana de Lima", None, "sociedad_civil")]),
])
def test_organisations_the_gazetteer_does_not_know(sentences, expected):
    actors = _actors(sentences)
    assert [(a.name, a.acronym) for a in actors] == [(name, acronym) for name, acronym, _ in expected]
    for actor, (_, _, sector) in zip(actors, expected):
        if sector is not None:  # None: the report gives no sign of it
            assert actor.sector == sector, actor.name
