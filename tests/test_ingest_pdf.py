"""PDF ingest on generated reports: text layer, scan, poor OCR layer, broken files."""
import pdfplumber
import pytest
from rapidfuzz import fuzz

from pipeline import errors
from pipeline.ingest import load
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
