import json
import re
from pathlib import Path

import pytest

from pipeline.errors import EmptyInput
from pipeline.ingest import load
from pipeline.layout import analyse
from pipeline.models import LineRole
from tests.conftest import SEED

GOLD_PAGES = Path("gold/000_5431f427d6bef971/pages.json")


@pytest.fixture(scope="module")
def seed():
    return analyse(load(SEED))


def test_seed_pages_are_inferred_as_the_annotator_read_them(seed):
    gold = json.loads(GOLD_PAGES.read_text())["pages"]
    assert len(seed.pages) == len(gold)
    starts = [p.lines[0].line for p in seed.pages]
    agree = sum(a == g["first_line"] for a, g in zip(starts, gold))
    assert agree >= len(gold) - 2


def test_seed_commitment_headings_in_order(seed):
    text = seed.body_text().replace("\f", "\n")
    numbers = [int(n) for n in re.findall(r"^\s*Compromiso (\d+):", text, flags=re.M)]
    assert sorted(set(numbers)) == list(range(1, 14))
    # the report presents active commitments first, then the inactive ones (1, 5, 9)
    assert numbers == [2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 1, 5, 9]


def test_seed_footer_is_removed_and_footnotes_kept(seed):
    body = seed.body_text()
    assert "Guadalupe Inn" not in body
    footers = [ln for p in seed.pages for ln in p.lines if ln.role == LineRole.FOOTER]
    assert len(footers) >= 10
    notes = {f.number: f for f in seed.footnotes()}
    assert "IRM" in notes["1"].text and notes["1"].page == 1
    assert "Consultable" in notes["2"].text
    assert "El IRM evalla si los paises" not in body


def test_every_line_keeps_its_source_line_number(seed):
    raw = Path(SEED).read_text(encoding="utf-8").split("\n")
    for page in seed.pages:
        for ln in page.lines:
            assert raw[ln.line - 1] == ln.text


def test_form_feeds_split_pages(tmp_path):
    f = tmp_path / "r.txt"
    f.write_text("uno\ndos\n\ftres\n\fcuatro\n", encoding="utf-8")
    doc = load(f)
    assert [p.body_text().strip() for p in doc.pages] == ["uno\ndos", "tres", "cuatro"]
    assert [ln.line for ln in doc.pages[1].lines if ln.text] == [3]


def test_pages_inferred_from_a_recurring_footer_without_chunk_marks(tmp_path):
    body = "El compromiso avanzó con la participación de la sociedad civil.\n" * 6
    pages = [f"{body}Av. Reforma 100, Ciudad de México. Tel: 55 1234 5678 página {n}\n" for n in range(1, 6)]
    f = tmp_path / "r.txt"
    f.write_text("".join(pages), encoding="utf-8")
    doc = analyse(load(f))
    assert len(doc.pages) == 5
    assert all("Reforma" not in p.body_text() for p in doc.pages)


def test_empty_text_file_is_named(tmp_path):
    f = tmp_path / "vacio.txt"
    f.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(EmptyInput, match="vacio.txt"):
        load(f)


def test_a_footnote_does_not_swallow_the_next_columns_paragraph(seed):
    """After a footnote, stamp fragments and then a whole paragraph of the next column follow in
    the dump: the paragraph stays in the body (nothing silently lost)."""
    body = seed.body_text()
    assert "CartoCritica, Causa Natura, Reforestamos" in body
    assert "Transparencia Mexicana solicitd la opinidn" in body
    notes = " ".join(f.text for f in seed.footnotes())
    assert "Reforestamos" not in notes
