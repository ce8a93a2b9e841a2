"""Assessments ticked in a grid (IRM reports): small exact tables read by `grid.read_ticks`, then a
born-digital IRM end-of-term report (synthetic, drawn with ruled tables as the IRM template draws
them) read end to end: each mark's level from its column, its moment from its row, its commitment
from its row or from the section the table sits in."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.extract import extract_commitments
from pipeline.extract.grid import read_ticks
from pipeline.ingest import pdf
from pipeline.ingest import load
from pipeline.models import BBox, Cell, Table, TableRow
from pipeline.repair import repair_lines

REGULAR = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
COMPLETION = ["No iniciado", "Limitado", "Sustancial", "Completo"]
OPEN_GOV = ["Empeoró", "No cambió", "Marginalmente", "Significativamente", "Excepcionalmente"]


def table(rows: list[list[tuple]]) -> Table:
    """A table from rows of (column, text[, column_span[, row_span]]) cells; a one-character text
    of the mark set is a mark."""
    out = []
    for r, row in enumerate(rows):
        cells = []
        for spec in row:
            column, text, span, rspan = (*spec, 1, 1)[:4]
            mark = text if text in ("x", "✔", "■") else None
            cells.append(Cell(row=r, column=column, column_span=span, row_span=rspan, text=text, mark=mark,
                              bbox=BBox(x0=column * 10, top=r * 10, x1=(column + span) * 10, bottom=(r + rspan) * 10),
                              lines=[100 + r]))
        out.append(TableRow(bbox=BBox(x0=0, top=r * 10, x1=100, bottom=r * 10 + 10), cells=cells))
    return Table(bbox=BBox(x0=0, top=0, x1=100, bottom=len(rows) * 10), method="ruling-lines", columns=10, rows=out)


def test_a_summary_table_gives_each_numbered_row_its_level():
    grid = table([[(0, "Compromiso"), (1, "No iniciado"), (2, "Limitado"), (3, "Sustancial"), (4, "Completo")],
                  [(0, "1. Datos abiertos"), (3, "x")],
                  [(0, "2. Compras ✪"), (4, "x")],
                  [(0, "III) Salud"), (1, "x")]])
    ticks = read_ticks(grid, page=4)
    assert [(t.number, t.title, t.kind, t.level, t.when) for t in ticks] == [
        ("1", "Datos abiertos", "completion", "sustancial", None),
        ("2", "Compras", "completion", "completo", None),
        ("III", "Salud", "completion", "no_iniciado", None)]
    assert (ticks[0].page, ticks[0].line, ticks[0].text) == (4, 101, "1. Datos abiertos / Sustancial / x")
    assert [t.starred for t in ticks] == [False, True, False]


def test_group_headings_moments_in_rows_and_other_grids_ignored():
    """The IRM template's table: a group heading over its levels, the commitment's label spanning
    its two moments, the open-government answer once; ticks under Especificidad are no assessment."""
    grid = table([
        [(0, "Resumen del compromiso", 2, 2), (2, "Especificidad", 2), (4, "Cumplimiento", 4), (8, "¿Se avanzó en la apertura del Gobierno?", 2)],
        [(2, "Baja"), (3, "Alta"), (4, "No iniciado"), (5, "Limitado"), (6, "Sustancial"), (7, "Completo"), (8, "No cambió"), (9, "Marginalmente")],
        [(0, "Compromiso 1.2 Compras abiertas", 1, 2), (1, "Medio término"), (3, "✔", 1, 2), (5, "✔"), (9, "✔", 1, 2)],
        [(1, "Fin de término"), (6, "✔")]])
    ticks = read_ticks(grid, page=1)
    assert [(t.number, t.kind, t.level, t.when) for t in ticks] == [
        ("1.2", "completion", "limitado", "mid_term"),
        ("1.2", "open_gov", "marginal", None),
        ("1.2", "completion", "sustancial", "end_of_term")]


def test_a_table_without_marks_or_without_known_levels_gives_nothing():
    assert read_ticks(table([[(0, "Hito"), (1, "Fecha")], [(0, "Portal"), (1, "2020")]]), page=1) == []
    assert read_ticks(table([[(0, "Impacto potencial"), (1, "Menor"), (2, "Moderado")], [(0, "1. Datos"), (2, "x")]]),
                      page=1) == []


# ------------------------------------------------------------------ an IRM report, end to end
COMMITMENTS = [  # number, title, responsible, mid-term, end of term (indices into COMPLETION), open-gov answer
    ("1.1", "Portal nacional de datos abiertos", "Ministerio de Modernización", 1, 2, 2),
    ("1.2", "Compras públicas abiertas", "Dirección de Contrataciones Públicas", 0, 1, 1),
    ("2.1", "Presupuesto ciudadano", "Ministerio de Hacienda", 2, 3, 3),
]


def _cell(doc, x, y, w, h, text="", size=6.0, rotated=False):
    doc.rect(x, y, w, h)
    doc.set_font("Sans", size=size)
    if rotated:  # set vertically, read from the bottom up
        with doc.rotation(90, x + w / 2 + size / 3, y + h - 3):
            doc.text(x + w / 2 + size / 3, y + h - 3, text)
    else:
        doc.text(x + 2, y + 8, text)


def _irm_pdf(path: Path, rotated: bool) -> None:
    """An IRM end-of-term report: a front page with the summary table of all commitments (their
    end-of-term level ticked), then one page per commitment: heading, prose, fields, and the
    template's table (Cumplimiento at mid-term and end of term, the open-government answer), its
    level labels set vertically (`rotated`) as the IRM template sets them, or across."""
    from fpdf import FPDF

    doc = FPDF(unit="pt", format="A4", orientation="L")
    doc.add_font("Sans", fname=REGULAR)
    doc.add_page()
    doc.set_font("Sans", size=14)
    doc.text(40, 50, "Mecanismo de Revisión Independiente (IRM): Informe de fin de término 2018-2020")
    doc.set_font("Sans", size=10)
    doc.text(40, 80, "Tabla 1. Cumplimiento de los compromisos al final del plan de acción")
    x0, top, label_w, col_w, row_h = 40.0, 95.0, 260.0, 80.0, 22.0
    _cell(doc, x0, top, label_w, row_h, "Compromiso", size=8)
    for k, level in enumerate(COMPLETION):
        _cell(doc, x0 + label_w + k * col_w, top, col_w, row_h, level, size=8)
    for r, (number, title, _, _, end, _) in enumerate(COMMITMENTS, start=1):
        y = top + r * row_h
        _cell(doc, x0, y, label_w, row_h, f"{number}. {title}", size=8)
        for k in range(len(COMPLETION)):
            _cell(doc, x0 + label_w + k * col_w, y, col_w, row_h, "✔" if k == end else "", size=8)
    doc.set_font("Sans", size=10)
    doc.text(40, top + (len(COMMITMENTS) + 1) * row_h + 30, "El informe evalúa tres compromisos del plan.")
    for number, title, responsible, mid, end, answer in COMMITMENTS:
        doc.add_page()
        doc.set_font("Sans", size=13)
        doc.text(40, 50, f"Compromiso {number}: {title}")
        doc.set_font("Sans", size=10)
        doc.text(40, 75, "Texto del compromiso: el gobierno publicará la información en formatos abiertos.")
        doc.text(40, 92, f"Institución responsable: {responsible}")
        doc.text(40, 109, "Fecha de inicio: enero de 2019. Fecha de término: junio de 2020.")
        x, y, lw, ww, cw, gw, h = 20.0, 130.0, 150.0, 62.0, 58.0, 68.0, 20.0
        if rotated:
            cw = gw = 24.0
        lh = 70.0 if rotated else h  # the level labels' row
        _cell(doc, x, y, lw + ww, h + lh, "Resumen del compromiso")
        _cell(doc, x + lw + ww, y, 4 * cw, h, "Cumplimiento")
        _cell(doc, x + lw + ww + 4 * cw, y, 5 * gw, h, "¿Se avanzó en la apertura del Gobierno?")
        for k, level in enumerate(COMPLETION):
            _cell(doc, x + lw + ww + k * cw, y + h, cw, lh, level, rotated=rotated)
        for k, level in enumerate(OPEN_GOV):
            _cell(doc, x + lw + ww + 4 * cw + k * gw, y + h, gw, lh, level, rotated=rotated)
        y += lh - h
        _cell(doc, x, y + 2 * h, lw, 2 * h, f"{number}. {title}")
        for row, (moment, level) in enumerate([("Medio término", mid), ("Fin de término", end)]):
            yy = y + (2 + row) * h
            _cell(doc, x + lw, yy, ww, h, moment)
            for k in range(len(COMPLETION)):
                _cell(doc, x + lw + ww + k * cw, yy, cw, h, "✔" if k == level else "")
        for k in range(len(OPEN_GOV)):
            _cell(doc, x + lw + ww + 4 * cw + k * gw, y + 2 * h, gw, 2 * h, "✔" if k == answer else "")
        doc.set_font("Sans", size=10)
        doc.text(40, y + 4 * h + 30, "El IRM considera que el compromiso abrió el acceso a la información pública.")
    doc.output(str(path))


@pytest.fixture(scope="module", params=[False, True], ids=["labels-across", "labels-rotated"])
def irm_report(tmp_path_factory, request):
    path = tmp_path_factory.mktemp("irm") / "irm.pdf"
    _irm_pdf(path, rotated=request.param)
    doc = load(path)
    repaired = repair_lines(doc.body_lines(), doc.footnotes())
    return extract_commitments(repaired.lines, doc.name, doc.footnotes(), tables=doc.tables())


def test_an_irm_report_reads_its_levels_from_the_grids(irm_report):
    assert irm_report.kind == "irm_end_of_term"
    assert [(c.number, c.title) for c in irm_report.commitments] == [(n, t) for n, t, *_ in COMMITMENTS]
    for c, (_, _, _, mid, end, answer) in zip(irm_report.commitments, COMMITMENTS):
        levels = ["no_iniciado", "limitado", "sustancial", "completo"]
        assert c.status == levels[end], c.number
        assert sorted((a.level, a.when) for a in c.assessments) == sorted(
            [(levels[end], "end_of_term"), (levels[mid], "mid_term")]), c.number
        assert c.open_gov == ["empeoro", "no_cambio", "marginal", "significativo", "excepcional"][answer]
        assert c.evidence["status"].rule == "status.grid_tick"
        assert c.evidence["status"].page in c.pages or c.evidence["status"].page == 1


def test_an_irm_reports_grid_words_are_not_read_as_prose(irm_report):
    """The grid's header ("Cumplimiento No iniciado Limitado …") never reaches the text readers:
    no assessment without its mark."""
    for c in irm_report.commitments:
        assert {a.evidence.rule for a in c.assessments if a.level} == {"assessment.grid_tick", "status.grid_tick"}, c.number


def test_rotated_labels_are_one_word_each(tmp_path):
    """Characters set vertically (PDFium gives each its own box, one above the other) make one
    word per label, spaces kept: the grid's header cells read "No iniciado", not letters."""
    import pypdfium2 as pdfium

    _irm_pdf(tmp_path / "irm.pdf", rotated=True)
    layer = pdf._read_layer(pdfium.PdfDocument(tmp_path / "irm.pdf")[1])
    texts = [w.text for w in layer.words]
    for label in COMPLETION + OPEN_GOV:
        assert label in texts


def test_a_totals_table_counts_per_level_in_rows_or_under_columns():
    from pipeline.extract.grid import read_totals

    rows = read_totals(table([[(0, "Nivel de cumplimiento"), (1, "Compromisos"), (2, "%")],
                              [(0, "Completados"), (1, "5"), (2, "38%")],
                              [(0, "Avance sustancial"), (1, "3"), (2, "23%")],
                              [(0, "Limitado"), (1, "5"), (2, "38%")],
                              [(0, "Total"), (1, "13"), (2, "100%")]]), page=9)
    assert (rows.page, rows.counts, rows.total) == (9, {"completo": 5, "sustancial": 3, "limitado": 5}, 13)
    across = read_totals(table([[(0, ""), (1, "No iniciado"), (2, "Limitado"), (3, "Sustancial"), (4, "Completo"), (5, "Total")],
                                [(0, "Total"), (1, "0"), (2, "4"), (3, "6"), (4, "2"), (5, "12")]]), page=2)
    assert (across.counts, across.total) == ({"no_iniciado": 0, "limitado": 4, "sustancial": 6, "completo": 2}, 12)
    assert read_totals(table([[(0, "Hito"), (1, "Meses")], [(0, "Completado"), (1, "3")]]), page=1) is None


def test_a_totals_table_that_disagrees_with_the_statuses_read_is_flagged():
    from pipeline.models import Line

    text = ("Compromiso 1: Datos abiertos\nCumplimiento: Completo.\n\n"
            "Compromiso 2: Compras\nCumplimiento: Limitado.\n\n")
    lines = [Line(text=t, page=1, line=n) for n, t in enumerate(text.splitlines(), 1)]
    agrees = table([[(0, "Completo"), (1, "1")], [(0, "Limitado"), (1, "1")], [(0, "Total"), (1, "2")]])
    differs = table([[(0, "Completo"), (1, "2")], [(0, "Limitado"), (1, "1")], [(0, "Total"), (1, "3")]])
    report = extract_commitments(lines, "r", tables=[(3, agrees)])
    assert [c.status for c in report.commitments] == ["completo", "limitado"]
    assert report.flags == []
    report = extract_commitments(lines, "r", tables=[(3, differs)])
    assert report.flags == ["the totals table on page 3 counts 2 commitment(s) 'completo', the statuses read 1",
                            "the totals table on page 3 counts 3 commitments; 2 were found"]


def test_a_grid_row_naming_a_commitment_no_section_holds_is_flagged():
    from pipeline.models import Line

    lines = [Line(text=t, page=2, line=n) for n, t in enumerate(
        ["Compromiso 1: Datos abiertos", "El portal publica datos.", "", "Compromiso 2: Compras", "Texto."], 1)]
    summary = table([[(0, "Compromiso"), (1, "Limitado"), (2, "Completo")],
                     [(0, "1. Datos abiertos"), (2, "x")], [(0, "2. Compras"), (1, "x")], [(0, "3. Salud"), (1, "x")]])
    report = extract_commitments(lines, "r", tables=[(1, summary)])
    assert [(c.number, c.status) for c in report.commitments] == [("1", "completo"), ("2", "limitado")]
    assert report.flags == ["a table on page 1 ticks a level for commitment 3, which was not found as a section"]


def test_a_milestone_table_gives_the_milestones_with_their_dates_and_stops_at_other_rows():
    from pipeline.models import Line

    lines = [Line(text=t, page=2, line=n) for n, t in enumerate(
        ["Compromiso 1: Datos de salud", "Actividad y producto entregable", "Fecha de inicio", "Fecha de término",
         "Diagnóstico de los datos", "03/2024", "09/2024", "Portal publicado", "01/2025", "06/2025",
         "Información de contacto", "Nombre de la persona responsable", "Lucía Pérez"], 1)]
    milestones = table([[(0, "Actividad y producto entregable"), (1, "Fecha de inicio"), (2, "Fecha de término")],
                        [(0, "Diagnóstico de los datos"), (1, "03/2024"), (2, "09/2024")],
                        [(0, "Portal publicado"), (1, "01/2025"), (2, "06/2025")],
                        [(0, "Información de contacto", 3)],
                        [(0, "Nombre de la persona responsable"), (1, "Lucía Pérez", 2)]])
    for r, row in enumerate(milestones.rows):  # the cells' page lines, as ingest names them
        for c in row.cells:
            c.lines = [n for n, ln in enumerate(lines, 1) if ln.text == c.text]
    (c,) = extract_commitments(lines, "plan", tables=[(2, milestones)]).commitments
    assert [(m.text, m.start, m.end, m.evidence.rule) for m in c.milestones] == [
        ("Diagnóstico de los datos", "03/2024", "09/2024", "milestone.table"),
        ("Portal publicado", "01/2025", "06/2025", "milestone.table")]


def test_levels_printed_in_a_tables_cells_under_their_moments():
    """No marks: "Nivel de cumplimiento" beside the moments, a level printed under each (one OCR
    misread by a letter, "Timitado"); a level with no moment over it or beside it (a summary's
    column, the scale as a header) is no assessment."""
    levels = table([[(0, "Nivel de cumplimiento", 1, 2), (1, "Medio término"), (2, "Fin de término")],
                    [(1, "Limitado"), (2, "Timitado")]])
    assert [(t.kind, t.level, t.when, t.text) for t in read_ticks(levels, page=2)] == [
        ("completion", "limitado", "mid_term", "Limitado"), ("completion", "limitado", "end_of_term", "Timitado")]
    rows = table([[(0, "Medio término"), (1, "Sustancial")], [(0, "Fin de término"), (1, "Completo")]])
    assert [(t.level, t.when) for t in read_ticks(rows, page=2)] == [("sustancial", "mid_term"), ("completo", "end_of_term")]
    summary = table([[(0, "N°"), (1, "Compromiso"), (2, "Nivel de cumplimiento")], [(0, "1"), (1, "Datos"), (2, "Completo")]])
    scale = table([[(0, "No iniciado"), (1, "Limitado"), (2, "Sustancial"), (3, "Completo")]])
    assert read_ticks(summary, page=2) == [] and read_ticks(scale, page=2) == []


def test_a_milestone_table_split_by_a_page_break_goes_on():
    """The template's milestone table runs to the foot of page 4; page 5 opens with a table in
    its columns, the form's caption repeated across it, no header: its rows are milestones too.
    A table of other columns on the next page, or one two pages on, is not."""
    from pipeline.extract.grid import read_milestones

    first = table([[(0, "Actividad y producto entregable"), (1, "Fecha de inicio"), (2, "Fecha de término")],
                   [(0, "Estándar aprobado"), (1, "Enero 2025"), (2, "Junio 2025")]])
    after = table([[(0, "Ficha de compromiso – Eje 1", 3)],
                   [(0, "Visor en funcionamiento"), (1, "Enero 2026"), (2, "Septiembre 2026")]])
    other = table([[(0, "Nombre", 2), (2, "Cargo")], [(0, "Mariela Fonseca", 2), (2, "Jefa")]])
    before = read_milestones(first, 4)
    assert before.open and [r.text for r in before.rows] == ["Estándar aprobado"]
    went_on = read_milestones(after, 5, before)
    assert [(r.text, r.start, r.end, r.page) for r in went_on.rows] == [("Visor en funcionamiento", "Enero 2026",
                                                                         "Septiembre 2026", 5)]
    assert read_milestones(other, 5, before) is None and read_milestones(after, 6, before) is None
