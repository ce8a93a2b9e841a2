"""PDF reports: open and validate, read the text layer, judge its quality, get each page's image (a scan's own, or rendered) and OCR it.

`plan_pages` parses every page's text layer once (pypdfium2: characters with boxes and fonts),
decides per page whether the layer is good enough, and hands a good page's reading on in its
plan; the other pages are OCR'd one by one (`ocr_page`), so that callers can process them in
parallel. pdfplumber (pdfminer) is kept only where PDFium cannot answer: telling a damaged file
from one with zero pages.
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import statistics
import tempfile
import threading
from array import array
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
    page: Page | None = None  # a text-layer page as read while planning (its layer is parsed once)


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
    """Per page: read the text layer when it exists and is good enough, else OCR.

    Each page's text layer is parsed here, once (pypdfium2): the quality check reads its words, and
    a page that passes carries its reading (`PagePlan.page`) on to `ingest.read_page`, which
    parses nothing again."""
    plans = []
    for number, layer in enumerate(_read_layers(path), start=1):
        quality = text_quality(_dehyphenated([w.text for w in layer.words])) if layer.words else None
        if quality is not None and quality >= min_quality:
            page = _layer_page(layer, number, quality)
            plans.append(PagePlan(number, "text-layer", quality, page))
        else:
            plans.append(PagePlan(number, "ocr", quality))
    return plans


def _dehyphenated(words: list[str]) -> list[str]:
    """Words in the layer's order with a word cut at a line-end hyphen joined to its rest
    (`prota-` `gonista`), so that the quality check measures the word, not its halves."""
    out: list[str] = []
    for w in words:
        if out and out[-1].endswith("-") and w[:1].islower():
            out[-1] = out[-1][:-1] + w
        else:
            out.append(w)
    return out


def read_text_layer(path: Path, number: int, quality: float | None = None) -> Page:
    """Words with positions, font size and weight from the PDF's text layer, grouped into lines in
    reading order (no OCR of its pictures: see `read_text_layer_page`)."""
    return _layer_page(_read_layers(path, number)[0], number, quality)


# ---------------------------------------------------------------------------------- text layer
# The text layer is read with pypdfium2: characters with their boxes, font size and font, ~30x
# faster than pdfplumber (pdfminer), which parses each page in Python (measured on a real 30-page
# report: 56 vs 1.9 pages/s). Boxes are PDFium's "loose" ones (the font's ascent to descent at the
# character's size, as pdfminer's): every character of a line has the same height whatever its
# glyph, which the layout's height tests (small print, line grouping) rely on.
_SOFT_HYPHENS = frozenset("\u00ad\ufffe\x02")  # PDFium reports a soft hyphen as U+FFFE (or 0x02)
BOLD_WEIGHT = 600  # a font weight from semibold up is bold
_FORCE_BOLD = 1 << 18  # the PDF font descriptor's ForceBold flag
_BOLD_NAME = re.compile(r"bold|black|heavy|demi|semibold", re.IGNORECASE)
# Within a word, the next character starts a new word when it is lower or higher than the last by
# more than this share of the line height (a new line: PDFium does not always insert a line break,
# e.g. after a soft hyphen) or further than this share of the height away horizontally (a gap
# PDFium did not mark with a space: a table cell beside another).
NEW_LINE_SHIFT = 0.5
WORD_GAP = 0.6


@dataclass
class _Layer:
    """One page's text layer as read from PDFium, before any layout."""

    width: float
    height: float
    words: list[Word]
    images: list[tuple[BBox, int, int]]  # each picture's box (points) and its size in pixels
    hrules: list[tuple[float, float, float]]  # horizontal ruling lines: (y, x0, x1)
    vrules: list[tuple[float, float, float]]  # vertical ruling lines: (x, top, bottom)


def _read_layers(path: Path, only: int | None = None) -> list[_Layer]:
    """The text layer of every page (or of page `only`), and each page's pictures."""
    layers = []
    try:
        with _PDFIUM:
            doc = pdfium.PdfDocument(str(path))
        try:
            numbers = [only] if only is not None else range(1, _locked(len, doc) + 1)
            for number in numbers:
                with _PDFIUM:
                    page = doc[number - 1]
                    try:
                        layers.append(_read_layer(page))
                    finally:
                        page.close()
        finally:
            with _PDFIUM:
                doc.close()
    except pdfium.PdfiumError as exc:
        raise UnreadablePdf(str(path), f"PDFium cannot read the text layer ({exc})") from exc
    return layers


def _locked(fn, *args):
    with _PDFIUM:
        return fn(*args)


def _read_layer(page: pdfium.PdfPage) -> _Layer:
    left, bottom, right, top = page.get_cropbox()
    textpage = page.get_textpage()
    try:
        words = _words(textpage.raw, textpage.count_chars(), left, top)
    finally:
        textpage.close()
    images, hrules, vrules = [], [], []
    for obj in page.get_objects(max_depth=1):  # a form XObject's own objects are in its own space
        if obj.type not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH):
            continue
        x0, y0, x1, y1 = obj.get_bounds()
        box = BBox(x0=max(x0, left) - left, top=top - min(y1, top), x1=min(x1, right) - left,
                   bottom=top - max(y0, bottom))
        w, h = box.x1 - box.x0, box.bottom - box.top
        if w <= 0 or h <= 0:
            continue
        if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            images.append((box, *obj.get_px_size()))
        elif h <= RULE_THICKNESS and w >= RULE_LENGTH * h:
            hrules.append(((box.top + box.bottom) / 2, box.x0, box.x1))
        elif w <= RULE_THICKNESS and h >= RULE_LENGTH * w:
            vrules.append(((box.x0 + box.x1) / 2, box.top, box.bottom))
        elif _stroked_rectangle(obj):  # a cell drawn as a box: its four edges are rules
            hrules += [(box.top, box.x0, box.x1), (box.bottom, box.x0, box.x1)]
            vrules += [(box.x0, box.top, box.bottom), (box.x1, box.top, box.bottom)]
    return _Layer(right - left, top - bottom, words, images, _joined_rules(hrules), _joined_rules(vrules))


# A path at most this thick (points) and this many times longer is a ruling line (a table's cell
# border); a border drawn in pieces (one per cell) is joined where the pieces meet within RULE_JOIN.
RULE_THICKNESS = 3.0
RULE_LENGTH = 4.0
RULE_JOIN = 3.0


def _stroked_rectangle(obj: pdfium.PdfObject) -> bool:
    """A path that strokes one rectangle (`re`, or a move and three or four lines), unrotated."""
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(obj.raw, ctypes.byref(fill), ctypes.byref(stroke)) or not stroke.value:
        return False
    if pdfium_c.FPDFPath_CountSegments(obj.raw) not in (4, 5):
        return False
    m = obj.get_matrix()
    return m.b == 0 and m.c == 0


def _joined_rules(rules: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    """Collinear rule pieces (same position, touching or overlapping spans) joined into one."""
    joined: list[tuple[float, float, float]] = []
    for pos, a, b in sorted(rules, key=lambda r: (round(r[0]), r[1])):
        if joined and abs(joined[-1][0] - pos) <= RULE_JOIN / 2 and a <= joined[-1][2] + RULE_JOIN:
            last = joined[-1]
            joined[-1] = (last[0], last[1], max(last[2], b))
        else:
            joined.append((pos, a, b))
    return joined


def _words(textpage, count: int, left: float, top: float) -> list[Word]:
    """The page's characters (one PDFium call for the text, one per character for its box) cut
    into words at spaces, line changes and wide gaps; font size, name and weight from each word's
    first character. A soft hyphen ends its word with "-" where the line breaks after it (repair
    joins such a word as it joins any hyphenated one) and is dropped elsewhere."""
    if count <= 0:
        return []
    buf = ctypes.create_string_buffer((count + 1) * 2)
    pdfium_c.FPDFText_GetText(textpage, 0, count, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    units = array("H", buf.raw[: count * 2])
    rect = pdfium_c.FS_RECTF()
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    fonts: dict[int, tuple[str | None, bool | None]] = {}
    words: list[Word] = []
    chars: list[str] = []
    first = 0
    x0 = x1 = y0 = y1 = 0.0
    soft = False

    def flush() -> None:
        nonlocal soft
        if chars:
            if soft:
                chars.append("-")
            size, name, bold = _font(textpage, first, fonts)
            words.append(Word(text="".join(chars), bbox=BBox(x0=x0, top=y0, x1=x1, bottom=y1),
                              font_size=size, bold=bold, font=name))
            chars.clear()
        soft = False

    i = 0
    while i < count:
        u = units[i]
        if 0xD800 <= u < 0xDC00 and i + 1 < count:  # a surrogate pair: one character, boxed at its first unit
            ch = chr(0x10000 + ((u - 0xD800) << 10) + (units[i + 1] - 0xDC00))
            step = 2
        else:
            ch, step = chr(u), 1
        if ch.isspace() or u == 0 or 0xDC00 <= u < 0xE000:
            flush()
        elif ch in _SOFT_HYPHENS:
            soft = bool(chars)
        else:
            get_box(textpage, i, ctypes.byref(rect))
            l, r, t, b = rect.left - left, rect.right - left, top - rect.top, top - rect.bottom
            if chars:
                h = max(y1 - y0, b - t, 1e-6)
                if abs(t - y0) > NEW_LINE_SHIFT * h or l < x0 or l - x1 > WORD_GAP * h:
                    flush()
                elif soft:
                    soft = False  # a soft hyphen inside a line is invisible
            if chars:
                x1, y0, y1 = max(x1, r), min(y0, t), max(y1, b)
            else:
                first, x0, x1, y0, y1 = i, l, r, t, b
            chars.append(ch)
        i += step
    flush()
    return words


def _font(textpage, index: int, fonts: dict) -> tuple[float | None, str | None, bool | None]:
    """The character's font size in points, its font name (without a subset prefix) and whether it
    is bold: from the font's weight, its ForceBold flag or its name (many embedded fonts state no
    weight). The size is the text object's, scaled by its matrix (InDesign sets 1-point type and
    scales it: `1 Tf` under a 10x matrix is 10-point text). Font facts are cached per font."""
    obj = pdfium_c.FPDFText_GetTextObject(textpage, index)
    font = pdfium_c.FPDFTextObj_GetFont(obj) if obj else None
    if not font:
        return None, None, None
    nominal, matrix = ctypes.c_float(), pdfium_c.FS_MATRIX()
    size = None
    if pdfium_c.FPDFTextObj_GetFontSize(obj, ctypes.byref(nominal)) and pdfium_c.FPDFPageObj_GetMatrix(
            obj, ctypes.byref(matrix)):
        size = round(nominal.value * math.hypot(matrix.c, matrix.d), 2) or None
    key = ctypes.cast(font, ctypes.c_void_p).value
    if key not in fonts:
        size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
        name_buf = ctypes.create_string_buffer(max(size, 1))
        pdfium_c.FPDFFont_GetBaseFontName(font, name_buf, size)
        name = name_buf.value.decode("utf-8", "replace")
        name = name.split("+", 1)[1] if re.match(r"^[A-Z]{6}\+", name) else name
        weight = pdfium_c.FPDFFont_GetWeight(font)
        flags = pdfium_c.FPDFFont_GetFlags(font)
        bold = weight >= BOLD_WEIGHT or bool(flags >= 0 and flags & _FORCE_BOLD) or bool(_BOLD_NAME.search(name))
        fonts[key] = (name or None, bold)
    return (size, *fonts[key])


def _layer_page(layer: _Layer, number: int, quality: float | None) -> Page:
    return Page(
        number=number,
        source=SourceKind.TEXT_LAYER,
        width=layer.width,
        height=layer.height,
        lines=order_lines(_group_into_lines(layer.words, layer.vrules), layer.width, number, layer.hrules),
        text_quality=quality,
    )
GUTTER_GAP = 1.5  # a gap between words wider than this many line heights is a column gutter


def _group_into_lines(words: list[Word], vrules: list[tuple[float, float, float]] = ()) -> list[list[Word]]:
    """Words on one baseline that are close horizontally form a line; a wide gap (a column
    gutter) or a vertical ruling line between them (a table's cell border) splits them."""
    rows: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (round(w.bbox.top), w.bbox.x0)):
        h = w.bbox.bottom - w.bbox.top
        for row in _rows_near(rows, w.bbox.top - 2 * h):  # 2h: slack for tops rounded in the sort
            last = row[-1]
            same_row = abs(last.bbox.top - w.bbox.top) < 0.4 * h
            near = 0 <= w.bbox.x0 - last.bbox.x1 < GUTTER_GAP * h
            if same_row and near and not _ruled_between(last.bbox, w.bbox, vrules):
                row.append(w)
                break
        else:
            rows.append([w])
    return rows


def _ruled_between(a: BBox, b: BBox, vrules) -> bool:
    """Is there a vertical rule between box `a` and box `b` (to its right), beside both?"""
    middle = (b.top + b.bottom) / 2
    return any(a.x1 <= x <= b.x0 and top <= middle <= bottom for x, top, bottom in vrules)


def _rows_near(rows: list[list[Word]], above: float):
    """The rows (in the order they were opened) whose first word's top is below `above`: words come
    sorted by top, so only the latest rows can take the next word (O(n) instead of O(n x rows))."""
    start = len(rows)
    while start > 0 and rows[start - 1][0].bbox.top >= above:
        start -= 1
    return rows[start:]


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
