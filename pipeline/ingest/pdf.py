"""PDF reports: open and validate, read the text layer, judge its quality, get each page's image (a scan's own, or rendered) and OCR it.

Each page is read on its own (`read_text_layer`, `ocr_page`) so that callers can process pages in
parallel and one page at a time; `plan_pages` decides per page which of the two to use.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import statistics
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from pipeline.errors import EmptyPdf, EncryptedPdf, OcrFailed, UnreadablePdf
from pipeline.layout import order_lines
from pipeline.models import BBox, Line, Page, SourceKind, Word

DEFAULT_DPI = 300
DEFAULT_LANG = "spa"
# A text layer with a smaller share of known words is re-OCR'd. "Known" means common enough
# (wordfreq Zipf >= 2.5): web text is full of unaccented misspellings (informacion, publica), so a
# mere presence test lets an English-OCR layer pass. Measured on fixture PDFs and the seed: good
# layers and hand-corrected pages 0.969-0.993, English-OCR layers and the seed's raw OCR 0.85-0.88.
KNOWN_ZIPF = 2.5
DEFAULT_MIN_QUALITY = 0.93
# Tesseract is killed after this long on one page (a pathological page must not stall a batch)
DEFAULT_OCR_TIMEOUT = 180
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)

# PDFium is not thread-safe, not even across documents (pypdfium2's docs: concurrent calls crash or
# corrupt the process), and the flows read pages in threads: every PDFium call holds this lock.
# (Without it a 300-page scan failed 2 runs in 3 with PdfiumError; rendering is ~0.1 s of a ~1 s page.)
_PDFIUM = threading.Lock()


@dataclass(frozen=True)
class PagePlan:
    number: int  # 1-based
    method: str  # "text-layer" or "ocr"
    text_quality: float | None  # share of known words in the text layer; None: no text layer


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def page_count(path: Path) -> int:
    """Validate the PDF and return its page count, or raise a typed error naming the fix."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise UnreadablePdf(str(path), f"not a PDF (it starts with {head[:16]!r})")
    try:
        with _PDFIUM:
            doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        # PDFium also refuses a well-formed PDF with no pages (and its error code is process-wide,
        # so it may still name the previous file's problem): pdfminer tells the cases apart
        if _pdfminer_page_count(path) == 0:
            raise EmptyPdf(str(path), "the PDF has zero pages") from exc
        if "password" in str(exc).lower():
            raise EncryptedPdf(str(path), "the PDF is encrypted") from exc
        raise UnreadablePdf(str(path), f"the PDF is damaged or truncated ({exc})") from exc
    with _PDFIUM:
        try:
            n = len(doc)
        finally:
            doc.close()
    if n == 0:
        raise EmptyPdf(str(path), "the PDF has zero pages")
    return n


def _pdfminer_page_count(path: Path) -> int | None:
    try:
        with pdfplumber.open(path) as pdf:
            return len(pdf.pages)
    except Exception:  # pdfminer raises many types on damaged files
        return None


def text_quality(words: list[str]) -> float | None:
    """Share of alphabetic words (3+ letters) a Spanish lexicon knows; None when there are none."""
    from wordfreq import zipf_frequency

    tokens = [m.group(0).lower() for w in words for m in _WORD.finditer(w)]
    if not tokens:
        return None
    known = sum(1 for t in tokens if zipf_frequency(t, "es") >= KNOWN_ZIPF)
    return known / len(tokens)


def plan_pages(path: Path, min_quality: float = DEFAULT_MIN_QUALITY) -> list[PagePlan]:
    """Per page: read the text layer when it exists and is good enough, else OCR."""
    plans = []
    try:
        with pdfplumber.open(path) as pdf:
            for i, page in enumerate(pdf.pages, start=1):
                words = [w["text"] for w in page.extract_words()]
                quality = text_quality(words) if words else None
                ok = quality is not None and quality >= min_quality
                plans.append(PagePlan(i, "text-layer" if ok else "ocr", quality))
                page.close()
    except Exception as exc:  # pdfminer raises many types on damaged files
        raise UnreadablePdf(str(path), f"pdfplumber cannot parse the PDF ({exc})") from exc
    return plans


def read_text_layer(path: Path, number: int, quality: float | None = None) -> Page:
    """Words with positions from the PDF's text layer, grouped into lines in reading order."""
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[number - 1]
        raw = page.extract_words(extra_attrs=["size"])
        width, height = float(page.width), float(page.height)
        page.close()
    words = [
        Word(text=w["text"], bbox=BBox(x0=w["x0"], top=w["top"], x1=w["x1"], bottom=w["bottom"]))
        for w in raw
    ]
    lines = order_lines(_group_into_lines(words), width, number)
    return Page(
        number=number,
        source=SourceKind.TEXT_LAYER,
        width=width,
        height=height,
        lines=lines,
        text_quality=quality,
    )


GUTTER_GAP = 1.5  # a gap between words wider than this many line heights is a column gutter


def _group_into_lines(words: list[Word]) -> list[list[Word]]:
    """Words on one baseline that are close horizontally form a line; a wide gap (a column
    gutter) splits them."""
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (round(w.bbox.top), w.bbox.x0)):
        h = w.bbox.bottom - w.bbox.top
        for row in rows:
            last = row[-1]
            same_row = abs(last.bbox.top - w.bbox.top) < 0.4 * h
            near = 0 <= w.bbox.x0 - last.bbox.x1 < GUTTER_GAP * h
            if same_row and near:
                row.append(w)
                break
        else:
            rows.append([w])
    return rows


def _split_at_gutters(words: list[Word]) -> list[list[Word]]:
    """A line Tesseract read across a column gutter (it sometimes joins the two columns' lines)
    split where the gap between two words is a gutter's, as for text layers."""
    words = sorted(words, key=lambda w: w.bbox.x0)
    h = statistics.median(w.bbox.bottom - w.bbox.top for w in words)
    parts = [[words[0]]]
    for prev, w in zip(words, words[1:]):
        if w.bbox.x0 - prev.bbox.x1 >= GUTTER_GAP * h:
            parts.append([])
        parts[-1].append(w)
    return parts


def page_image(path: Path, number: int, dpi: int = DEFAULT_DPI):
    """The page as a grayscale PIL image at `dpi`, and the page's size in points. A scanned page
    (one image covering the page, under nothing but an invisible text layer) gives its own image,
    decoded: ~10x cheaper than rendering the page (13 ms vs 110-130 ms for an A4 JPEG at 300 dpi,
    and it holds the PDFium lock only that long), and the scanner's own pixels, not a resampling of
    them. Any other page is rendered."""
    with _PDFIUM:
        doc = pdfium.PdfDocument(str(path))
        try:
            page = doc[number - 1]
            size = page.get_size()
            scan = _scan_image(page)
            image = _decode(scan) if scan is not None else None
            rendered = image is None
            if rendered:
                image = _render(page, dpi)
            page.close()
        finally:
            doc.close()
    target = (math.ceil(size[0] * dpi / 72), math.ceil(size[1] * dpi / 72))  # as rendering sizes it
    if not rendered and any(abs(got - want) > SCAN_FIT * want for got, want in zip(image.size, target)):
        image = image.resize(target, Image.Resampling.LANCZOS)  # a scan at another resolution
    return image, size


def _render(page: pdfium.PdfPage, dpi: int):
    """The page rendered in gray (pypdfium2; no poppler needed): Tesseract reads gray anyway, and
    it OCRs 25% faster than colour (measured on fixture pages)."""
    bitmap = page.render(scale=dpi / 72, grayscale=True)
    image = bitmap.to_pil().copy()  # own the pixels: the bitmap is freed here, under the lock
    bitmap.close()
    return image


# colour spaces whose decoded pixels are what the page shows (an image mask or a pattern is not)
_PLAIN_COLOURS = {
    pdfium_c.FPDF_COLORSPACE_DEVICEGRAY, pdfium_c.FPDF_COLORSPACE_DEVICERGB, pdfium_c.FPDF_COLORSPACE_DEVICECMYK,
    pdfium_c.FPDF_COLORSPACE_CALGRAY, pdfium_c.FPDF_COLORSPACE_CALRGB, pdfium_c.FPDF_COLORSPACE_ICCBASED,
    pdfium_c.FPDF_COLORSPACE_INDEXED,
}
SCAN_FIT = 0.01  # the image's edges lie within this share of the page's size from the page's edges


def _scan_image(page: pdfium.PdfPage) -> pdfium.PdfImage | None:
    """The page's image when the page is a plain scan: no rotation, one upright image covering the
    crop box, and besides it only invisible text (an OCR layer); else None."""
    if page.get_rotation() != 0:
        return None
    images = []
    for obj in page.get_objects(max_depth=1):  # a form XObject is not looked into: the page is rendered
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            images.append(obj)
        elif not (obj.type == pdfium_c.FPDF_PAGEOBJ_TEXT
                  and pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw) == pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE):
            return None
    if len(images) != 1:
        return None
    image = images[0]
    m = image.get_matrix()
    if not (m.a > 0 and m.d > 0 and m.b == 0 and m.c == 0):
        return None  # rotated, skewed or mirrored
    left, bottom, right, top = page.get_cropbox()
    tol_x, tol_y = SCAN_FIT * (right - left), SCAN_FIT * (top - bottom)
    x0, y0, x1, y1 = image.get_bounds()
    if abs(x0 - left) > tol_x or abs(x1 - right) > tol_x or abs(y0 - bottom) > tol_y or abs(y1 - top) > tol_y:
        return None
    if image.get_metadata().colorspace not in _PLAIN_COLOURS:
        return None
    return image


def _decode(image: pdfium.PdfImage):
    """The image's pixels in gray, or None when PDFium cannot decode them on their own."""
    try:
        bitmap = image.get_bitmap(render=False)
    except pdfium.PdfiumError:
        return None
    decoded = bitmap.to_pil()
    gray = decoded.convert("L") if decoded.mode != "L" else decoded.copy()
    bitmap.warn_on_close = False  # PDFium owns the buffer; closing it is safe, the pixels are copied
    bitmap.close()
    return gray


def ocr_page(
    path: Path,
    number: int,
    dpi: int = DEFAULT_DPI,
    lang: str = DEFAULT_LANG,
    quality: float | None = None,
    timeout: float = DEFAULT_OCR_TIMEOUT,
) -> Page:
    """One page's image (`page_image`) OCR'd with Tesseract (one thread), keeping word boxes (in PDF
    points) and confidences."""
    import pytesseract

    os.environ["OMP_THREAD_LIMIT"] = "1"  # Tesseract's OpenMP threads are 10x slower here
    image, (width, height) = page_image(path, number, dpi)
    try:
        # an uncompressed PGM handed over by path: pytesseract would otherwise write a PNG,
        # whose compression took a third of the page's time (0.26-0.49 s of 1.5 s at 300 dpi)
        with tempfile.TemporaryDirectory(prefix="ogp-ocr-") as tmp:
            image_file = Path(tmp) / "page.pgm"
            image.save(image_file, "PPM")
            data = pytesseract.image_to_data(
                str(image_file), lang=lang, config="--psm 3", output_type=pytesseract.Output.DICT,
                timeout=timeout,
            )
    except Exception as exc:  # TesseractError, TesseractNotFoundError, OSError
        raise OcrFailed(str(path), f"Tesseract failed: {exc}", page=number) from exc
    finally:
        image.close()
    kx, ky = width / image.width, height / image.height  # pixels to points (size outlives close())
    rows: dict[tuple[int, int, int], list[Word]] = {}
    for i, text in enumerate(data["text"]):
        if not text.strip():
            continue
        x, w = data["left"][i] * kx, data["width"][i] * kx
        y, h = data["top"][i] * ky, data["height"][i] * ky
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        rows.setdefault(key, []).append(
            Word(text=text, bbox=BBox(x0=x, top=y, x1=x + w, bottom=y + h), conf=float(data["conf"][i]))
        )
    lines = order_lines([part for words in rows.values() for part in _split_at_gutters(words)], width, number)
    page = Page(
        number=number, source=SourceKind.OCR, width=width, height=height, lines=lines, text_quality=quality
    )
    if quality is not None:
        page.notes.append(f"text layer re-OCR'd: only {quality:.0%} of its words are known Spanish words")
    return page
