"""searchable.pdf (pipeline.searchable): the input's pages as they are, the repaired words as the
invisible text layer of the OCR'd pages at their boxes, PDF/A-2b declared and approved by pikepdf's
PDF/A validator (veraPDF is neither on PyPI nor in Debian, so it is not run here)."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline import ingest, process
from pipeline.layout import analyse
from pipeline.models import BBox, CommitmentReport, Document, Line, Page, SourceKind, Word
from pipeline.searchable import SearchablePdfFailed, place_words, write_searchable_pdf
from tests.conftest import GOLD_PAGES
from tests.fixtures.generate import FONT, read_text_pages

SAMPLES = Path("corpus")


# ----------------------------------------------------------------------------- what a PDF holds
def page_texts(path: Path) -> list[str]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def tokens(text: str) -> set[str]:
    """The words of a text, a PDF layer's hyphen at a line end (which PDFium gives as U+FFFE and
    joins to the next line's word) put back as a hyphen and a break, as the text it came from has it."""
    return set(text.replace("\ufffe", "-\n").split())


def pages_as_printed(path: Path) -> list[tuple]:
    """Each page's size, rotation and images (their bytes, as stored): what the text layer must not change."""
    with pikepdf.open(path) as pdf:
        return [(tuple(float(v) for v in page.mediabox), int(page.obj.get("/Rotate", 0)),
                 sorted(hashlib.sha256(img.read_raw_bytes()).hexdigest() for img in page.get_images().values()))
                for page in pdf.pages]


def pdfa_part(path: Path) -> str:
    with pikepdf.open(path) as pdf, pdf.open_metadata() as meta:
        return meta.pdfa_status


def validated_pdfa(path: Path) -> bool:
    from pikepdf.pdfa import Flavour, validate_written

    return validate_written(path, Flavour("2b")).passed


def assert_repairs_found(path: Path, corrections, at_least: int) -> None:
    """Every applied correction's replacement is in the text layer of its page, and what it replaced
    is not (unless repair left the same misread elsewhere on that page, flagged)."""
    texts = page_texts(path)
    checked = 0
    for c in corrections:
        if not c.applied or "\n" in c.replacement:
            continue
        page = texts[c.page - 1]
        for word in c.replacement.split():
            assert word in page, (c, page[:300])
        misread = c.original.replace(" ⏎ ", " ").split()
        if c.original.strip() and tokens(c.original) != tokens(c.replacement):
            kept = {x.original for x in corrections if x.page == c.page and not x.applied}
            assert not [w for w in misread if w in tokens(page) and w not in kept and w not in c.replacement.split()], c
        checked += 1
    assert checked >= at_least


# ---------------------------------------------------------------------- placing repaired words
def w(text: str, x0: float, x1: float, top: float = 100.0, bottom: float = 110.0) -> Word:
    return Word(text=text, bbox=BBox(x0=x0, top=top, x1=x1, bottom=bottom), conf=90.0)


def boxes(placed) -> list[tuple[str, tuple[float, float]]]:
    return [(p.text, (round(p.bbox.x0, 2), round(p.bbox.x1, 2))) for p in placed]


def test_an_unchanged_line_keeps_its_words_and_boxes():
    words = [w("El", 10, 20), w("plan", 25, 50)]
    assert boxes(place_words(words, "El plan")) == [("El", (10, 20)), ("plan", (25, 50))]


def test_a_repaired_word_keeps_the_box_of_the_misread():
    words = [w("El", 10, 20), w("disefio", 25, 95), w("éPor", 100, 130), w("qué", 135, 160)]
    assert boxes(place_words(words, "El diseño ¿Por qué")) == [
        ("El", (10, 20)), ("diseño", (25, 95)), ("¿Por", (100, 130)), ("qué", (135, 160))]


def test_a_word_repair_split_shares_its_box_and_words_it_joined_take_the_union():
    split = place_words([w("delgobierno", 0, 110)], "del gobierno")
    assert boxes(split) == [("del", (0, 30)), ("gobierno", (30, 110))]
    joined = place_words([w("acci", 0, 40), w("ón", 45, 65)], "acción")
    assert boxes(joined) == [("acción", (0, 65))]


def test_a_word_rejoined_across_a_line_end_takes_the_box_of_its_first_part():
    first = [w("La", 0, 20), w("participa-", 25, 100)]
    second = [w("cién", 0, 40), w("amplia.", 45, 100)]
    assert boxes(place_words(first, "La participación")) == [("La", (0, 20)), ("participación", (25, 100))]
    assert boxes(place_words(second, "amplia.")) == [("amplia.", (45, 100))]


def test_an_inserted_word_goes_with_its_neighbour():
    assert boxes(place_words([w("IRM", 0, 30), w("!!", 32, 40)], "IRM [^11]")) == [("IRM", (0, 30)), ("[^11]", (32, 40))]
    assert boxes(place_words([w("IRM", 0, 30)], "IRM [^11]")) == [("IRM [^11]", (0, 30))]
    assert boxes(place_words([w("plan", 10, 50)], "• plan")) == [("• plan", (10, 50))]


# ------------------------------------------------------------- a scan read with misreads (no OCR)
PRINTED = ["El diseño del plan de acción fue participativo.",
           "¿Por qué se eligió este compromiso?",
           "La participación de la sociedad civil fue amplia."]
READ = ["El disefio del plan de accién fue participativo.",  # as Tesseract's English model reads them
        "éPor qué se eligió este compromiso?",
        "La participacién de la sociedad civil fue amplia."]


def scan_and_reading(path: Path, dpi: int = 150) -> Document:
    """A one-page scan (an image-only PDF) of PRINTED, and a Document that read it as READ, each word
    at the box where it is printed: what ingest gives for a scan, without running Tesseract."""
    scale = dpi / 72
    image = Image.new("L", (round(595 * scale), round(842 * scale)), 255)
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(FONT, round(11 * scale))
    lines = []
    for n, (printed, read) in enumerate(zip(PRINTED, READ), 1):
        x, y, words = 72 * scale, (72 + 20 * n) * scale, []
        for shown, text in zip(printed.split(), read.split()):
            left, top, right, bottom = draw.textbbox((x, y), shown, font=font)
            draw.text((x, y), shown, font=font, fill=0)
            words.append(Word(text=text, bbox=BBox(x0=left / scale, top=top / scale, x1=right / scale,
                                                   bottom=bottom / scale), conf=90.0))
            x = right + draw.textlength(" ", font=font)
        lines.append(Line(text=read, page=1, line=n, words=words, bbox=BBox.union([v.bbox for v in words])))
    image.save(path, "PDF", resolution=dpi)
    return Document(path=str(path), sha256="0" * 64, source=SourceKind.OCR,
                    pages=[Page(number=1, source=SourceKind.OCR, width=595.0, height=842.0, lines=lines)])


def test_a_scan_gets_the_repaired_words_at_their_boxes_as_pdfa(tmp_path):
    source = tmp_path / "scan.pdf"
    doc = scan_and_reading(source)
    repaired = process.repair_document(doc)
    made = write_searchable_pdf(source, doc, repaired, tmp_path / "out" / "searchable.pdf")
    assert made.pdfa and made.text_pages == [1]
    [text] = page_texts(made.path)
    for word in ("diseño", "acción", "¿Por qué", "participación"):
        assert word in text
    assert not tokens(text) & {"disefio", "accién", "éPor", "participacién"}
    assert pages_as_printed(made.path) == pages_as_printed(source)
    assert pdfa_part(made.path) == "2B" and validated_pdfa(made.path)
    with pikepdf.open(made.path) as pdf:
        assert str(pdf.Root.Lang) == "es" and str(pdf.docinfo.Title) == "scan"
        assert "ogp-pipeline" in str(pdf.docinfo.Creator)
    # each repaired word lies where its misread was printed
    pdf = pdfium.PdfDocument(str(made.path))
    page, read = pdf[0], {w.text: w.bbox for w in doc.pages[0].lines[0].words}
    found = page.get_textpage().search("diseño", match_whole_word=True).get_next()
    chars = [page.get_textpage().get_charbox(i) for i in range(found[0], found[0] + found[1])]
    left, right = min(c[0] for c in chars), max(c[2] for c in chars)
    bottom, top = page.get_height() - min(c[1] for c in chars), page.get_height() - max(c[3] for c in chars)
    box = read["disefio"]
    assert abs(left - box.x0) < 2 and abs(right - box.x1) < 2 and box.top - 2 < top < bottom < box.bottom + 2
    pdf.close()
    assert [p.name for p in made.path.parent.iterdir()] == ["searchable.pdf"]  # no temp file left


@pytest.mark.parametrize("ocrd", [False, True], ids=["read-from-its-layer", "ocrd-but-showing-text"])
def test_text_layer_pages_are_copied_as_they_are(ocrd, tmp_path):
    """A page read from its text layer, and one OCR'd although it shows text (for its pictures, or
    too few words): no second layer of its words, no change to it."""
    source = SAMPLES / "sample-text-layer.pdf"
    doc = analyse(ingest.load(source))
    if ocrd:
        doc.pages[0].source = SourceKind.OCR
    made = write_searchable_pdf(source, doc, process.repair_document(doc), tmp_path / "searchable.pdf")
    assert made.text_pages == []
    assert page_texts(made.path) == page_texts(source)  # no second layer
    with pikepdf.open(source) as a, pikepdf.open(made.path) as b:
        assert [p.obj.Contents.read_bytes() for p in a.pages] == [p.obj.Contents.read_bytes() for p in b.pages]
    assert pages_as_printed(made.path) == pages_as_printed(source)


def test_every_pdfium_document_is_opened_under_the_process_lock(tmp_path, monkeypatch):
    """PDFium is not thread-safe and OCRmyPDF calls its hooks from worker threads: a document opened
    there, outside the lock, once corrupted PDFium for the rest of the process (later files all failed
    with "Data format error"). Making searchable.pdf opens every PDFium document under the one lock."""
    from pipeline import pdfium_lock

    source = tmp_path / "scan.pdf"
    doc = scan_and_reading(source)
    repaired = process.repair_document(doc)
    opened, real = [], pdfium.PdfDocument

    def watched(*args, **kwargs):
        opened.append(pdfium_lock.LOCK.locked())
        return real(*args, **kwargs)

    monkeypatch.setattr(pdfium, "PdfDocument", watched)
    made = write_searchable_pdf(source, doc, repaired, tmp_path / "searchable.pdf")
    monkeypatch.undo()
    assert made.text_pages == [1] and opened and all(opened)
    assert "diseño" in page_texts(made.path)[0]


def test_a_scan_page_that_gave_no_words_gets_no_words(tmp_path):
    source = tmp_path / "scan.pdf"
    doc = scan_and_reading(source)
    doc.pages[0].lines = []  # Tesseract read nothing (or failed: the page is kept empty)
    made = write_searchable_pdf(source, doc, process.repair_document(doc), tmp_path / "searchable.pdf")
    assert made.text_pages == [] and page_texts(made.path) == [""]
    assert pages_as_printed(made.path) == pages_as_printed(source)


def test_a_pdf_that_cannot_be_given_a_layer_is_a_typed_failure_and_a_partial_report(tmp_path):
    source = tmp_path / "scan.pdf"
    doc = scan_and_reading(source)
    source.write_bytes(source.read_bytes()[:200])  # truncated after it was read
    with pytest.raises(SearchablePdfFailed) as failed:
        write_searchable_pdf(source, doc, process.repair_document(doc), tmp_path / "out" / "searchable.pdf")
    assert str(source) in str(failed.value) and failed.value.hint
    assert not (tmp_path / "out" / "searchable.pdf").exists()
    result = process.outcome(doc, CommitmentReport(report="scan", commitments=[]), [failed.value.to_dict()])
    assert result["outcome"] == "partial"
    assert any(w["reason"].startswith("SearchablePdfFailed") and w["hint"] for w in result["warnings"])


# --------------------------------------------------------------------------- the flow's output
def test_ogp_run_writes_searchable_pdf_unless_told_not_to(prefect_harness, tmp_path, monkeypatch):
    import pipeline.searchable
    from flows.report import process_corpus

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "sample-text-layer.pdf", src / "plan.pdf")
    (src / "notes.txt").write_text("Compromiso 1: Datos abiertos\nUn texto de prueba.\n", encoding="utf-8")
    summaries = {s["report"]: s for s in process_corpus([src], tmp_path / "out")}
    assert summaries["plan"]["outcome"] == "success"
    assert (tmp_path / "out" / "plan" / "searchable.pdf").exists()
    assert (tmp_path / "out" / "notes" / "clean.txt").exists()
    assert not (tmp_path / "out" / "notes" / "searchable.pdf").exists()  # a text file has no PDF
    process_corpus([src], tmp_path / "no-pdf", pdf=False)
    assert not (tmp_path / "no-pdf" / "plan" / "searchable.pdf").exists()

    def fails(source, *args, **kwargs):
        raise SearchablePdfFailed(str(source), "searchable.pdf could not be made: a damaged page tree")

    monkeypatch.setattr(pipeline.searchable, "write_searchable_pdf", fails)
    [summary] = [s for s in process_corpus([src / "plan.pdf"], tmp_path / "failing")]
    assert summary["ok"] and summary["outcome"] == "partial"
    assert any("SearchablePdfFailed" in w["reason"] for w in summary["warnings"])
    assert (tmp_path / "failing" / "plan" / "commitments.json").exists()
    assert not (tmp_path / "failing" / "plan" / "searchable.pdf").exists()


# ------------------------------------------------------------------------ real scans, Tesseract
@pytest.mark.slow
@pytest.mark.parametrize("lang", ["spa", "eng"])
def test_sample_scan_has_the_repaired_words_on_their_pages(lang, tmp_path):
    """corpus/sample-scanned.pdf (gold pages 4-5) read by Tesseract in Spanish, and in English,
    whose misreads of Spanish (`accién`, `disefio`) repair fixes."""
    source = SAMPLES / "sample-scanned.pdf"
    doc = analyse(ingest.load(source, lang=lang))
    repaired = process.repair_document(doc)
    made = write_searchable_pdf(source, doc, repaired, tmp_path / "searchable.pdf", lang=lang)
    assert made.pdfa and pdfa_part(made.path) == "2B" and validated_pdfa(made.path)
    assert pages_as_printed(made.path) == pages_as_printed(source)
    assert_repairs_found(made.path, repaired.corrections, at_least=5 if lang == "spa" else 10)
    texts = page_texts(made.path)
    for n, gold in enumerate(read_text_pages(GOLD_PAGES)[3:5]):
        accented = [x for x in dict.fromkeys(re.findall(r"\w*[áéíóúñ]\w*", " ".join(gold.body))) if len(x) > 4]
        found = [x for x in accented if x in texts[n]]
        assert len(found) >= 0.9 * len(accented) and len(found) >= 10, set(accented) - set(found)


def test_gold_page_scan_has_the_repaired_words_on_their_pages(gold_page_pdfs, tmp_path):
    """The scan of the seed's 26 gold pages the extraction tests read: each applied correction on its
    page, ten accented words of each gold page on its page, the scan as it was, PDF/A-2b."""
    source, doc = gold_page_pdfs["scanned"]
    repaired = process.repair_document(doc)
    made = write_searchable_pdf(source, doc, repaired, tmp_path / "searchable.pdf")
    assert made.text_pages == list(range(1, 27))
    assert made.pdfa and pdfa_part(made.path) == "2B" and validated_pdfa(made.path)
    assert pages_as_printed(made.path) == pages_as_printed(source)
    assert_repairs_found(made.path, repaired.corrections, at_least=50)
    texts = page_texts(made.path)
    for n, gold in enumerate(read_text_pages(GOLD_PAGES)):
        accented = list(dict.fromkeys(re.findall(r"\w*[áéíóúñ¿]\w*", " ".join(gold.body))))[:10]
        assert [x for x in accented if x not in texts[n]] == [], n + 1


def test_a_reocrd_page_loses_its_old_layer_and_a_text_page_keeps_its_own(gold_page_pdfs, tmp_path):
    """The poor-layer version: pages OCR'd again carry only the repaired layer (the old invisible one
    is stripped), pages read from their layer are copied with it."""
    source, doc = gold_page_pdfs["poor-layer"]
    made = write_searchable_pdf(source, doc, process.repair_document(doc), tmp_path / "searchable.pdf")
    ocrd = [p.number for p in doc.pages if p.source is SourceKind.OCR]
    assert made.text_pages == ocrd and 0 < len(ocrd) < len(doc.pages)
    before, after = page_texts(source), page_texts(made.path)
    clean = process.clean_text(doc, process.repair_document(doc)).split("\f")
    for n, page in enumerate(doc.pages):
        if page.number in ocrd:
            ours = " ".join([clean[n]] + [ln.text for ln in page.lines])
            assert not tokens(after[n]) & (tokens(before[n]) - tokens(ours))  # nothing left of the old layer
            assert len(after[n].split()) <= len(" ".join(ln.text for ln in page.lines).split()) + 5  # nor twice ours
        else:
            assert after[n] == before[n]
    assert pages_as_printed(made.path) == pages_as_printed(source)
