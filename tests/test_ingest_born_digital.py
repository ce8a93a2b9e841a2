"""Born-digital PDFs read through pypdfium2: fonts, one parse per page, soft hyphens, ruled tables."""
from pathlib import Path

import pdfplumber
import pytest

from pipeline.ingest import load, pdf
from pipeline.layout import analyse
from pipeline.models import SourceKind

REPORTS = Path(__file__).resolve().parents[2] / "shared" / "reports"
EC_PLAN = REPORTS / "ec-plan-2019-2022" / "plan.pdf"
REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared development reports are not on this machine)")
    return path


def _label_value_table(path: Path) -> None:
    """A ruled two-column table: bold labels over two or three lines on the left, their values
    on the right, each row's value vertically centred; the rows' borders drawn cell by cell."""
    from fpdf import FPDF

    doc = FPDF(unit="pt", format="A4")
    doc.add_font("Sans", fname=REGULAR)
    doc.add_font("Sans", style="B", fname=BOLD)
    doc.add_page()
    rows = [
        (["Institución o actor", "responsable de la", "implementación"], ["Secretaría de Planificación"]),
        (["¿Qué problema", "se aborda?"],
         ["Los datos publicados no son reutilizables", "ni se actualizan con regularidad"]),
        (["Objetivo"], ["Publicar los datos en formatos abiertos"]),
    ]
    top = 100.0
    for labels, values in rows:
        height = 14 * max(len(labels), len(values)) + 12
        doc.rect(60, top, 140, height)
        doc.rect(200, top, 330, height)
        doc.set_font("Sans", style="B", size=10)
        for i, text in enumerate(labels):
            doc.text(66, top + 16 + 14 * i, text)
        doc.set_font("Sans", size=10)
        offset = (height - 14 * len(values)) / 2
        for i, text in enumerate(values):
            doc.text(206, top + offset + 10 + 14 * i, text)
        top += height
    doc.output(str(path))


def test_words_and_lines_carry_font_size_and_weight(sample_pdfs, tmp_path):
    folder, _, _ = sample_pdfs
    doc = analyse(load(folder / "text-layer.pdf"))
    body = [ln for ln in doc.pages[0].lines if ln.role.value == "body"]
    assert {ln.font_size for ln in body} == {10.5}
    assert {w.font_size for ln in body for w in ln.words} == {10.5}  # the first word of a font too
    assert {round(f.page) for f in doc.footnotes()} == {1, 2}
    notes = [ln for ln in doc.pages[0].lines if ln.role.value == "footnote"]
    assert notes and {ln.font_size for ln in notes} == {8.0}
    assert all(w.bold is False and w.font and "DejaVu" in w.font for ln in body for w in ln.words)
    table = tmp_path / "table.pdf"
    _label_value_table(table)
    lines = load(table).pages[0].lines
    bold = {ln.text: ln.bold for ln in lines}
    assert bold["Institución o actor"] is True and bold["Secretaría de Planificación"] is False


def test_each_page_is_parsed_once_and_pdfplumber_reads_no_text(sample_pdfs, monkeypatch):
    """... and a born-digital page without pictures costs no OCR."""
    folder, truth, _ = sample_pdfs
    calls = []
    read_layer = pdf._read_layer
    monkeypatch.setattr(pdf, "_read_layer", lambda page: calls.append(1) or read_layer(page))

    def no_pdfplumber(*args, **kwargs):
        raise AssertionError("pdfplumber parsed the PDF")

    def no_ocr(*args, **kwargs):
        raise AssertionError("Tesseract ran")

    monkeypatch.setattr(pdfplumber, "open", no_pdfplumber)
    monkeypatch.setattr(pdf, "_tesseract_rows", no_ocr)
    doc = load(folder / "text-layer.pdf")
    assert len(calls) == len(doc.pages) == 2
    assert all(p.source == SourceKind.TEXT_LAYER for p in doc.pages)


def test_a_ruled_label_beside_its_value_is_read_label_then_value(tmp_path):
    path = tmp_path / "table.pdf"
    _label_value_table(path)
    texts = [ln.text for ln in load(path).pages[0].lines]
    assert texts == [
        "Institución o actor", "responsable de la", "implementación", "Secretaría de Planificación",
        "¿Qué problema", "se aborda?",
        "Los datos publicados no son reutilizables", "ni se actualizan con regularidad",
        "Objetivo", "Publicar los datos en formatos abiertos",
    ]


@pytest.fixture(scope="module")
def ec_plan():
    """The plan's text-layer pages, without their pictures' OCR (these tests are about the text
    layer; the pages planned for OCR are left out)."""
    plans = pdf.plan_pages(_need(EC_PLAN))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "text_images", lambda layer: [])
        return [pdf.read_text_layer_page(EC_PLAN, plan) for plan in plans if plan.layer is not None]


def test_real_template_tables_read_each_label_before_its_value(ec_plan):
    """Every "Institución o actor responsable de la implementación" label of the plan's template
    tables is followed in reading order by the cell to its right, in the same row."""
    found = 0
    for page in ec_plan:
        lines = page.lines
        for i, ln in enumerate(lines):
            if ln.text.startswith("Institución o actor"):
                last = next(x for x in lines[i:i + 3] if x.text.endswith("implementación"))
                value = lines[lines.index(last) + 1]
                assert value.bbox.x0 > ln.bbox.x1, (page.number, value.text)
                assert value.bbox.top < last.bbox.bottom + 2 * (last.bbox.bottom - last.bbox.top), page.number
                found += 1
    assert found >= 5


def test_soft_hyphens_end_the_word_with_a_hyphen_at_the_line_break(ec_plan):
    words = [w.text for p in ec_plan for ln in p.lines for w in ln.words]
    assert not any(ch in w for w in words for ch in "\ufffe\u00ad")
    line_ends = [ln.words[-1].text for p in ec_plan for ln in p.lines if ln.words]
    assert sum(w.endswith("-") and w[:-1].isalpha() for w in line_ends) >= 100
    # the quality check measures a hyphenated word whole: a page of prose with many of them keeps
    # its text layer (their halves, `prota-` `gonista`, are not Spanish words)
    hyphenated = [sum(w.text.endswith("-") for w in layer.words) for layer in pdf._read_layers(EC_PLAN)]
    planned = pdf.plan_pages(EC_PLAN)
    many = [plan for plan, n in zip(planned, hyphenated) if n >= 10]
    assert many and all(plan.method == "text-layer" for plan in many), [(p.number, p.text_quality) for p in many]


def test_a_fonts_first_text_object_gets_its_own_size(ec_plan):
    """The lines of one style share one size, the first a font draws too (its size was once
    overwritten with the length of the font's name): the plan's field labels are all 10-point."""
    sizes = {}
    for page in ec_plan:
        for ln in page.lines:
            if ln.text.startswith(("Fecha de inicio y término del compromiso", "Institución o actor")):
                sizes.setdefault("label", set()).add(ln.font_size)
    assert sizes["label"] == {10.0}
