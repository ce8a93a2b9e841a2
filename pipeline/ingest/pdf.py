"""PDF reports: open and validate, read the text layer, judge its quality, get each page's image (a scan's own, or rendered) and OCR it.

`plan_pages` parses every page's text layer once (pypdfium2: characters with boxes and fonts),
decides per page whether the layer is good enough, and hands a good page's reading on in its
plan; the other pages are OCR'd one by one (`ocr_page`), so that callers can process them in
parallel. pdfplumber (pdfminer) is kept only where PDFium cannot answer: telling a damaged file
from one with zero pages. Tables are found by `pipeline.tables` (pdfplumber's table geometry over
the ruling lines PDFium reads here, on pages that have path objects; aligned words on any page).
"""
from __future__ import annotations

import ctypes
import hashlib
import math
import os
import re
import statistics
import subprocess
import tempfile
from array import array
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from pipeline.errors import EmptyPdf, EncryptedPdf, OcrFailed, PageTooLarge, PipelineError, UnreadablePdf
from pipeline import pdfium_lock, tables
from pipeline.layout import order_lines
from pipeline.models import BBox, ImageRegion, Page, PageError, SourceKind, Table, Word

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

# every PDFium call holds the process's one PDFium lock (rendering is ~0.1 s of a ~1 s page)
_PDFIUM = pdfium_lock.LOCK


@dataclass
class TextLayer:
    """One page's text layer as parsed by PDFium (words, pictures, ruling lines), before any layout."""

    width: float
    height: float
    words: list[Word]
    visible: int  # how many of the words are drawn (not an invisible OCR layer)
    images: list[tuple[BBox, int, int]]  # each picture's box (points) and its size in pixels
    hrules: list[tuple[float, float, float]]  # horizontal ruling lines: (y, x0, x1)
    vrules: list[tuple[float, float, float]]  # vertical ruling lines: (x, top, bottom)
    edges: list[tables.Edge]  # every straight axis-aligned segment of a drawn path: table borders


@dataclass(frozen=True)
class PagePlan:
    number: int  # 1-based
    method: str  # "text-layer" or "ocr"
    text_quality: float | None  # share of known words in the text layer; None: no text layer
    layer: TextLayer | None = None  # a text-layer page's parse, made while planning (parsed once)


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
    a page that passes carries the parse (`PagePlan.layer`) on to `read_text_layer_page`, which
    parses nothing again."""
    plans = []
    for number, layer in enumerate(_read_layers(path), start=1):
        tokens = _dehyphenated([w.text for w in layer.words])
        quality = text_quality(tokens) if layer.words else None
        drawn = layer.visible * 2 > len(layer.words)  # a born-digital page's own text, not an OCR layer
        threshold = min(min_quality, DRAWN_MIN_QUALITY) if drawn else min_quality
        too_short = layer.visible == len(layer.words) and len(tokens) < MIN_JUDGED_WORDS
        if quality is not None and (quality >= threshold or too_short):
            plans.append(PagePlan(number, "text-layer", quality, layer))
        else:
            plans.append(PagePlan(number, "ocr", quality))
    return plans


DRAWN_MIN_QUALITY = 0.6
"""The known share below which a *drawn* text layer (a born-digital page's own text, not an
invisible OCR layer) is OCR'd instead: only a broken font encoding scores so low. A good drawn
layer rich in names (people, places, institutions the lexicon does not know) measured 0.87-0.93
on generated plans, under the 0.93 an invisible OCR layer must reach (a poor OCR layer's errors
score 0.85-0.92), and OCR would only have made it worse."""

# A drawn text layer of fewer words than this is read, not judged: the known share of so few words
# cannot tell a good layer from a poor one (its standard error at 20 words and a true share of 0.9
# is 0.07, more than the margin between good layers, 0.97-0.99, and the threshold). Such a page
# is mostly pictures or furniture (a running footer with a URL and a page number measures
# 0.71), and its pictures are OCR'd (`text_images`) while its own text stays exact.
MIN_JUDGED_WORDS = 20


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


def read_text_layer_page(
    path: Path, plan: PagePlan, dpi: int = DEFAULT_DPI, lang: str = DEFAULT_LANG,
    timeout: float = DEFAULT_OCR_TIMEOUT,
) -> Page:
    """A text-layer page: its words (with font size and weight) grouped into lines in reading
    order, with the text of its pictures that may hold some (`text_images`) OCR'd and placed
    among them. A picture that cannot be OCR'd is recorded in `Page.errors`; the page stands."""
    layer = plan.layer or _read_layers(path, plan.number)[0]
    rows = _group_into_lines(layer.words, layer.vrules)
    placed = [w.bbox for w in layer.words]
    images, errors = [], []
    try:  # PDFium decodes a picture whole to render it
        for _, px_width, px_height in layer.images:
            _check_pixels(path, plan.number, px_width, px_height, what="a picture on the page")
        regions = text_images(layer)
    except PageTooLarge as exc:
        errors.append(page_error(exc))
        regions = []
    for region in regions:
        try:
            found = _ocr_region(path, plan.number, region.bbox, dpi, lang, timeout)
        except (OcrFailed, PageTooLarge) as exc:
            errors.append(page_error(exc))
            continue
        kept = [[w for w in row if not _covered(w.bbox, placed)] for row in found]
        kept = [row for row in kept if row]
        rows += kept
        placed += [w.bbox for row in kept for w in row]
        images.append(region.model_copy(update={"words": sum(map(len, kept))}))
    lines = order_lines(rows, layer.width, plan.number, layer.hrules)
    found = tables.find_tables(lines, layer.edges, layer.width, layer.height)
    return Page(
        number=plan.number,
        source=SourceKind.TEXT_LAYER,
        width=layer.width,
        height=layer.height,
        lines=tables.cell_order(lines, [(plan.number, t) for t in found]),
        text_quality=plan.text_quality,
        images=images,
        errors=errors,
        tables=found,
    )


def page_error(exc: PipelineError) -> PageError:
    return PageError(error=type(exc).__name__, problem=exc.problem, hint=exc.hint)


# ------------------------------------------------------------------------------ text in pictures
# A picture on a text-layer page is OCR'd when it is large enough to hold text: a share of the
# page that can hold a paragraph or a table (a screenshot, a scanned insert), or a strip shaped
# like a heading set as an image. Logos and icons are smaller than both. A picture the text
# layer already covers (a background behind the text) is skipped: its text is the layer's.
IMAGE_MIN_SHARE = 1 / 8
STRIP_MIN_WIDTH = 0.3  # of the page's width …
STRIP_MIN_HEIGHT = 12.0  # … and this many points tall: a line of heading type …
STRIP_MIN_ASPECT = 3.0  # … at least this many times wider than tall
MIN_TEXT_PIXELS = 16  # a picture fewer pixels tall than this holds no legible text
COVERED_SHARE = 0.10  # text-layer words over this share of a picture make it a background
# OCR of a picture keeps the words Tesseract is this sure of (0-100): photographs and charts give
# low-confidence noise; printed text in a picture reads at 85-96.
MIN_IMAGE_CONF = 70


def text_images(layer: TextLayer) -> list[ImageRegion]:
    """The layer's pictures that may hold text, each with the reason it was chosen."""
    regions = []
    page_area = layer.width * layer.height
    for box, _, px_height in layer.images:
        w, h = box.x1 - box.x0, box.bottom - box.top
        if px_height < MIN_TEXT_PIXELS:
            continue
        share = w * h / page_area
        if share >= IMAGE_MIN_SHARE:
            reason = f"a picture covering {share:.0%} of the page (text-layer page; OCR'd for the text in it)"
        elif w >= STRIP_MIN_WIDTH * layer.width and h >= STRIP_MIN_HEIGHT and w >= STRIP_MIN_ASPECT * h:
            reason = f"a heading-sized strip picture, {w:.0f} x {h:.0f} pt (OCR'd for the text in it)"
        else:
            continue
        inked = sum(_overlap(wd.bbox, box) for wd in layer.words)
        if inked >= COVERED_SHARE * w * h:
            continue
        regions.append(ImageRegion(bbox=box, reason=reason))
    return regions


def _overlap(a: BBox, b: BBox) -> float:
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))


def _covered(box: BBox, placed: list[BBox]) -> bool:
    """Is the middle of `box` inside a word already on the page (the text layer drawn over a
    picture is rendered with it, and OCR reads it again)?"""
    x, y = (box.x0 + box.x1) / 2, (box.top + box.bottom) / 2
    return any(b.x0 <= x <= b.x1 and b.top <= y <= b.bottom for b in placed)


def _ocr_region(path: Path, number: int, box: BBox, dpi: int, lang: str, timeout: float) -> list[list[Word]]:
    """The words Tesseract reads, sure enough, in one region of the page rendered at `dpi`, in
    page points."""
    scale = dpi / 72
    _check_pixels(path, number, (box.x1 - box.x0) * scale, (box.bottom - box.top) * scale)
    with _PDFIUM:
        doc = pdfium.PdfDocument(str(path))
        try:
            page = doc[number - 1]
            left, bottom, right, top = _crop_box(page)
            width, height = right - left, top - bottom
            # the layer's boxes are in the page's own (unrotated) space: render it unrotated
            bitmap = page.render(scale=scale, grayscale=True, rotation=(360 - page.get_rotation()) % 360,
                                 crop=(box.x0, height - box.bottom, width - box.x1, box.top))
            image = bitmap.to_pil().copy()
            bitmap.close()
            page.close()
        finally:
            doc.close()
    try:
        rows = _tesseract_rows(path, number, image, lang, timeout, (box.x1 - box.x0) / image.width,
                               (box.bottom - box.top) / image.height, box.x0, box.top)
    finally:
        image.close()
    return [kept for row in rows if (kept := [w for w in row if w.conf >= MIN_IMAGE_CONF])]


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


def _read_layers(path: Path, only: int | None = None) -> list[TextLayer]:
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


def _crop_box(page: pdfium.PdfPage) -> tuple[float, float, float, float]:
    """The page's visible area (left, bottom, right, top) in PDF user space. PDFium's own bounding
    box, which follows a box inherited from the page tree: pypdfium2's `get_cropbox` does not, and
    falls back to US Letter (fpdf2 writes A4 pages that way)."""
    rect = pdfium_c.FS_RECTF()
    if not pdfium_c.FPDF_GetPageBoundingBox(page.raw, ctypes.byref(rect)):
        return page.get_cropbox()
    return rect.left, rect.bottom, rect.right, rect.top


def _read_layer(page: pdfium.PdfPage) -> TextLayer:
    left, bottom, right, top = _crop_box(page)
    textpage = page.get_textpage()
    try:
        hidden: list[int] = []
        words = _words(textpage.raw, textpage.count_chars(), left, top, hidden)
    finally:
        textpage.close()
    images, hrules, vrules, edges = [], [], [], []
    for obj in page.get_objects(max_depth=1):  # a form XObject's own objects are in its own space
        if obj.type not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_PATH):
            continue
        if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            edges += _path_edges(obj, left, top)
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
    return TextLayer(right - left, top - bottom, words, len(words) - len(hidden), images,
                     _joined_rules(hrules), _joined_rules(vrules), edges)


# A path at most this thick (points) and this many times longer is a ruling line (a table's cell
# border); a border drawn in pieces (one per cell) is joined where the pieces meet within RULE_JOIN.
RULE_THICKNESS = 3.0
RULE_LENGTH = 4.0
RULE_JOIN = 3.0


# A path of more segments than this is a drawing (a map, a chart's curves), not a table's borders.
MAX_PATH_SEGMENTS = 2000
_AXIS = 0.5  # a segment whose ends differ by less than this across its direction is axis-aligned


def _path_edges(obj: pdfium.PdfObject, left: float, top: float) -> list[tables.Edge]:
    """The straight horizontal and vertical segments a stroked or filled path draws, in page
    points from the top-left (what pdfminer gives pdfplumber as a rectangle's sides or a line):
    PDFium's segment points are in the path's own space, brought to the page by its matrix."""
    raw = obj.raw
    fill, stroke = ctypes.c_int(), ctypes.c_int()
    if not pdfium_c.FPDFPath_GetDrawMode(raw, ctypes.byref(fill), ctypes.byref(stroke)) or not (
            fill.value or stroke.value):
        return []  # a path that draws nothing
    count = pdfium_c.FPDFPath_CountSegments(raw)
    if count <= 0 or count > MAX_PATH_SEGMENTS:
        return []
    m = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(raw, ctypes.byref(m)):
        return []
    x, y = ctypes.c_float(), ctypes.c_float()
    out: list[tables.Edge] = []

    def edge(a: tuple[float, float], b: tuple[float, float]) -> None:
        if abs(a[1] - b[1]) < _AXIS:
            out.append(("h", (a[1] + b[1]) / 2, min(a[0], b[0]), max(a[0], b[0])))
        elif abs(a[0] - b[0]) < _AXIS:
            out.append(("v", (a[0] + b[0]) / 2, min(a[1], b[1]), max(a[1], b[1])))

    start = prev = None
    for i in range(count):
        seg = pdfium_c.FPDFPath_GetPathSegment(raw, i)
        if not seg or not pdfium_c.FPDFPathSegment_GetPoint(seg, ctypes.byref(x), ctypes.byref(y)):
            continue
        point = (m.a * x.value + m.c * y.value + m.e - left, top - (m.b * x.value + m.d * y.value + m.f))
        kind = pdfium_c.FPDFPathSegment_GetType(seg)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or prev is None:
            start = point
        elif kind == pdfium_c.FPDF_SEGMENT_LINETO:
            edge(prev, point)
        prev = point
        if pdfium_c.FPDFPathSegment_GetClose(seg) and start is not None:
            edge(prev, start)
            prev = start
    return out


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


def _words(textpage, count: int, left: float, top: float, hidden: list[int]) -> list[Word]:
    """The page's characters (one PDFium call for the text, one per character for its box) cut
    into words at spaces, line changes and wide gaps; font size, name and weight from each word's
    first character; the indexes of invisible words (an OCR layer's) go to `hidden`. A soft hyphen
    ends its word with "-" where the line breaks after it (repair joins such a word as it joins any
    hyphenated one) and is dropped elsewhere. Rotated text (characters stacked in one column, each
    box above or below the last) stays one word per word (`_join_rotated` joins a label's words).
    (This loop is the ingest's hot path: plain
    comparisons rather than min/max calls, a third of its time.)"""
    if count <= 0:
        return []
    buf = ctypes.create_string_buffer((count + 1) * 2)
    pdfium_c.FPDFText_GetText(textpage, 0, count, ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort)))
    units = array("H", buf.raw[: count * 2])
    rect = pdfium_c.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    fonts: dict[int, tuple[str | None, bool]] = {}  # per font handle: name, bold
    objects: dict[int, tuple] = {}  # per text object handle: what _font returns
    words: list[Word] = []
    rotated: set[int] = set()  # indices of the words set vertically (rotated text)
    chars: list[str] = []
    first = 0
    x0 = x1 = y0 = y1 = 0.0
    cl = cr = ct = cb = 0.0  # the box of the word's last character
    soft = vertical = False

    def flush() -> None:
        nonlocal soft, vertical
        if chars:
            if soft:
                chars.append("-")
            size, name, bold, shown = _font(textpage, first, fonts, objects)
            if not shown:
                hidden.append(len(words))
            if vertical:
                rotated.add(len(words))
            words.append(Word(text="".join(chars), bbox=BBox(x0=x0, top=y0, x1=x1, bottom=y1),
                              font_size=size, bold=bold, font=name))
            chars.clear()
        soft = vertical = False

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
            get_box(textpage, i, rect_ref)
            l, r, t, b = rect.left - left, rect.right - left, top - rect.top, top - rect.bottom
            if chars:
                h = y1 - y0 if y1 - y0 > b - t else b - t
                if abs(t - y0) > NEW_LINE_SHIFT * h or l < x0 or l - x1 > WORD_GAP * h:
                    # the next character of rotated text sits above or below the last, in its column
                    if -0.5 < l - cl < 0.5 and -0.5 < r - cr < 0.5 and (-0.5 < t - cb < 0.5 or -0.5 < b - ct < 0.5):
                        vertical = True
                    else:
                        flush()
                elif soft:
                    soft = False  # a soft hyphen inside a line is invisible
            if chars:
                if r > x1:
                    x1 = r
                if t < y0:
                    y0 = t
                if b > y1:
                    y1 = b
            else:
                first, x0, x1, y0, y1 = i, l, r, t, b
            chars.append(ch)
            cl, cr, ct, cb = l, r, t, b
        i += step
    flush()
    return _join_rotated(words, rotated, hidden) if rotated else words


def _join_rotated(words: list[Word], rotated: set[int], hidden: list[int]) -> list[Word]:
    """A rotated label's words (one after the other in the text, in one column, a space apart)
    joined into one word: a table's column labels set vertically, as IRM grids set their levels,
    are one cell's text each."""
    out: list[Word] = []
    last_rotated = False
    hide = set(hidden)
    hidden.clear()
    for k, w in enumerate(words):
        if k in rotated and last_rotated and _next_in_column(out[-1], w):
            a = out[-1]
            out[-1] = Word(text=f"{a.text} {w.text}", font_size=a.font_size, bold=a.bold, font=a.font,
                           bbox=BBox(x0=min(a.bbox.x0, w.bbox.x0), top=min(a.bbox.top, w.bbox.top),
                                     x1=max(a.bbox.x1, w.bbox.x1), bottom=max(a.bbox.bottom, w.bbox.bottom)))
        else:
            out.append(w)
        if k in hide and (not hidden or hidden[-1] != len(out) - 1):
            hidden.append(len(out) - 1)
        last_rotated = k in rotated
    return out


ROTATED_GAP = 1.0
"""Words of one rotated label are at most this many type sizes apart (a space)."""


def _next_in_column(a: Word, b: Word) -> bool:
    """Does rotated word `b` continue rotated word `a`: in the same column, just above or below it?"""
    size = max(a.bbox.x1 - a.bbox.x0, b.bbox.x1 - b.bbox.x0)
    overlap = min(a.bbox.x1, b.bbox.x1) - max(a.bbox.x0, b.bbox.x0)
    gap = max(b.bbox.top - a.bbox.bottom, a.bbox.top - b.bbox.bottom)
    return overlap > 0.5 * size and gap < ROTATED_GAP * size


def _font(textpage, index: int, fonts: dict, objects: dict) -> tuple[float | None, str | None, bool | None, bool]:
    """The character's font size in points, its font name (without a subset prefix), whether it
    is bold, and whether it is drawn (an OCR layer is invisible text). Bold comes from the font's weight, its ForceBold flag or its name (many embedded fonts state no
    weight). The size is the text object's, scaled by its matrix (InDesign sets 1-point type and
    scales it: `1 Tf` under a 10x matrix is 10-point text). Cached per font and per text object
    (keys: PDFium's handles, alive while the page is)."""
    obj = pdfium_c.FPDFText_GetTextObject(textpage, index)
    if not obj:
        return None, None, None, True
    obj_key = ctypes.cast(obj, ctypes.c_void_p).value
    if obj_key in objects:
        return objects[obj_key]
    font = pdfium_c.FPDFTextObj_GetFont(obj)
    if not font:
        return None, None, None, True
    nominal, matrix = ctypes.c_float(), pdfium_c.FS_MATRIX()
    size = None
    if pdfium_c.FPDFTextObj_GetFontSize(obj, ctypes.byref(nominal)) and pdfium_c.FPDFPageObj_GetMatrix(
            obj, ctypes.byref(matrix)):
        size = round(nominal.value * math.hypot(matrix.c, matrix.d), 2) or None
    key = ctypes.cast(font, ctypes.c_void_p).value
    if key not in fonts:
        name_len = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
        name_buf = ctypes.create_string_buffer(max(name_len, 1))
        pdfium_c.FPDFFont_GetBaseFontName(font, name_buf, name_len)
        name = name_buf.value.decode("utf-8", "replace")
        name = name.split("+", 1)[1] if re.match(r"^[A-Z]{6}\+", name) else name
        weight = pdfium_c.FPDFFont_GetWeight(font)
        flags = pdfium_c.FPDFFont_GetFlags(font)
        bold = weight >= BOLD_WEIGHT or bool(flags >= 0 and flags & _FORCE_BOLD) or bool(_BOLD_NAME.search(name))
        fonts[key] = (name or None, bold)
    shown = pdfium_c.FPDFTextObj_GetTextRenderMode(obj) != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE
    objects[obj_key] = (size, *fonts[key], shown)
    return objects[obj_key]


GUTTER_GAP = 1.5  # a gap between words wider than this many line heights is a column gutter


def _group_into_lines(words: list[Word], vrules: list[tuple[float, float, float]] = ()) -> list[list[Word]]:
    """Words on one baseline that are close horizontally form a line; a wide gap (a column
    gutter) or a vertical ruling line between them (a table's cell border) splits them. Words are
    first banded by their tops, then each band is read left to right: a word whose top is a point
    or two above its neighbours' (another font on the line) still joins them."""
    bands: list[list[Word]] = []
    for w in sorted(words, key=lambda w: w.bbox.top):
        h = w.bbox.bottom - w.bbox.top
        for band in _rows_near(bands, w.bbox.top - 2 * h):  # 2h: bands opened just above
            if abs(band[0].bbox.top - w.bbox.top) < 0.4 * h:
                band.append(w)
                break
        else:
            bands.append([w])
    rows: list[list[Word]] = []
    for band in bands:
        band.sort(key=lambda w: w.bbox.x0)
        rows.append([band[0]])
        for w in band[1:]:
            last = rows[-1][-1]
            h = w.bbox.bottom - w.bbox.top
            near = -0.2 * h <= w.bbox.x0 - last.bbox.x1 < GUTTER_GAP * h
            if near and not _ruled_between(last.bbox, w.bbox, vrules):
                rows[-1].append(w)
            else:
                rows.append([w])
    return rows


def _ruled_between(a: BBox, b: BBox, vrules) -> bool:
    """Is there a vertical rule between box `a` and box `b` (to its right), beside both?"""
    middle = (b.top + b.bottom) / 2
    return any(a.x1 <= x <= b.x0 and top <= middle <= bottom for x, top, bottom in vrules)


def _rows_near(rows: list[list[Word]], above: float):
    """The rows (bands, in the order they were opened) whose first word's top is below `above`:
    words come sorted by top, so only the latest can take the next word (O(n), not O(n x rows))."""
    start = len(rows)
    while start > 0 and rows[start - 1][0].bbox.top >= above:
        start -= 1
    return rows[start:]


GUTTER_SHARE = 0.1
"""A wide gap is a column gutter where at most this share of the page's lines have a word."""


def _split_at_gutters(words: list[Word], inked: Optional[Counter] = None, lines: int = 0) -> list[list[Word]]:
    """A line Tesseract read across a column gutter (it sometimes joins the two columns' lines)
    split where the gap between two words is a gutter's, as for text layers: wide, and (`inked`:
    how many of the page's `lines` have a word over each point of x) a channel the page's other
    lines leave empty too; a justified line's wide spaces are not one (their x holds the words of
    the lines above and below)."""
    words = sorted(words, key=lambda w: w.bbox.x0)
    h = statistics.median(w.bbox.bottom - w.bbox.top for w in words)
    parts = [[words[0]]]
    for prev, w in zip(words, words[1:]):
        wide = w.bbox.x0 - prev.bbox.x1 >= GUTTER_GAP * h
        if wide and inked is not None:
            channel = range(math.ceil(prev.bbox.x1), math.floor(w.bbox.x0))
            wide = not channel or min(inked[x] for x in channel) <= max(2, GUTTER_SHARE * lines)
        if wide:
            parts.append([])
        parts[-1].append(w)
    return parts


def _inked(rows: list[list[Word]]) -> Counter:
    """x (whole points) → how many of `rows` have a word over it."""
    out: Counter = Counter()
    for words in rows:
        out.update({x for w in words for x in range(math.floor(w.bbox.x0), math.ceil(w.bbox.x1))})
    return out


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
            try:
                size = page.get_size()
                _check_pixels(path, number, size[0] * dpi / 72, size[1] * dpi / 72)
                for obj in page.get_objects(max_depth=1):  # a picture PDFium would decode whole
                    if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                        _check_pixels(path, number, *obj.get_px_size(), what="a picture on the page")
                scan = _scan_image(page)
                image = _decode(scan) if scan is not None else None
                rendered = image is None
                if rendered:
                    image = _render(page, dpi)
            finally:
                page.close()
        finally:
            doc.close()
    target = (math.ceil(size[0] * dpi / 72), math.ceil(size[1] * dpi / 72))  # as rendering sizes it
    if not rendered and any(abs(got - want) > SCAN_FIT * want for got, want in zip(image.size, target)):
        image = image.resize(target, Image.Resampling.LANCZOS)  # a scan at another resolution
    return image, size


# No page or picture larger than this is rendered or decoded (OCRmyPDF's --skip-big): an A1 page at
# 300 dpi is 70 Mpx; a 20000 x 20000 pt page, or a picture whose header claims 100000 x 100000 px
# (a decompression bomb), would take gigabytes. Gray pixels are a byte each, and the image is held
# twice at most (PDFium's bitmap, its copy), so a page's pixels take at most ~200 MB.
MAX_PIXELS = 100_000_000


def _check_pixels(path: Path, number: int, width: float, height: float, what: str = "the page") -> None:
    if width * height > MAX_PIXELS:
        raise PageTooLarge(
            str(path), f"{what} would be {width:.0f} x {height:.0f} pixels ({width * height / 1e6:.0f} Mpx, "
            f"over the {MAX_PIXELS / 1e6:.0f} Mpx limit)", page=number,
        )


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
    left, bottom, right, top = _crop_box(page)
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
    image, (width, height) = page_image(path, number, dpi)
    try:
        edges, cleaned = tables.image_rules(image, width, height)
        if cleaned is not None:  # Tesseract reads the page without its rules
            image.close()
            image = cleaned
        kx, ky = width / image.width, height / image.height
        rows = _tesseract_rows(path, number, image, lang, timeout, kx, ky)
        lines = order_lines(rows, width, number)
        found = tables.find_tables(lines, edges, width, height, tilted=True)
        _reread_marks(path, number, image, found, lang, timeout, kx, ky)
    finally:
        image.close()
    page = Page(
        number=number, source=SourceKind.OCR, width=width, height=height,
        lines=tables.cell_order(lines, [(number, t) for t in found]), text_quality=quality, tables=found,
    )
    if quality is not None:
        page.notes.append(f"text layer re-OCR'd: only {quality:.0%} of its words are known Spanish words")
    return page


MARK_INSET = 3.0
"""A cell's inside, for `_reread_marks`, stops this many points short of its box (its rules' fringe)."""
MARK_INK = 1.5
"""A cell holds something unread when its inside has at least a square of this side (points) of ink."""
MARK_GAP = 24
"""Pixels of white between the cells stacked for `_reread_marks`, and around them."""


def _reread_marks(path: Path, number: int, image, found: list[Table], lang: str, timeout: float,
                  kx: float, ky: float) -> None:
    """The cells of a scan's ruled tables that Tesseract left empty although they hold ink, read
    again: on a noisy scan it drops a lone small character (a grid's "x": 3 of 6 in one fixture),
    and read alone, with nothing around, it reads it. Their insides are stacked into one image,
    one per line, for one more Tesseract call (`--psm 6`, a block of lines); a cell whose line gives
    a mark (`tables.MARKS`) gets it as its text and mark. Its `lines` stay empty: no page line holds
    the mark; its box is its provenance. A page without such cells costs nothing more."""
    gray = np.asarray(image)
    crops, owners = [], []
    for table in found:
        if table.method != "ruling-lines":
            continue
        for cell in table.cells():
            if cell.text:
                continue
            x0, x1 = (round((v + d) / kx) for v, d in ((cell.bbox.x0, MARK_INSET), (cell.bbox.x1, -MARK_INSET)))
            y0, y1 = (round((v + d) / ky) for v, d in ((cell.bbox.top, MARK_INSET), (cell.bbox.bottom, -MARK_INSET)))
            part = gray[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)]
            if part.size and (part < tables.DARK).sum() >= (MARK_INK / kx) * (MARK_INK / ky):
                crops.append(part)
                owners.append(cell)
    if not crops:
        return
    stack = np.full((sum(c.shape[0] + MARK_GAP for c in crops) + MARK_GAP,
                     max(c.shape[1] for c in crops) + 2 * MARK_GAP), 255, dtype=np.uint8)
    spans, y = [], MARK_GAP
    for crop in crops:
        stack[y:y + crop.shape[0], MARK_GAP:MARK_GAP + crop.shape[1]] = crop
        spans.append((y - MARK_GAP / 2, y + crop.shape[0] + MARK_GAP / 2))
        y += crop.shape[0] + MARK_GAP
    read: dict[int, list[Word]] = {}
    for row in _tesseract_rows(path, number, Image.fromarray(stack), lang, timeout, 1.0, 1.0, psm=6):
        for w in row:
            middle = (w.bbox.top + w.bbox.bottom) / 2
            k = next((i for i, (a, b) in enumerate(spans) if a <= middle < b), None)
            if k is not None:
                read.setdefault(k, []).append(w)
    for k, words in read.items():
        text = "".join(w.text for w in sorted(words, key=lambda w: w.bbox.x0))
        mark = tables.mark_of(text)
        if mark:
            owners[k].text, owners[k].mark = text, mark


def _tesseract_rows(
    path: Path, number: int, image, lang: str, timeout: float,
    kx: float, ky: float, dx: float = 0.0, dy: float = 0.0, psm: int = 3,
) -> list[list[Word]]:
    """Tesseract's words on `image` as rows (its lines, split at column gutters), boxes brought
    to page points (x * kx + dx, y * ky + dy), with confidences.

    Tesseract runs as a child process with one OpenMP thread, set in the child's own environment
    (as OCRmyPDF does; 10x faster here than OpenMP's default, and the caller's environment is
    left alone), and is killed after `timeout` seconds. The image goes over as an uncompressed PGM
    (a PNG's compression took a third of the page's time: 0.26-0.49 s of 1.5 s at 300 dpi)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    with tempfile.TemporaryDirectory(prefix="ogp-ocr-") as tmp:
        image_file = Path(tmp) / "page.pgm"
        image.save(image_file, "PPM")
        try:
            done = subprocess.run(
                ["tesseract", str(image_file), "stdout", "-l", lang, "--psm", str(psm), "tsv"],
                capture_output=True, env=env, timeout=timeout, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise OcrFailed(str(path), f"Tesseract did not finish within {timeout:g} s", page=number) from exc
        except OSError as exc:
            raise OcrFailed(str(path), f"Tesseract cannot be started ({exc})", page=number) from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        raise OcrFailed(str(path), f"Tesseract failed: {detail[0]}", page=number)
    rows: dict[tuple[str, str, str], list[Word]] = {}
    for record in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cells = record.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        left, top, w, h = (float(c) for c in cells[6:10])
        x, y = left * kx + dx, top * ky + dy
        rows.setdefault((cells[2], cells[3], cells[4]), []).append(
            Word(text=cells[11], bbox=BBox(x0=x, top=y, x1=x + w * kx, bottom=y + h * ky), conf=float(cells[10]))
        )
    inked = _inked(list(rows.values()))
    return _drop_overlapped([part for words in rows.values() for part in _split_at_gutters(words, inked, len(rows))])


def _drop_overlapped(rows: list[list[Word]]) -> list[list[Word]]:
    """Rows without the fragments Tesseract sometimes reads twice over a line it also read whole
    (a shaded or bold line: "ido", "omiso" over "Compromiso cumplido con avances"): two lines of
    text cannot take the same place, so a row lying within a longer row's box (80% of its width,
    half its height) is dropped. Order is kept."""
    boxes = [BBox.union([w.bbox for w in r]) for r in rows]
    size = [sum(len(w.text) for w in r) for r in rows]
    kept: list[int] = []
    for i in sorted(range(len(rows)), key=lambda k: -size[k]):
        a = boxes[i]
        inside = False
        for k in kept:
            b = boxes[k]
            x = min(a.x1, b.x1) - max(a.x0, b.x0)
            y = min(a.bottom, b.bottom) - max(a.top, b.top)
            if x >= 0.8 * (a.x1 - a.x0) and y >= 0.5 * (a.bottom - a.top):
                inside = True
                break
        if not inside:
            kept.append(i)
    keep = set(kept)
    return [r for i, r in enumerate(rows) if i in keep]
