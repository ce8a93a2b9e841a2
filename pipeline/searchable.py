"""searchable.pdf: the input PDF, its pages as they are, with the repaired words as the invisible text
layer of every page the pipeline OCR'd, at the boxes Tesseract found them; PDF/A-2b where the input
allows.

Built with OCRmyPDF (`ocrmypdf.ocr`) and its OCR-engine plugin interface: this module is the plugin,
and its engine gives, for each page OCRmyPDF asks about, the repaired words instead of a new OCR.
OCRmyPDF then does what it does for its own OCR: renders the words as an invisible text layer
(fpdf2), grafts it onto the original page (pikepdf; the page's images and content untouched; an
old invisible OCR layer on a re-OCR'd page is stripped first: `--mode redo`), declares PDF/A-2b,
validated by pikepdf's own validator (`--pdfa-backend internal`, no Ghostscript: nothing is
re-encoded) or writes a plain PDF when the input cannot be PDF/A (`--output-type auto`), and sets the
metadata (title, `/Lang` from the language, the creator tool). Pages read from their own text layer
are not passed to OCRmyPDF (`--pages`) and are copied as they are; so is an OCR'd page that shows
text of its own (a screenshot page under a visible running footer): a hidden layer there would repeat
the visible words, and `--mode redo` would drop a tagged PDF's structure tree.

OCRmyPDF rasterizes every page it is given for its OCR engine to read; this engine reads only the
image's size, so the module's `rasterize_pdf_page` hook gives it a blank image of the size OCRmyPDF's
own rasterizer would make (the page's box at the resolution asked, as `ocrmypdf.builtin_plugins.pypdfium`
computes it) instead of a rendered one: rendering and PNG-encoding the pages was most of the file's cost
(3.5 s of 8 scanned pages here). The image never reaches the output: no page is deskewed, cleaned
or rotated, and the visible page is the input's own.

Repair changes a line's text, not its boxes: `place_words` aligns a repaired line with the words as
read, character by character, and gives each repaired word the box of the characters it came from:
a word repair split gets its share of the word's box, words it joined the union of theirs, a word
rejoined across a line-end hyphen the box of its first part.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from difflib import SequenceMatcher
from importlib.metadata import version
from pathlib import Path

import ocrmypdf
import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from ocrmypdf import BoundingBox, OcrClass, OcrElement, OcrEngine, OrientationConfidence, hookimpl
from PIL import Image

from pipeline import pdfium_lock
from pipeline.errors import PipelineError
from pipeline.export import atomic_path
from pipeline.models import BBox, Document, SourceKind, Word
from pipeline.repair import RepairResult

ENGINE = "ogp-repaired"  # OcrOptions.ocr_engine naming this module's engine
_LAYER = "ogp_text_layer"  # OcrOptions.extra_attrs key: page number (1-based) → PageLayer
_SIZES = "ogp_page_sizes"  # OcrOptions.extra_attrs key: page number (1-based) → (width, height), points
_TOKEN = re.compile(r"\S+")


class SearchablePdfFailed(PipelineError):
    hint = ("searchable.pdf was not written; the report's other outputs are complete. Run with --no-pdf "
            "to skip it, or check the PDF (a signed or damaged PDF cannot be given a text layer)")


@dataclass(frozen=True)
class LayerWord:
    text: str
    bbox: BBox  # PDF points, origin top-left, as the Document's boxes


@dataclass(frozen=True)
class PageLayer:
    width: float  # the page's size in points, as the Document has it
    height: float
    lines: list[list[LayerWord]]

    def text(self) -> str:
        return "\n".join(" ".join(w.text for w in line) for line in self.lines)


@dataclass(frozen=True)
class SearchablePdf:
    path: Path
    pdfa: bool  # declared PDF/A-2b (validated by pikepdf), else a plain PDF
    text_pages: list[int]  # the pages given a text layer (1-based); the others are as in the input


def place_words(words: list[Word], repaired: str) -> list[LayerWord]:
    """The words of `repaired` (a line's text after repair) with boxes taken from `words` (the line as
    read, each with its box): each repaired character is aligned with the printed character it came
    from, and a repaired word gets, from each printed word it draws on, the horizontal share of that
    word's box its characters span. A repaired word made only of inserted characters goes with the
    word before it (or after it, at the line's start)."""
    printed = " ".join(w.text for w in words)
    if repaired == printed:
        return [LayerWord(w.text, w.bbox) for w in words]
    owner: list[tuple[int, int] | None] = []  # printed character → (word, position in it); None for a space
    for k, w in enumerate(words):
        if k:
            owner.append(None)
        owner += [(k, i) for i in range(len(w.text))]
    source: list[int | None] = [None] * len(repaired)  # repaired character → printed character
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, printed, repaired, autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            for j in range(j1, j2):
                source[j] = i1 + (j - j1) * (i2 - i1) // (j2 - j1)
    placed: list[tuple[str, BBox | None]] = []
    for m in _TOKEN.finditer(repaired):
        chars = [owner[i] for i in (source[j] for j in range(m.start(), m.end())) if i is not None and owner[i]]
        placed.append((m.group(0), _span_box(words, chars) if chars else None))
    return _attach_unplaced(placed)


def _span_box(words: list[Word], chars: list[tuple[int, int]]) -> BBox:
    """The union, over the printed words `chars` fall in, of the slice of each word's box between the
    first and last of its characters there (in proportion to the character positions)."""
    spans: dict[int, tuple[int, int]] = {}
    for k, i in chars:
        lo, hi = spans.get(k, (i, i))
        spans[k] = (min(lo, i), max(hi, i))
    boxes = []
    for k, (lo, hi) in spans.items():
        b, n = words[k].bbox, len(words[k].text)
        width = b.x1 - b.x0
        boxes.append(BBox(x0=b.x0 + width * lo / n, top=b.top, x1=b.x0 + width * (hi + 1) / n, bottom=b.bottom))
    return BBox.union(boxes)


def _attach_unplaced(placed: list[tuple[str, BBox | None]]) -> list[LayerWord]:
    out: list[LayerWord] = []
    waiting: list[str] = []  # unplaced words before the line's first placed one
    for text, box in placed:
        if box is None and out:
            out[-1] = LayerWord(f"{out[-1].text} {text}", out[-1].bbox)
        elif box is None:
            waiting.append(text)
        else:
            out.append(LayerWord(" ".join(waiting + [text]), box))
            waiting = []
    return out


def text_layer(doc: Document, repaired: RepairResult) -> dict[int, PageLayer]:
    """For each OCR'd page with words, its lines in reading order, body lines as repaired (furniture
    and footnotes, which repair does not touch, as read), keyed by page number."""
    fixed = {(ln.page, ln.line): ln.text for ln in repaired.lines}
    layers = {}
    for page in doc.pages:
        if page.source is not SourceKind.OCR or not page.width or not page.height:
            continue
        lines = []
        for ln in page.lines:
            words = [w for w in ln.words if w.text and w.bbox and w.bbox.x1 > w.bbox.x0 and w.bbox.bottom > w.bbox.top]
            text = fixed.get((page.number, ln.line))
            placed = place_words(words, text) if words and text is not None else [LayerWord(w.text, w.bbox) for w in words]
            if placed:
                lines.append(placed)
        if lines:
            layers[page.number] = PageLayer(page.width, page.height, lines)
    return layers


def write_searchable_pdf(source: Path, doc: Document, repaired: RepairResult, target: Path,
                         lang: str = "spa") -> SearchablePdf:
    """`target` (written atomically): `source` with the repaired text layer (see the module's doc).
    `lang` is the Tesseract language the pages were read in (`spa`, `spa+eng`): its first language
    is the PDF's `/Lang`. Raises SearchablePdfFailed when OCRmyPDF cannot make the file."""
    try:
        # a page that shows text of its own (OCR'd for its pictures, or for having few words) keeps it
        # alone: a layer would repeat its visible words, and make OCRmyPDF drop the document's tags
        read = text_layer(doc, repaired)
        shown, sizes = _pages_seen(source, read)
        layers = {n: layer for n, layer in read.items() if not shown[n]}
        with pikepdf.open(source) as pdf:
            title = None if str(pdf.docinfo.get("/Title", "")).strip() else doc.name
        with atomic_path(target) as tmp, _notices_quiet():
            options = ocrmypdf.OcrOptions(
                input_file=source, output_file=tmp, languages=lang.split("+"), ocr_engine=ENGINE,
                # redo strips the invisible OCR layer of a re-OCR'd page before grafting ours on it
                # (and, as OCRmyPDF must, the document's structure tree); skip, when no page to be
                # given a layer has text, keeps a tagged born-digital PDF's structure
                mode="redo" if any(shown[n] is False for n in layers) else "skip",
                pages=",".join(map(str, sorted(layers))) or None,
                output_type="auto", pdfa_backend="internal", optimize=0, rasterizer="pypdfium",
                title=title, progress_bar=False, use_threads=True,
            )
            options.extra_attrs[_LAYER] = layers
            options.extra_attrs[_SIZES] = sizes
            ocrmypdf.ocr(options, plugins=[__name__])
            pdfa = options.extra_attrs.get("_actual_output_type") == "pdfa"
    # a permission error is not caught: it stays one (OutputNotWritable)
    except (ocrmypdf.ExitCodeException, pikepdf.PdfError, pdfium.PdfiumError) as exc:
        raise SearchablePdfFailed(str(source), f"searchable.pdf could not be made: {exc}") from exc
    return SearchablePdf(target, pdfa, sorted(layers))


def _pages_seen(source: Path, pages) -> tuple[dict[int, bool | None], dict[int, tuple[float, float]]]:
    """For each of `pages` (1-based): whether it shows text (None if it has none, False if all its
    text is invisible, an OCR layer, True if some is shown); and every page's size in points as PDFium
    gives it (OCRmyPDF may rasterize a page that has no layer).
    Read here, in the calling thread: PDFium is not thread-safe, and OCRmyPDF calls the rasterizer
    hook from its worker threads, where a second document opened at once corrupts PDFium's state
    for the rest of the process (every later file then fails with "Data format error")."""
    with pdfium_lock.LOCK:
        pdf = pdfium.PdfDocument(str(source))
        try:
            shown = {}
            for n in pages:
                modes = {pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
                         for obj in pdf[n - 1].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT])}
                shown[n] = bool(modes - {pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE}) if modes else None
            sizes = {n: pdf[n - 1].get_size() for n in range(1, len(pdf) + 1)}
            return shown, sizes
        finally:
            pdf.close()


@contextmanager
def _notices_quiet():
    """OCRmyPDF's warnings speak to its own command line's user (`--redo-ocr`, the dpi it renders
    at); while it makes searchable.pdf only its errors are logged."""
    log = logging.getLogger("ocrmypdf")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


class RepairedTextEngine(OcrEngine):
    """An OCRmyPDF OCR engine that reads nothing: a page's words are the pipeline's, repaired,
    handed over in the options (`_LAYER`), and placed on the image OCRmyPDF rasterized at the scale
    of the image to the page."""

    @staticmethod
    def version() -> str:
        return version("ogp-pipeline")

    @staticmethod
    def creator_tag(options) -> str:
        return f"ogp-pipeline {RepairedTextEngine.version()} (Tesseract OCR, repaired)"

    def __str__(self) -> str:
        return f"ogp-pipeline {self.version()} repaired text"

    @staticmethod
    def languages(options) -> set[str]:
        return set(options.languages)

    @staticmethod
    def get_orientation(input_file: Path, options) -> OrientationConfidence:
        return OrientationConfidence(angle=0, confidence=0.0)  # the pipeline reads pages as they are

    @staticmethod
    def supports_generate_ocr() -> bool:
        return True

    @staticmethod
    def generate_ocr(input_file: Path, options, page_number: int = 0) -> tuple[OcrElement, str]:
        with Image.open(input_file) as image:
            width, height = image.size
        # a page OCRmyPDF asks about that has no words here (`--mode skip` asks about every image
        # page without text) gets an empty layer
        layer = options.extra_attrs[_LAYER].get(page_number + 1) or PageLayer(width, height, [])
        scale = width / layer.width  # image pixels per point; OCRmyPDF rasterizes at one dpi both ways

        def box(b: BBox) -> BoundingBox:
            return BoundingBox(left=b.x0 * scale, top=b.top * scale, right=b.x1 * scale, bottom=b.bottom * scale)

        lines = [OcrElement(ocr_class=OcrClass.LINE, bbox=box(BBox.union([w.bbox for w in line])),
                            children=[OcrElement(ocr_class=OcrClass.WORD, bbox=box(w.bbox), text=w.text)
                                      for w in line])
                 for line in layer.lines]
        page = OcrElement(ocr_class=OcrClass.PAGE, bbox=BoundingBox(left=0, top=0, right=width, bottom=height),
                          dpi=72 * scale, page_number=page_number, language=options.languages[0], children=lines)
        return page, layer.text()

    @staticmethod
    def generate_hocr(input_file: Path, output_hocr: Path, output_text: Path, options) -> None:
        raise NotImplementedError("the repaired-text engine gives OcrElement trees (generate_ocr)")

    @staticmethod
    def generate_pdf(input_file: Path, output_pdf: Path, output_text: Path, options) -> None:
        raise NotImplementedError("the repaired-text engine gives OcrElement trees (generate_ocr)")


@hookimpl
def rasterize_pdf_page(input_file: Path, output_file: Path, raster_device, raster_dpi, pageno: int, page_dpi,
                       rotation: int | None, filter_vector: bool, stop_on_soft_error: bool, options,
                       use_cropbox: bool) -> Path | None:
    """OCRmyPDF's rasterizer hook, for this module's engine only: a blank image of the size its own
    rasterizer makes (the page's size at `raster_dpi`, sides swapped for a quarter turn), with the
    resolution `page_dpi` says; any other OCR engine gets OCRmyPDF's rendering."""
    if options is None or options.ocr_engine != ENGINE:
        return None
    width, height = options.extra_attrs[_SIZES][pageno]  # measured before, outside OCRmyPDF's threads
    size = (int(round(width * raster_dpi.x / 72.0)), int(round(height * raster_dpi.y / 72.0)))
    if rotation and rotation % 180 == 90:
        size = size[::-1]
    dpi = page_dpi or raster_dpi
    mode = "L" if Path(output_file).suffix.lower() in (".jpg", ".jpeg") else "1"  # a preview is a JPEG
    Image.new(mode, size, 255 if mode == "L" else 1).save(output_file, dpi=(dpi.x, dpi.y))
    return output_file


@hookimpl
def get_ocr_engine(options):
    """OCRmyPDF's plugin hook: this module's engine, when the options name it."""
    if options is not None and options.ocr_engine == ENGINE:
        return RepairedTextEngine()
    return None
