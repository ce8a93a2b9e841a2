"""The corpus-wide catalog: built from a small outputs tree, it answers the archivists' question
"which commitments did SEDENA take part in, in which plans, with what status" with one query."""
import csv
import json
import re
import sqlite3

import pytest

from pipeline import catalog
from pipeline.catalog import build_catalog, key
from pipeline.models import Actor, Commitment, CommitmentReport, Correction

# the query of pipeline/catalog.py's docstring, read from it: the documented query is the tested one
ACTOR_QUERY = re.search(r"^ *SELECT DISTINCT.*?ORDER BY[^\n]*", catalog.__doc__, re.S | re.M).group(0)


def _write_report(out, report: CommitmentReport, corrections: list[Correction]) -> None:
    folder = out / report.report
    folder.mkdir(parents=True)
    (folder / "commitments.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    (folder / "corrections.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in corrections),
                                              encoding="utf-8")


@pytest.fixture()
def outputs(tmp_path):
    out = tmp_path / "outputs"
    out.mkdir()
    fourth = CommitmentReport(report="mx-4", country="México", plan="Cuarto Plan de Acción 2019-2021", commitments=[
        Commitment(number="1", title="Transparencia en el uso de la fuerza", status="limitado", actors=[
            Actor(name="Secretaría de la Defensa Nacional", acronym="SEDENA", role="responsable"),
            Actor(name="Secretaría de Marina", acronym="SEMAR"),
        ]),
        Commitment(number="2", title="Derechos digitales", status="completo", actors=[
            # "Defensa" without "Nacional": must not answer a question about the Defensa Nacional
            Actor(name="Red en Defensa de los Derechos Digitales", acronym="R3D", sector="sociedad_civil"),
        ]),
        Commitment(number="3", title="Controles de confianza", status="no_iniciado", actors=[
            Actor(name="SECRETARIA DE LA DEFENSA NACIONAL", role="corresponsable"),  # no acronym given
        ]),
    ])
    fifth = CommitmentReport(report="mx-5", country="México", plan="Quinto Plan de Acción 2021-2024", commitments=[
        Commitment(number="7", title="Registro de personas desaparecidas", status="completo", actors=[
            Actor(name="Secretaría de la Defensa Nacional (Sedena)"),  # the acronym only inside the name
            Actor(name="Fiscalía General de la República", acronym="FGR"),
        ]),
        Commitment(number="8", title="Sin actores de defensa", status="inactivo", actors=[
            Actor(name="Secretaría de Economía", acronym="SE"),
        ]),
    ])
    fix = Correction(page=1, line=3, offset=0, original="Ia", replacement="la", rule="confusion", confidence=0.9)
    _write_report(out, fourth, [fix, fix.model_copy(update={"line": 4, "applied": False})])
    _write_report(out, fifth, [fix])
    summary = [
        {"report": "mx-4", "file": "in/mx-4.pdf", "ok": True, "source": "ocr", "pages": 20, "ocr_pages": 20},
        {"report": "mx-5", "file": "in/mx-5.txt", "ok": True, "source": "text-file", "pages": 30},
        {"report": "broken", "file": "in/broken.pdf", "ok": False,
         "error": {"file": "in/broken.pdf", "page": None, "error": "UnreadablePdf", "problem": "truncated"}},
    ]
    (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return out


def _ask(db_path, acronym: str | None = None, name: str | None = None) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(ACTOR_QUERY, {"acronym": key(acronym) or None, "name": key(name) or None}).fetchall()


def test_one_query_answers_which_commitments_an_actor_took_part_in(outputs):
    result = build_catalog(outputs)
    assert result["sqlite"] == outputs / "catalog.sqlite" and result["csv"] == outputs / "catalog.csv"
    expected = [
        ("México", "Cuarto Plan de Acción 2019-2021", "mx-4", "1", "Transparencia en el uso de la fuerza",
         "limitado", "responsable"),
        ("México", "Cuarto Plan de Acción 2019-2021", "mx-4", "3", "Controles de confianza", "no_iniciado",
         "corresponsable"),
        ("México", "Quinto Plan de Acción 2021-2024", "mx-5", "7", "Registro de personas desaparecidas",
         "completo", "participante"),
    ]
    assert _ask(result["sqlite"], acronym="SEDENA", name="Defensa Nacional") == expected
    # by acronym alone: the given acronym, or the acronym written inside the name
    assert [row[3] for row in _ask(result["sqlite"], acronym="Sedena", name="sedena")] == ["1", "7"]
    # by name alone, whatever the case and accents
    assert [row[3] for row in _ask(result["sqlite"], name="SECRETARÍA DE LA DEFENSA NACIONAL")] == ["1", "3", "7"]
    # a short acronym matches whole words only, not every name containing the letters "se"
    assert [row[3] for row in _ask(result["sqlite"], acronym="SE", name="SE")] == ["8"]


def test_tables_csv_and_counts(outputs):
    result = build_catalog(outputs)
    assert {k: result[k] for k in ("reports", "commitments", "actors", "corrections")} == {
        "reports": 3, "commitments": 5, "actors": 7, "corrections": 3,
    }
    with sqlite3.connect(result["sqlite"]) as db:
        reports = {r[0]: r for r in db.execute("SELECT report, ok, error, country, commitments, corrections FROM reports")}
        assert reports["mx-4"][1:] == (1, None, "México", 3, 2)
        assert reports["broken"][1] == 0 and json.loads(reports["broken"][2])["error"] == "UnreadablePdf"
        assert reports["broken"][4] is None  # no outputs, so no counts
        assert db.execute("SELECT count(*) FROM corrections WHERE applied = 0").fetchone() == (1,)
    with open(result["csv"], encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["report"], r["commitment"]) for r in rows] == [
        ("mx-4", "1"), ("mx-4", "2"), ("mx-4", "3"), ("mx-5", "7"), ("mx-5", "8")]
    assert rows[0]["actors"] == "Secretaría de la Defensa Nacional (SEDENA) [responsable]; Secretaría de Marina (SEMAR) [participante]"
    assert rows[0]["plan"] == "Cuarto Plan de Acción 2019-2021" and rows[0]["status"] == "limitado"


def test_rebuild_replaces_the_catalog_and_leaves_no_temp_files(outputs):
    import shutil

    build_catalog(outputs)
    shutil.rmtree(outputs / "mx-5")
    (outputs / ".cache").mkdir()  # the task cache is not a report
    (outputs / ".cache" / "x").write_text("{}")
    result = build_catalog(outputs)
    assert result["commitments"] == 3
    with sqlite3.connect(result["sqlite"]) as db:
        assert db.execute("SELECT count(*) FROM commitments WHERE report = 'mx-5'").fetchone() == (0,)
        # still in the latest run's summary, so still listed, without outputs
        assert db.execute("SELECT ok, commitments FROM reports WHERE report = 'mx-5'").fetchone() == (1, None)
    assert not list(outputs.rglob("*.tmp"))


def test_a_damaged_output_is_named(outputs):
    (outputs / "mx-5" / "corrections.jsonl").write_text('{"page": 1}\n', encoding="utf-8")
    with pytest.raises(catalog.CatalogError, match=r"mx-5/corrections.jsonl, line 1"):
        build_catalog(outputs)
    assert not (outputs / "catalog.sqlite").exists() and not list(outputs.rglob("*.tmp"))


def test_key_folds_case_accents_and_punctuation():
    assert key("Secretaría de la Defensa Nacional (SEDENA)") == "secretaria de la defensa nacional sedena"
    assert key(None) == ""
