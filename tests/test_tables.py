"""Tables read cell by cell: ruled tables of a text layer (PDFium's paths through pdfplumber's
table geometry), tables of aligned words (scans, unruled layers), marks kept in their column."""
from pathlib import Path

import pytest

from pipeline import tables
from pipeline.ingest import load, pdf
from pipeline.models import BBox, Line, Word

REPORTS = Path(__file__).resolve().parents[2] / "shared" / "reports"
EC_PLAN = REPORTS / "ec-plan-2019-2022" / "plan.pdf"
REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

LEVELS = ["No iniciado", "Limitado", "Sustancial", "Completo"]
GRID = [("1. Datos abiertos", 2), ("2. Portal único", 3), ("3. Contrataciones", 0)]  # the ticked level


def _grid_pdf(path: Path, mark: str = "x", one_path: bool = False) -> dict:
    """A ruled table (header row, three commitment rows, a level ticked with `mark` in each) above
    a paragraph; its borders drawn as cell boxes, or (`one_path`) as one path of line segments."""
    from fpdf import FPDF

    doc = FPDF(unit="pt", format="A4")
    doc.add_font("Sans", fname=REGULAR)
    doc.add_page()
    doc.set_font("Sans", size=10)
    doc.text(60, 70, "Nivel de cumplimiento de los compromisos al cierre del plan")
    x0, top, label_w, col_w, row_h = 60.0, 100.0, 160.0, 80.0, 30.0
    xs = [x0, x0 + label_w] + [x0 + label_w + col_w * (k + 1) for k in range(len(LEVELS))]
    ys = [top + row_h * k for k in range(len(GRID) + 2)]
    if one_path:
        with doc.new_path() as p:
            for y in ys:
                p.move_to(xs[0], y)
                p.line_to(xs[-1], y)
            for x in xs:
                p.move_to(x, ys[0])
                p.line_to(x, ys[-1])
    else:
        for r in range(len(ys) - 1):
            for c in range(len(xs) - 1):
                doc.rect(xs[c], ys[r], xs[c + 1] - xs[c], row_h)
    doc.text(xs[0] + 6, ys[0] + 19, "Compromiso")
    for k, level in enumerate(LEVELS):
        doc.text(xs[k + 1] + 6, ys[0] + 19, level)
    for r, (title, level) in enumerate(GRID, start=1):
        doc.text(xs[0] + 6, ys[r] + 19, title)
        doc.text(xs[level + 1] + 36, ys[r] + 19, mark)
    doc.text(60, ys[-1] + 40, "El plan cerró con tres compromisos evaluados por el mecanismo.")
    doc.output(str(path))
    return {"xs": xs, "ys": ys}


@pytest.mark.parametrize("one_path", [False, True], ids=["cell-boxes", "one-path"])
def test_ruled_table_read_into_rows_and_cells_with_boxes(tmp_path, one_path):
    geometry = _grid_pdf(tmp_path / "grid.pdf", one_path=one_path)
    page = load(tmp_path / "grid.pdf").pages[0]
    assert len(page.tables) == 1
    table = page.tables[0]
    assert table.method == "ruling-lines" and table.columns == 5 and len(table.rows) == 4
    xs, ys = geometry["xs"], geometry["ys"]
    assert table.bbox.x0 == pytest.approx(xs[0], abs=1) and table.bbox.x1 == pytest.approx(xs[-1], abs=1)
    assert table.bbox.top == pytest.approx(ys[0], abs=1) and table.bbox.bottom == pytest.approx(ys[-1], abs=1)
    assert [c.text for c in table.rows[0].cells] == ["Compromiso", *LEVELS]
    assert [r.cells[0].text for r in table.rows[1:]] == [t for t, _ in GRID]
    cell = table.rows[2].cells[3]
    assert (cell.row, cell.column) == (2, 3)
    assert (cell.bbox.x0, cell.bbox.x1) == (pytest.approx(xs[3], abs=1), pytest.approx(xs[4], abs=1))
    assert (cell.bbox.top, cell.bbox.bottom) == (pytest.approx(ys[2], abs=1), pytest.approx(ys[3], abs=1))
    # every cell names the page lines its words are on
    by_number = {ln.line: ln for ln in page.lines}
    assert by_number[table.rows[1].cells[0].lines[0]].text == GRID[0][0]


@pytest.mark.parametrize("mark", ["x", "✓", "■"])
def test_a_mark_is_kept_in_its_column(tmp_path, mark):
    _grid_pdf(tmp_path / "grid.pdf", mark=mark)
    table = load(tmp_path / "grid.pdf").pages[0].tables[0]
    header = [c.text for c in table.rows[0].cells]
    for row, (title, level) in zip(table.rows[1:], GRID):
        marked = [c for c in row.cells if c.mark]
        assert [c.mark for c in marked] == [mark]
        assert header[marked[0].column] == LEVELS[level], title
    sustancial = table.column_cells(3)
    assert [c.text for c in sustancial][0] == "Sustancial"
    assert [c.mark for c in sustancial] == [None, mark, None, None]  # ticked for the first commitment only


def test_text_outside_the_table_is_no_cell_and_lines_stay_in_reading_order(tmp_path):
    """The table's text stays in the page's lines (extraction reads template fields from them),
    and the prose above and below it is in no cell."""
    _grid_pdf(tmp_path / "grid.pdf")
    page = load(tmp_path / "grid.pdf").pages[0]
    in_cells = {n for c in page.tables[0].cells() for n in c.lines}
    outside = [ln.text for ln in page.lines if ln.line not in in_cells]
    assert outside == ["Nivel de cumplimiento de los compromisos al cierre del plan",
                       "El plan cerró con tres compromisos evaluados por el mecanismo."]
    texts = [ln.text for ln in page.lines]
    assert texts.index("Compromiso") < texts.index(GRID[0][0]) < texts.index(GRID[2][0])


def _scanned_grid(tmp_path: Path, dpi: int, tilt: float, mark: str = "x") -> Path:
    """`_grid_pdf` printed and scanned: rendered at `dpi`, turned by `tilt` degrees, blurred, grained
    and JPEG-compressed, as an image-only PDF."""
    import random

    import pypdfium2 as pdfium
    from PIL import Image

    from tests.fixtures.generate import ScanSettings, scan_look

    _grid_pdf(tmp_path / "grid.pdf", mark=mark)
    doc = pdfium.PdfDocument(str(tmp_path / "grid.pdf"))
    printed = doc[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    doc.close()
    turned = printed.rotate(tilt, resample=Image.BICUBIC, fillcolor=255)
    scanned = scan_look(turned, random.Random(dpi), ScanSettings(tilt=0.0, blur=0.7, noise=0.08, jpeg=70))
    scanned.save(tmp_path / "scan.pdf", "PDF", resolution=dpi)
    return tmp_path / "scan.pdf"


def test_a_scans_rules_are_found_thin_and_long_and_a_filled_area_gives_its_sides():
    from PIL import Image, ImageDraw, ImageFont

    k = 300 / 72  # pixels per point
    img = Image.new("L", (round(595 * k), round(842 * k)), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(100 * k, 200 * k), (400 * k, 200 * k)], fill=0, width=round(k))  # a 1-point rule
    draw.line([(150 * k, 300 * k), (150 * k, 500 * k)], fill=90, width=round(0.5 * k))  # a grey hairline
    draw.rectangle((100 * k, 600 * k, 300 * k, 660 * k), fill=30)  # a dark band (a header row, a picture)
    draw.text((100 * k, 100 * k), "Compromiso IIIIIIIIII lllllll — texto", font=ImageFont.truetype(REGULAR, round(24 * k)), fill=0)
    edges, cleaned = tables.image_rules(img, 595, 842)
    near = lambda kind, pos: [e for e in edges if e[0] == kind and abs(e[1] - pos) <= 3]  # noqa: E731
    assert near("h", 200) and all(e[2] == pytest.approx(100, abs=2) and e[3] == pytest.approx(400, abs=2)
                                  for e in near("h", 200))
    assert near("v", 150) and all(e[2] == pytest.approx(300, abs=2) and e[3] == pytest.approx(500, abs=2)
                                  for e in near("v", 150))
    assert near("h", 600) and near("h", 660) and near("v", 100) and near("v", 300)  # the band's four sides
    assert not near("h", 630) and not near("v", 200)  # not its inside
    assert all(not 95 <= e[1] <= 135 for e in edges if e[0] == "h")  # the letters are no rules
    assert all(e[2] > 135 or e[3] < 95 for e in edges if e[0] == "v")
    ink = __import__("numpy").asarray(cleaned) < 160
    assert not ink[round(200 * k) - 3:round(200 * k) + 4, round(110 * k):round(390 * k)].any()  # the rule is gone
    assert ink[round(100 * k):round(135 * k)].any()  # the words are not
    assert ink[round(620 * k):round(640 * k), round(120 * k):round(280 * k)].all()  # nor the band's inside
    assert tables.image_rules(Image.new("L", (600, 800), 255), 595, 842) == ([], None)


@pytest.mark.parametrize("dpi,tilt", [(300, 0.0), (200, -1.0), (300, 0.8)], ids=["300dpi", "200dpi-tilted-1deg", "300dpi-tilted"])
def test_a_scanned_ruled_table_is_read_cell_by_cell(tmp_path, dpi, tilt):
    """A ruled table on a scan, upright or tilted, blurred, grained, JPEG: found from its pixels'
    rules, read cell by cell (Tesseract reads the page without its rules: boxed in by them, it
    dropped three of the five header cells and every mark); each row's mark in its level's column
    (those Tesseract drops on the page are read again from the cells alone)."""
    page = load(_scanned_grid(tmp_path, dpi, tilt)).pages[0]
    assert page.source.value == "ocr"
    [table] = [t for t in page.tables if t.method == "ruling-lines"]
    assert table.columns == 5 and len(table.rows) == 4
    assert [c.text for c in table.rows[0].cells] == ["Compromiso", *LEVELS]
    assert [r.cells[0].text for r in table.rows[1:]] == [t for t, _ in GRID]
    marked = {(r, c.column) for r, row in enumerate(table.rows[1:]) for c in row.cells if c.mark}
    assert marked == {(r, level + 1) for r, (_, level) in enumerate(GRID)}
    assert table.bbox.x0 == pytest.approx(60, abs=8) and table.bbox.x1 == pytest.approx(540, abs=8)
    assert not any(ln.text.startswith(("|", "—", "_")) for ln in page.lines)  # no rule read as text


@pytest.mark.parametrize("text,mark", [("x", "x"), ("Xx", "X"), ("*x", "x"), ("✓", "✓"), (" ■\n", "■"),
                                       ("", None), ("1.", None), ("Sí", None), ("xa", None), ("xxxx", None)])
def test_a_cells_text_is_a_mark_alone_or_read_twice(text, mark):
    assert tables.mark_of(text) == mark


def test_a_scan_without_rules_costs_one_tesseract_call(tmp_path, monkeypatch):
    """Re-reading a table's empty cells costs a second call only where a ruled table has them."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (1240, 1754), 255)
    ImageDraw.Draw(img).text((150, 150), "El plan cerró con tres compromisos.", font=ImageFont.truetype(REGULAR, 40), fill=0)
    img.save(tmp_path / "prose.pdf", "PDF", resolution=150)
    calls = []
    real = pdf._tesseract_rows
    monkeypatch.setattr(pdf, "_tesseract_rows", lambda *a, **k: calls.append(k.get("psm", 3)) or real(*a, **k))
    page = load(tmp_path / "prose.pdf").pages[0]
    assert page.tables == [] and "compromisos" in page.lines[0].text and calls == [3]
    calls.clear()
    load(_scanned_grid(tmp_path, 300, 0.8))
    assert calls in ([3], [3, 6])  # the page, and at most one call for all its unread cells


def test_a_page_without_paths_has_no_edges_and_prose_gives_no_table(sample_pdfs):
    folder, _, _ = sample_pdfs
    plans = pdf.plan_pages(folder / "text-layer.pdf")
    assert all(p.layer.edges == [] for p in plans)
    assert all(not page.tables for page in load(folder / "text-layer.pdf").pages)  # two columns of prose


def _line(n: int, x: float, y: float, text: str, tilt: float = 0.0, h: float = 10.0) -> Line:
    """A line of words 6 points a character, a 3-point space apart, from (x, y) along `tilt`."""
    ws = []
    for t in text.split():
        ws.append(Word(text=t, bbox=BBox(x0=x, top=y + tilt * x, x1=x + 6.0 * len(t), bottom=y + tilt * x + h)))
        x += 6.0 * len(t) + 3.0
    return Line(text=text, page=1, line=n, words=ws, bbox=BBox.union([w.bbox for w in ws]))


def _aligned_page(tilt: float = 0.0) -> list[Line]:
    """An unruled three-column table (a title that wraps, a level, a link) between two paragraphs,
    its rows set a little apart, every y shifted by `tilt` points per point across (a scan's tilt)."""
    rows = [["Compromiso", "Nivel", "Enlace"], ["Datos abiertos en", "Completo", "https://a.org/1"],
            ["salud", None, None], ["Portal", "Limitado", "https://a.org/2"], ["Compras", "Sustancial", "https://a.org/3"]]
    lines, y, n = [_line(1, 60, 80, "Tabla de avance de los compromisos del plan", tilt)], 100.0, 1
    for k, cells in enumerate(rows):
        y += 0 if k == 0 else (13 if cells[1] is None else 18)
        for x, text in zip((60, 260, 360), cells):
            if text:
                n += 1
                lines.append(_line(n, x, y, text, tilt))
    lines.append(_line(n + 1, 60, y + 30, "El texto sigue bajo la tabla con sus palabras juntas hasta el margen", tilt))
    return lines


@pytest.mark.parametrize("tilt", [0.0, 0.017], ids=["upright", "tilted-1deg"])
def test_aligned_words_make_a_table_with_wrapped_cells(tilt):
    found = tables.find_tables(_aligned_page(tilt), [], 595, 842)
    assert len(found) == 1
    table = found[0]
    assert table.method == "aligned-words" and table.columns == 3
    assert [[c.text for c in r.cells] for r in table.rows] == [
        ["Compromiso", "Nivel", "Enlace"], ["Datos abiertos en\nsalud", "Completo", "https://a.org/1"],
        ["Portal", "Limitado", "https://a.org/2"], ["Compras", "Sustancial", "https://a.org/3"]]


def test_two_columns_of_prose_and_a_list_are_no_table():
    lines = []
    for k in range(12):  # prose on the left, a list on the right, its markers set apart by a tab stop
        lines.append(_line(len(lines) + 1, 60, 100 + 14 * k, "la prosa de la izquierda sigue"))
        marker = _line(len(lines) + 2, 310, 100 + 14 * k, "•" if k % 2 else "IV.")
        item = _line(len(lines) + 2, 340, 100 + 14 * k, "un punto de lista")
        lines.append(marker.model_copy(update={"words": marker.words + item.words}))
    assert tables.find_tables(lines, [], 595, 842) == []


def test_ec_plan_template_tables_label_beside_value():
    if not EC_PLAN.exists():
        pytest.skip(f"{EC_PLAN} is absent (the shared development reports are not on this machine)")
    plans = pdf.plan_pages(EC_PLAN)
    pages = [pdf.read_text_layer_page(EC_PLAN, p) for p in plans[38:40]]  # a commitment's template
    first, second = pages[0].tables, pages[1].tables
    assert [t.method for t in first + second] == ["ruling-lines", "ruling-lines"]
    rows = {r.cells[0].text.replace("\n", " "): r.cells for r in first[0].rows}
    assert any(label.startswith("Institución o actor") and cells[1].text.startswith("Ministerio")
               for label, cells in rows.items())
    assert all(len(r.cells) == 1 or r.cells[0].column == 0 for r in first[0].rows)
    milestones = [r for r in second[0].rows if r.cells[0].text.startswith("Hito")]
    assert len(milestones) >= 5
    assert all(len(r.cells) == 3 and r.cells[1].text.split()[-1].isdigit() for r in milestones)  # start, end dates
    assert second[0].rows[0].cells[1].text == "Fecha de inicio"


@pytest.mark.slow
@pytest.mark.parametrize("dpi", [200, 300])
def test_seed_summary_table_scanned_is_read_row_by_row(tmp_path, dpi):
    """The seed's final summary table (title | colour | link, no ruling lines), scanned tilted and
    noisy: one row per commitment, its title in the first column and its link in the last."""
    from tests.fixtures.generate import ScanSettings, make_report_pdfs, read_text_pages

    gold = Path(__file__).resolve().parents[1] / "gold" / "000_5431f427d6bef971" / "text"
    page = [p for p in read_text_pages(gold) if any(" | " in ln for ln in p.body)]
    assert len(page) == 1
    scanned = make_report_pdfs(tmp_path, page, dpi=dpi, seed=3,
                               settings=ScanSettings(tilt=0.9, blur=0.7, noise=0.1, jpeg=65))["scanned"]
    found = load(scanned).pages[0].tables
    assert [t.method for t in found] == ["aligned-words"]
    rows = [r for r in found[0].rows if r.cells[-1].text.startswith("https://")]
    assert len(rows) == 13
    last = found[0].columns - 1
    assert all(r.cells[0].column == 0 and r.cells[-1].column == last for r in rows)
    assert rows[0].cells[0].text.split()[:2] == ["Gasto", "Abierto"]


def test_a_ruled_tables_lines_are_read_cell_by_cell(tmp_path):
    """A field table whose cells hold two lines each: the page's lines read each cell whole, row
    by row (by height alone they ran across the cells: "Institución", the value's first line,
    "Fecha de", …), each line keeping its number."""
    from fpdf import FPDF

    doc = FPDF(unit="pt", format="A4")
    doc.add_font("Sans", fname=REGULAR)
    doc.add_page()
    doc.set_font("Sans", size=10)
    xs, ys = [60, 160, 360, 430, 530], [100, 140, 180]
    for r in range(2):
        for c in range(4):
            doc.rect(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r])
    cells = [[("Institución", "responsable"), ("Dirección Nacional de", "Registros Públicos"), ("Fecha de", "inicio"),
              ("01/04/2024", "")],
             [("Instituciones", "corresponsables"), ("Superintendencia de", "Sociedades"), ("Fecha de", "término"),
              ("31/05/2026", "")]]
    for r, row in enumerate(cells):
        for c, (first, second) in enumerate(row):
            doc.text(xs[c] + 4, ys[r] + 15, first)
            if second:
                doc.text(xs[c] + 4, ys[r] + 29, second)
    doc.output(str(tmp_path / "fields.pdf"))
    page = load(tmp_path / "fields.pdf").pages[0]
    assert [ln.text for ln in page.lines] == [t for row in cells for cell in row for t in cell if t]
    assert sorted(ln.line for ln in page.lines) == list(range(1, len(page.lines) + 1))
