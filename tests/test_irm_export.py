"""irm.csv: our commitments in the OGP IRM data's own columns."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipeline.irm_export import columns, rows
from pipeline.score import load_report

OGP = Path(__file__).resolve().parents[2] / "shared" / "reports" / "ogp-irm-data-2011-2015" / "ogpirm_live_data.csv"


def test_columns_are_the_ogp_files_header():
    if not OGP.exists():
        pytest.skip(f"{OGP} is absent (development material in ../shared/reports)")
    with OGP.open(encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader)  # a row of column numbers
        assert columns() == next(reader)


def test_the_seed_in_the_ogp_columns():
    from pipeline import process

    doc = process.read_report("corpus/000_5431f427d6bef971.txt")
    seed = process.extract_document(doc, process.repair_document(doc))
    header, table = rows([seed])
    assert len(header) == 108 and len(table) == 13 and all(len(r) == len(header) for r in table)
    by_col = [dict(zip(header, r)) for r in table]
    assert [(r["Comm No"], r["Commitment Title"]) for r in by_col] == [(c.number, c.title) for c in seed.commitments]
    expected = {"completo": "d. Complete", "limitado": "b. Limited", "inactivo": ""}
    assert [r["Completion (end of term)"] for r in by_col] == [expected[c.status] for c in seed.commitments]
    assert all(r["Country"] == "México" for r in by_col)
    assert sum(bool(r["Supporting Institution(s)"]) for r in by_col) >= 10


def test_the_catalog_writes_irm_csv_for_the_runs_reports(tmp_path):
    import json

    from pipeline.catalog import build_catalog

    seed = load_report(Path("gold/000_5431f427d6bef971/commitments.json"))
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / "commitments.json").write_text(seed.model_dump_json(), encoding="utf-8")
    (tmp_path / "summary.json").write_text(json.dumps([{"report": "seed", "file": "seed.txt", "ok": True}]))
    build_catalog(tmp_path)
    with (tmp_path / "irm.csv").open(encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == columns() and len(table) == 1 + len(seed.commitments)
    assert [r[columns().index("Commitment Title")] for r in table[1:]] == [c.title for c in seed.commitments]
