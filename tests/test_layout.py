"""Reading order, furniture and footnotes on pages with word boxes."""
from pipeline.layout import analyse, order_lines
from pipeline.models import BBox, Document, LineRole, Page, SourceKind, Word

WIDTH, HEIGHT = 595.0, 842.0


def row(text, x0, top, size=10.0):
    words, x = [], x0
    for t in text.split():
        w = len(t) * size * 0.5
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
