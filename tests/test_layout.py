"""Reading order, furniture and footnotes on pages with word boxes."""
from pipeline.layout import analyse, order_lines
from pipeline.models import BBox, Document, LineRole, Page, SourceKind, Word

WIDTH, HEIGHT = 595.0, 842.0


def row(text, x0, top, size=10.0, char_width=None):
    words, x = [], x0
    for t in text.split():
        w = len(t) * (char_width or size * 0.5)
        words.append(Word(text=t, bbox=BBox(x0=x, top=top, x1=x + w, bottom=top + size)))
        x += w + size * 0.3
    return words


def two_column_page(number, left, right, footer, footnote=None):
    rows = [row(f"Informe de autoevaluación — página {number}", 60, 30)]
    rows += [row(t, 60, 80 + 14 * i) for i, t in enumerate(left)]
    rows += [row(t, 320, 80 + 14 * i) for i, t in enumerate(right)]
    if footnote:
        rows.append(row(footnote, 60, 740, size=7))
    rows.append(row(footer, 60, 800, size=8))
    return Page(number=number, source=SourceKind.TEXT_LAYER, width=WIDTH, height=HEIGHT,
                lines=order_lines(rows, WIDTH, number))


LEFT = ["La Secretaría de la Función", "Pública coordinó a las", "dependencias del plan."]
RIGHT = ["Las organizaciones de la", "sociedad civil validaron", "los resultados finales."]


def test_left_column_is_read_before_the_right_one():
    page = two_column_page(1, LEFT, RIGHT, "Av. Reforma 10, CDMX. Tel. 55 1111 2222 1")
    texts = [ln.text for ln in page.lines]
    assert texts.index(LEFT[-1]) < texts.index(RIGHT[0])
    assert [ln.column for ln in page.lines if ln.text in LEFT] == [0, 0, 0]
    assert [ln.column for ln in page.lines if ln.text in RIGHT] == [1, 1, 1]
    assert "Función Pública coordinó" in " ".join(texts)  # the sentence stays whole


def test_recurring_header_and_footer_leave_the_body_and_footnotes_are_kept():
    pages = [
        two_column_page(n, [f"{t} ({n})" for t in LEFT], [f"{t} ({n})" for t in RIGHT],
                        f"Av. Reforma 10, Col. Centro, CDMX. Tel. 55 1111 2222 {n}",
                        footnote=f"{n} Consultable en el sitio del plan, nota {n}.")
        for n in range(1, 5)
    ]
    doc = analyse(Document(path="x.pdf", sha256="0", source=SourceKind.TEXT_LAYER, pages=pages))
    for p in doc.pages:
        body = p.body_text()
        assert "Reforma" not in body and "página" not in body
        assert f"{LEFT[0]} ({p.number})" in body and f"{RIGHT[-1]} ({p.number})" in body
        assert [f.number for f in p.footnotes] == [str(p.number)]
        roles = {ln.text: ln.role for ln in p.lines}
        assert roles[f"Informe de autoevaluación — página {p.number}"] == LineRole.HEADER
    assert [p.label for p in doc.pages] == ["1", "2", "3", "4"]


def test_single_column_page_keeps_top_to_bottom_order():
    rows = [row(f"Línea número {i} del texto corrido de la página", 60, 80 + 14 * i) for i in range(8)]
    lines = order_lines(rows, WIDTH, 1)
    assert [ln.text for ln in lines] == [f"Línea número {i} del texto corrido de la página" for i in range(8)]


def test_a_line_a_few_points_left_of_its_column_stays_in_the_column():
    rows = [row(t, 60, 80 + 14 * i) for i, t in enumerate(LEFT)]
    rows += [row(t, 320, 80 + 14 * i) for i, t in enumerate(RIGHT)]
    rows.append(row("Autoevaluación: Compromiso completado", 317, 80 + 14 * 3))  # OCR box 3 pt off
    texts = [ln.text for ln in order_lines(rows, WIDTH, 1)]
    assert texts == LEFT + RIGHT + ["Autoevaluación: Compromiso completado"]


def ocr_page(number):
    """An OCR'd page: footnotes in smaller print whose boxes are as tall as the body's (ascenders
    and descenders), one of them wrapping onto a column line, "Consultable en:" at every foot."""
    rows = [row("Informe de autoevaluación del plan de acción", 60, 30)]
    rows += [row(f"{t} ({number})", 60, 80 + 14 * i) for i, t in enumerate(LEFT + ["gobierno abierto."])]
    rows += [row(f"{t} ({number})", 320, 80 + 14 * i) for i, t in enumerate(RIGHT)]
    small = dict(size=10.0, char_width=4.0)  # body: 5 pt a character
    n = 2 * number
    rows.append(row(f"{n - 1} El Mecanismo evalúa el cumplimiento de los compromisos del plan de acción y sus", 60, 720, **small))
    rows.append(row("resultados.", 60, 731, **small))
    rows.append(row(f"{n} Consultable en:", 60, 742, **small))
    rows.append(row("https://www.ejemplo.org/documentos/informe-de-resultados-del-plan-2019-2022", 60, 753, **small))
    rows.append(row(f"Av. Reforma 10, Col. Centro, CDMX. Tel. 55 1111 2222 {number}", 60, 800, size=8))
    return Page(number=number, source=SourceKind.OCR, width=WIDTH, height=HEIGHT,
                lines=order_lines(rows, WIDTH, number))


def test_ocr_footnotes_are_told_by_their_density_and_are_not_furniture():
    doc = analyse(Document(path="x.pdf", sha256="0", source=SourceKind.OCR, pages=[ocr_page(n) for n in range(1, 5)]))
    for p in doc.pages:
        n = 2 * p.number
        assert [f.number for f in p.footnotes] == [str(n - 1), str(n)]
        assert p.footnotes[0].text.endswith("y sus resultados.")
        assert p.footnotes[1].text == "Consultable en: https://www.ejemplo.org/documentos/informe-de-resultados-del-plan-2019-2022"
        roles = {ln.text: ln.role for ln in p.lines}
        assert roles[f"gobierno abierto. ({p.number})"] == LineRole.BODY  # resembles the header, is body
        assert roles["Informe de autoevaluación del plan de acción"] == LineRole.HEADER
        assert "Reforma" not in p.body_text() and "Consultable" not in p.body_text()


def test_the_next_columns_body_does_not_continue_a_left_column_footnote():
    """Reading order puts the right column after the left column's footnotes; a dense right-column
    line higher up the page is body, not the footnote's next line."""
    small = dict(size=10.0, char_width=4.0)
    rows = [row(t, 60, 80 + 14 * i) for i, t in enumerate(LEFT * 3)]
    rows.append(row("7 Consultable en el tablero de seguimiento del plan.", 60, 740, **small))
    rows.append(row("La Secretaría de la Función Pública", 320, 80, **small))  # opens the right column
    rows += [row(t, 320, 94 + 14 * i) for i, t in enumerate(RIGHT * 3)]
    page = Page(number=1, source=SourceKind.OCR, width=WIDTH, height=HEIGHT, lines=order_lines(rows, WIDTH, 1))
    doc = analyse(Document(path="x.pdf", sha256="0", source=SourceKind.OCR, pages=[page]))
    assert [f.text for f in doc.pages[0].footnotes] == ["Consultable en el tablero de seguimiento del plan."]
    assert "La Secretaría de la Función Pública" in doc.pages[0].body_text()
