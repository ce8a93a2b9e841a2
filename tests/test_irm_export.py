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
