"""PDF ingest on generated reports: text layer, scan, poor OCR layer, broken files."""
import ctypes
import difflib
import math

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from rapidfuzz import fuzz

from pipeline import errors
from pipeline.ingest import load
from pipeline.ingest import pdf
from pipeline.ingest.pdf import ocr_page
from pipeline.layout import analyse
from pipeline.models import SourceKind

# a sentence that wraps over four lines of the left column of page 1
SENTENCE = ("La Secretaría de la Función Pública coordinó el diseño del compromiso junto con las "
            "organizaciones de la sociedad civil")


def flat(text):
    return " ".join(text.split())


def test_text_layer_is_read_column_by_column(sample_pdfs):
    folder, truth, _ = sample_pdfs
    path = folder / "text-layer.pdf"
    doc = analyse(load(path))
    page = doc.pages[0]
    assert page.source == SourceKind.TEXT_LAYER and page.text_quality > 0.95
    body = flat(page.body_text())
    assert SENTENCE in body
    assert body == flat(" ".join(truth["text-layer"].pages[0].body))
    # pdfplumber's plain extraction interleaves the columns: the sentence does not survive there
    with pdfplumber.open(path) as pdf:
        assert SENTENCE not in flat(pdf.pages[0].extract_text())
    assert "Reforma 510" not in body and "Alianza para el Gobierno" not in body
    assert [(f.number, f.page) for f in doc.footnotes()] == [("1", 1), ("2", 1), ("3", 2), ("4", 2)]
    assert [p.label for p in doc.pages] == ["1", "2"]
    assert all(w.bbox is not None for ln in page.lines for w in ln.words)


def test_scanned_pdf_is_ocrd_in_spanish_with_boxes_and_confidences(sample_pdfs):
    folder, truth, _ = sample_pdfs
    doc = analyse(load(folder / "scanned.pdf"))
    page = doc.pages[0]
    assert page.source == SourceKind.OCR
    words = [w for ln in page.lines for w in ln.words]
    assert words and all(w.bbox and w.conf is not None for w in words)
    body = flat(page.body_text())
    assert fuzz.partial_ratio(SENTENCE, body) > 95
    assert fuzz.ratio(body, flat(" ".join(truth["scanned"].pages[0].body))) > 95
    assert "Reforma 510" not in body
    assert [f.number for f in doc.footnotes()] == ["1", "2", "3", "4"]
    # page 2 is one Tesseract reads as single lines across both columns: split at the gutter, its
    # columns are read one after the other like the others
    second = flat(doc.pages[1].body_text())
    assert fuzz.ratio(second, flat(" ".join(truth["scanned"].pages[1].body))) > 95


def test_poor_text_layer_is_measured_and_reocrd(sample_pdfs):
    folder, _, _ = sample_pdfs
    path = folder / "poor-layer.pdf"
    with pdfplumber.open(path) as pdf:
        layer = pdf.pages[0].extract_text()
    assert "disefio" in layer or "Funcién" in layer or "coordin6" in layer  # the English-OCR artifacts
    doc = load(path)
    for page in doc.pages:
        assert page.source == SourceKind.OCR
        assert page.text_quality is not None and page.text_quality < 0.93
        assert any("re-OCR" in n for n in page.notes)
    assert "diseño" in doc.pages[0].body_text()


@pytest.mark.parametrize(
    "name, error",
    [
        ("empty", errors.EmptyInput),
        ("not-a-pdf", errors.UnreadablePdf),
        ("truncated", errors.UnreadablePdf),
        ("encrypted", errors.EncryptedPdf),
        ("zero-pages", errors.EmptyPdf),
    ],
)
def test_broken_files_fail_with_a_message_naming_the_file_and_the_fix(sample_pdfs, name, error):
    _, _, broken = sample_pdfs
    with pytest.raises(error) as info:
        load(broken[name])
    message = str(info.value)
    assert str(broken[name]) in message and info.value.hint and info.value.hint in message


def test_missing_file_is_named(tmp_path):
    with pytest.raises(errors.MissingInput, match="nowhere.pdf"):
        load(tmp_path / "nowhere.pdf")


def test_a_page_tesseract_cannot_finish_names_the_page(sample_pdfs):
    folder, _, _ = sample_pdfs
    with pytest.raises(errors.OcrFailed) as info:
        ocr_page(folder / "scanned.pdf", 2, timeout=0.01)
    assert info.value.page == 2 and "page 2" in str(info.value) and "scanned.pdf" in str(info.value)


def _render_refused(monkeypatch):
    def refuse(page, dpi):
        raise AssertionError("the page was rendered")

    monkeypatch.setattr(pdf, "_render", refuse)


def test_a_scanned_page_is_read_from_its_own_image_not_rendered(sample_pdfs, monkeypatch):
    folder, _, _ = sample_pdfs
    path = folder / "scanned.pdf"
    with pdfium.PdfDocument(str(path)) as doc:
        (embedded,) = [o for o in doc[0].get_objects() if o.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
        pixels = embedded.get_px_size()
    _render_refused(monkeypatch)
    image, size = pdf.page_image(path, 1, 300)
    assert image.mode == "L" and image.size == pixels  # the scanner's pixels, at their own 300 dpi
    assert size == pytest.approx((pixels[0] * 72 / 300, pixels[1] * 72 / 300), abs=0.5)


def test_a_scan_at_another_resolution_is_brought_to_the_dpi_asked_for(sample_pdfs, monkeypatch):
    folder, _, _ = sample_pdfs
    _render_refused(monkeypatch)
    image, (width, height) = pdf.page_image(folder / "scanned.pdf", 1, 150)
    assert image.size == (math.ceil(width * 150 / 72), math.ceil(height * 150 / 72))


def test_words_have_the_same_boxes_from_the_scan_image_as_from_the_rendered_page(sample_pdfs, monkeypatch):
    folder, _, _ = sample_pdfs
    direct = ocr_page(folder / "scanned.pdf", 1)
    monkeypatch.setattr(pdf, "_scan_image", lambda page: None)
    rendered = ocr_page(folder / "scanned.pdf", 1)
    a = [w for ln in direct.lines for w in ln.words]
    b = [w for ln in rendered.lines for w in ln.words]
    assert (direct.width, direct.height) == (rendered.width, rendered.height)
    assert fuzz.ratio(" ".join(w.text for w in a), " ".join(w.text for w in b)) > 99
    matcher = difflib.SequenceMatcher(a=[w.text for w in a], b=[w.text for w in b], autojunk=False)
    pairs = [(a[m.a + k].bbox, b[m.b + k].bbox) for m in matcher.get_matching_blocks() for k in range(m.size)]
    assert len(pairs) > 0.98 * len(a)
    # the same place on the page, to a pixel at 300 dpi (0.24 pt; Tesseract may box a stray letter otherwise)
    off = [max(abs(p - q) for p, q in zip(x.model_dump().values(), y.model_dump().values())) for x, y in pairs]
    assert sum(d <= 0.25 for d in off) >= 0.98 * len(off)


def _one_image_pdf(path, scan, bounds, rotation=0, text=None):
    """A page of A4 with the scan's JPEG drawn at `bounds` (x, y, width, height, in points)."""
    doc = pdfium.PdfDocument.new()
    page = doc.new_page(595.2, 841.9)
    image = pdfium.PdfImage.new(doc)
    image.load_jpeg(str(scan))
    x, y, w, h = bounds
    image.set_matrix(pdfium.PdfMatrix().scale(w, h).translate(x, y))
    page.insert_obj(image)
    if text is not None:
        obj = pdfium_c.FPDFPageObj_NewTextObj(doc.raw, b"Helvetica", 12.0)
        utf16 = ctypes.create_string_buffer((text + "\x00").encode("utf-16-le"))
        pdfium_c.FPDFText_SetText(obj, ctypes.cast(utf16, ctypes.POINTER(ctypes.c_ushort)))
        pdfium_c.FPDFTextObj_SetTextRenderMode(obj, pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE if text == "invisible"
                                               else pdfium_c.FPDF_TEXTRENDERMODE_FILL)
        pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 100, 700)
        pdfium_c.FPDFPage_InsertObject(page.raw, obj)
    page.set_rotation(rotation)
    page.gen_content()
    doc.save(str(path))
    return path


@pytest.mark.parametrize(
    "case, bounds, rotation, text, scan",
    [
        ("covers the page", (0, 0, 595.2, 841.9), 0, None, True),
        ("under an invisible OCR layer", (0, 0, 595.2, 841.9), 0, "invisible", True),
        ("under visible text", (0, 0, 595.2, 841.9), 0, "visible", False),
        ("on half the page", (0, 420, 595.2, 421), 0, None, False),
        ("on a rotated page", (0, 0, 595.2, 841.9), 90, None, False),
    ],
)
def test_only_a_plain_scan_is_read_from_its_image(tmp_path, case, bounds, rotation, text, scan):
    from PIL import Image

    jpeg = tmp_path / "scan.jpg"
    Image.new("L", (1240, 1754), 255).save(jpeg)  # A4 at 150 dpi
    path = _one_image_pdf(tmp_path / "page.pdf", jpeg, bounds, rotation, text)
    with pdfium.PdfDocument(str(path)) as doc:
        assert (pdf._scan_image(doc[0]) is not None) == scan, case


def test_fragments_read_twice_over_a_whole_line_are_dropped():
    from pipeline.ingest.pdf import _drop_overlapped
    from pipeline.models import BBox, Word

    def word(text, x0, top, x1):
        return Word(text=text, bbox=BBox(x0=x0, top=top, x1=x1, bottom=top + 12))

    whole = [word("ompromiso", 61, 178, 120), word("cumplido", 124, 178, 170), word("avances", 174, 178, 233)]
    fragments = [[word("ido", 153, 178, 161)], [word("omiso", 88, 179, 111)]]
    below = [word("limitados", 53, 192, 100)]
    mark = [word("€", 53, 180, 60)]
    assert _drop_overlapped([fragments[0], whole, fragments[1], mark, below]) == [whole, mark, below]


def test_a_drawn_text_layer_rich_in_names_is_read_not_reocrd(tmp_path):
    """A born-digital page whose text names many people, places and bodies the lexicon does not
    know (here ~75% known words) keeps its own text: only an invisible OCR layer must reach 0.93."""
    from fpdf import FPDF

    from pipeline.ingest import pdf as pdf_ingest

    doc = FPDF(unit="pt", format="A4")
    doc.add_font("Sans", fname="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    doc.add_page()
    doc.set_font("Sans", size=10)
    names = ["Montebravo", "Aurelia", "Velázquez", "Quispehuamán", "Tlalcozotitlán", "Ixchelbalam"]
    for k in range(30):
        doc.text(50, 60 + 14 * k, f"La {names[k % 6]} informa que la secretaría de {names[(k + 1) % 6]} publica datos abiertos.")
    doc.output(str(tmp_path / "names.pdf"))
    (plan,) = pdf_ingest.plan_pages(tmp_path / "names.pdf")
    assert plan.text_quality < 0.93 and plan.method == "text-layer"


def _ocr_line(y: float, spans: list[tuple[float, float]]) -> list:
    from pipeline.models import BBox, Word

    return [Word(text=f"w{k}", bbox=BBox(x0=a, top=y, x1=b, bottom=y + 10), conf=90.0) for k, (a, b) in enumerate(spans)]


def test_a_justified_lines_wide_spaces_are_no_gutter_but_a_channel_is():
    """Two columns, 40-300 and 320-560: a line Tesseract read across the gutter is split there;
    a justified line of the left column, whose spaces are as wide as a gutter (16 pt, 1.6 line
    heights), is not split: the lines above and below have words in those spaces."""
    from pipeline.ingest.pdf import _inked, _split_at_gutters

    prose = [_ocr_line(20 + 12 * k, [(40, 120), (124, 210), (214, 300)]) for k in range(8)]
    right = [_ocr_line(20 + 12 * k, [(320, 440), (444, 560)]) for k in range(8)]
    justified = _ocr_line(200, [(40, 100), (116, 180), (196, 300)])
    across = _ocr_line(212, [(40, 150), (154, 300), (320, 560)])
    rows = prose + right + [justified, across]
    inked = _inked(rows)
    assert len(_split_at_gutters(justified, inked, len(rows))) == 1
    assert [len(p) for p in _split_at_gutters(across, inked, len(rows))] == [2, 1]
