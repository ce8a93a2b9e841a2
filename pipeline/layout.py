"""Layout: reading order on multi-column pages, page furniture, footnotes.

`order_lines` turns word rows (from a text layer or OCR) into `Line`s in reading order: a column
gutter is looked for on the page; lines crossing it span the page and cut it into bands; within a
band the left column is read before the right one (pdfplumber's plain `extract_text()` interleaves
the two columns line by line, which is wrong).

`analyse` marks each line's role: running headers and footers (from recurrence across pages, not
from known strings), page numbers (also setting `Page.label`), and footnotes (a block at the bottom
of a column that starts with the next footnote number), which move into `Page.footnotes`.
"""
from __future__ import annotations

import re
import statistics

from pipeline.furniture import PAGE_NUMBER_LINE, Candidate, find_recurring, resembles
from pipeline.models import BBox, Document, Footnote, Line, LineRole, Page, Word

HEAD_LINES = 2
TAIL_LINES = 3
HEAD_ZONE = 0.08  # with boxes: running headers sit in the top 8% of the page …
TAIL_ZONE = 0.90  # … footers and page numbers below 90% of its height
_FOOTNOTE_START = re.compile(r"^\s*(\d{1,3})(?:\s+|(?=[A-ZÁÉÍÓÚÑ_]))(\S.*)$")
MAX_FOOTNOTE_GAP = 8  # footnote numbers rise through a report; a jump larger than this is not one


# ---------------------------------------------------------------------------------- reading order
def _gutter(boxes: list[BBox], width: float) -> tuple[float, float] | None:
    """The empty band between two columns, (left edge, right edge): found as an x with at least
    three lines wholly on each side and few crossing, then widened to the nearest line edges on
    either side, so that a line a few points off its column's edge is not taken to span the page."""
    if len(boxes) < 6:
        return None
    best = None
    for step in range(30, 71):
        g = width * step / 100
        left = sum(1 for b in boxes if b.x1 <= g)
        right = sum(1 for b in boxes if b.x0 >= g)
        cross = len(boxes) - left - right
        if left >= 3 and right >= 3 and cross <= 0.25 * len(boxes):
            key = (cross, abs(step - 50))
            if best is None or key < best[0]:
                best = (key, g)
    if best is None:
        return None
    g = best[1]
    lo = max(b.x1 for b in boxes if b.x1 <= g)
    hi = min(b.x0 for b in boxes if b.x0 >= g)
    return lo, hi


def _line_font(words: list[Word]) -> dict:
    """A line's font size and weight: those of most of its characters (text layers only)."""
    sizes: dict[float, int] = {}
    bold = chars = 0
    for w in words:
        if w.font_size is not None:
            sizes[w.font_size] = sizes.get(w.font_size, 0) + len(w.text)
            chars += len(w.text)
            bold += len(w.text) if w.bold else 0
    if not sizes:
        return {}
    return {"font_size": max(sizes, key=sizes.get), "bold": bold * 2 > chars}


def order_lines(
    rows: list[list[Word]], width: float, page: int, rules: list[tuple[float, float, float]] = ()
) -> list[Line]:
    """Lines in reading order. `rules` are the page's horizontal ruling lines (y, x0, x1): one
    that crosses the column gutter is a table's row border (a label cell beside its value cell),
    so the band is cut there and each row's left cell is read before its right one, instead of
    every label before every value."""
    lines = []
    for words in rows:
        words = sorted(words, key=lambda w: w.bbox.x0)
        confs = [w.conf for w in words if w.conf is not None and w.conf >= 0]
        lines.append(
            Line(
                text=" ".join(w.text for w in words),
                page=page,
                line=0,
                words=words,
                bbox=BBox.union([w.bbox for w in words]),
                conf=round(statistics.mean(confs), 1) if confs else None,
                **_line_font(words),
            )
        )
    gutter = _gutter([ln.bbox for ln in lines], width)
    for ln in lines:
        if gutter is None:
            ln.column = 0
        elif ln.bbox.x1 <= gutter[1]:
            ln.column = 0
        elif ln.bbox.x0 >= gutter[0]:
            ln.column = 1
        else:
            ln.column = None  # crosses the whole gutter: spans the page
    ordered: list[Line] = []
    band: list[Line] = []
    block = 0

    def flush() -> None:
        nonlocal block
        for col in (0, 1):
            part = sorted((ln for ln in band if ln.column == col), key=lambda ln: ln.bbox.top)
            for ln in part:
                ln.block = block
            ordered.extend(part)
            block += bool(part)
        band.clear()

    cuts = sorted(y for y, x0, x1 in rules if gutter is not None and x0 <= gutter[0] and x1 >= gutter[1])
    next_cut = 0
    for ln in sorted(lines, key=lambda ln: ln.bbox.top):
        if next_cut < len(cuts) and ln.bbox.top >= cuts[next_cut]:
            flush()
            while next_cut < len(cuts) and cuts[next_cut] <= ln.bbox.top:
                next_cut += 1
        if ln.column is None:
            flush()
            ln.block = block
            block += 1
            ordered.append(ln)
        else:
            band.append(ln)
    flush()
    for i, ln in enumerate(ordered, start=1):
        ln.line = i
    return ordered


# ---------------------------------------------------------------------------------- furniture
def _zones(page: Page) -> tuple[list[Line], list[Line]]:
    """Head and tail lines of a page: by position where there are boxes, else by order (and, in a
    text dump, at the ends of each OCR chunk)."""
    lines = [ln for ln in page.lines if ln.text.strip() and ln.role == LineRole.BODY]
    if not lines:
        return [], []
    if page.height and all(ln.bbox for ln in lines):
        by_top = sorted(lines, key=lambda ln: ln.bbox.top)
        head = [ln for ln in by_top[:HEAD_LINES] if ln.bbox.top < HEAD_ZONE * page.height]
        tail = [ln for ln in by_top[-TAIL_LINES:] if ln.bbox.bottom > TAIL_ZONE * page.height]
        return head, tail
    blocks: dict[int | None, list[Line]] = {}
    for ln in lines:
        blocks.setdefault(ln.block, []).append(ln)
    head, tail = [], []
    for part in blocks.values():
        head += part[:HEAD_LINES]
        tail += part[-TAIL_LINES:]
    return head, tail


def mark_furniture(doc: Document) -> None:
    if len(doc.pages) < 2:
        return
    heads: list[Candidate] = []
    tails: list[Candidate] = []
    where: dict[int, Line] = {}
    for p in doc.pages:
        head, tail = _zones(p)
        for role_list, zone in ((heads, head), (tails, tail)):
            for ln in zone:
                key = id(ln)
                where[key] = ln
                role_list.append(Candidate(p.number, key, ln.text))
        for ln in head + tail:
            m = PAGE_NUMBER_LINE.match(ln.text.strip())
            if m and int(m.group(1)) <= len(doc.pages) + 50:
                ln.role = LineRole.PAGE_NUMBER
                p.label = p.label or m.group(1)
    canonicals: dict[str, LineRole] = {}
    for cands, role in ((heads, LineRole.HEADER), (tails, LineRole.FOOTER)):
        for f in find_recurring(cands, len(doc.pages)):
            canonicals[f.canonical] = role
            ln = where[f.index]
            if ln.role == LineRole.BODY:
                ln.role = role
                page = doc.pages[ln.page - 1]
                if f.page_label and not page.label:
                    page.label = f.page_label
    _keep_consistent_labels(doc)
    # in a text dump OCR sometimes places a footer line amid the body: a fragment of known furniture
    # is furniture wherever it stands. (Where lines have boxes, position finds furniture, and a body
    # phrase that merely resembles the running header — "gobierno abierto." — stays body.)
    for p in doc.pages:
        for ln in p.lines:
            if ln.role == LineRole.BODY and ln.bbox is None:
                for canonical, role in canonicals.items():
                    if resembles(ln.text, canonical):
                        ln.role = role
                        break


def _keep_consistent_labels(doc: Document) -> None:
    """Printed page numbers advance with the pages: where two or more labels agree on the offset
    between printed number and ordinal, a label that disagrees was not a page number."""
    offsets = [int(p.label) - p.number for p in doc.pages if p.label and p.label.isdigit()]
    if len(offsets) < 2:
        return
    mode = max(set(offsets), key=offsets.count)
    if offsets.count(mode) < 2:
        return
    for p in doc.pages:
        if p.label and p.label.isdigit() and int(p.label) - p.number != mode:
            p.label = None
            for ln in p.lines:
                if ln.role == LineRole.PAGE_NUMBER:
                    ln.role = LineRole.BODY


# ---------------------------------------------------------------------------------- footnotes
MIN_DENSITY_CHARS = 15  # a line this long tells its font size by characters per point


def _density(ln: Line) -> float | None:
    width = ln.bbox.x1 - ln.bbox.x0 if ln.bbox else 0
    return len(ln.text) / width if width > 0 and len(ln.text) >= MIN_DENSITY_CHARS else None


def _small(ln: Line, body_height: float | None, body_density: float | None = None) -> bool:
    """Small print: a line lower than the body's, or (OCR boxes include ascenders and descenders,
    so heights barely differ) one that packs more characters per point than the body's lines: on
    the fixture scans footnotes run 1.22-1.28x the body's density."""
    if body_height is None or ln.bbox is None:
        return True  # no boxes: position and numbering decide
    if (ln.bbox.bottom - ln.bbox.top) < 0.88 * body_height:
        return True
    density = _density(ln)
    return bool(body_density and density and density >= 1.12 * body_density)


_CONTINUATION = re.compile(r"^\s*(?:[a-záéíóúñ(\"“]|https?:|www\.|[\w.-]+/)")
# In a text dump, the piece of a footnote that OCR put after a blank line is a wrapped URL or a
# word or two; a longer chunk there is the next column's paragraph (seen on the seed after stamp
# fragments such as `y 2023`), which must stay in the body.
MAX_CONTINUATION_CHUNK = 3


def _chunk_length(part: list[Line], i: int) -> int:
    """How many lines from part[i] on follow one another without a blank line."""
    n = 1
    while i + n < len(part) and part[i + n].line == part[i + n - 1].line + 1:
        n += 1
    return n


def _continues(prev: Line, ln: Line, body_height: float | None, body_density: float | None, chunk: int) -> bool:
    """Does `ln` continue the footnote whose last line is `prev`? With boxes: small print right
    below it (a gap of more than a line is the footer's; a line higher up is the next column's
    body, which reading order puts after the left column's footnotes). In a text dump: no blank line between
    them, or after a blank a short chunk (`chunk` lines from `ln` on) whose first line cannot open a
    paragraph (lower case, a URL fragment)."""
    if ln.bbox is not None and prev.bbox is not None and body_height is not None:
        prev_height = prev.bbox.bottom - prev.bbox.top
        gap = ln.bbox.top - prev.bbox.bottom
        close = -0.5 * prev_height <= gap <= prev_height  # right below, not back up another column
        too_short_to_tell = _density(ln) is None and ln.bbox.bottom - ln.bbox.top <= 1.1 * prev_height
        return close and (too_short_to_tell or _small(ln, body_height, body_density))
    if ln.line == prev.line + 1:
        return True
    return chunk <= MAX_CONTINUATION_CHUNK and bool(_CONTINUATION.match(ln.text))


def mark_footnotes(doc: Document) -> None:
    """Footnotes sit in the lower part of a column or chunk; one opens on a line starting with the
    next footnote number (they are numbered through the report) and runs on while its lines
    continue it. Their lines leave the body and go to `Page.footnotes`."""
    last = 0
    for page in doc.pages:
        body = [ln for ln in page.lines if ln.role == LineRole.BODY and ln.text.strip()]
        heights = [ln.bbox.bottom - ln.bbox.top for ln in body if ln.bbox]
        body_height = statistics.median(heights) if heights else None
        densities = [d for d in map(_density, body) if d]
        body_density = statistics.median(densities) if densities else None
        # a text dump's footnotes live in its OCR chunks; on a page with boxes they run across
        # layout blocks (a full-width line is a block of its own), so the page is read whole, in
        # reading order, and the gap check of `_continues` ends a footnote
        blocks: dict[int | None, list[Line]] = {}
        for ln in body:
            blocks.setdefault(ln.block if ln.bbox is None else None, []).append(ln)
        for part in blocks.values():
            current: Footnote | None = None
            prev: Line | None = None
            for i, ln in enumerate(part):
                m = _FOOTNOTE_START.match(ln.text)
                lower = i >= len(part) * 0.4 or (
                    ln.bbox is not None and page.height and ln.bbox.top > 0.6 * page.height
                )
                if (m and lower and last < int(m.group(1)) <= last + MAX_FOOTNOTE_GAP
                        and _small(ln, body_height, body_density)):
                    last = int(m.group(1))
                    current = Footnote(number=m.group(1), text=m.group(2).strip(), page=page.number,
                                       lines=[ln.line])
                    page.footnotes.append(current)
                elif current is not None and prev is not None and _continues(
                        prev, ln, body_height, body_density, _chunk_length(part, i)):
                    current.text = f"{current.text} {ln.text.strip()}".strip()
                    current.lines.append(ln.line)
                else:
                    current = None
                    continue
                ln.role = LineRole.FOOTNOTE
                prev = ln


def analyse(doc: Document) -> Document:
    """Mark furniture and footnotes; returns the same document, its lines' roles set.

    Where lines have boxes, footnotes are told by their small print and place, so they are found
    first and recurrence then sees only the body (a report citing "Consultable en:" at the foot of
    most pages has no such running footer). In a text dump, footnotes are told by numbering and
    adjacency alone, so the recurring furniture must leave first."""
    if all(ln.bbox is not None for ln in doc.body_lines()):
        mark_footnotes(doc)
        mark_furniture(doc)
    else:
        mark_furniture(doc)
        mark_footnotes(doc)
    return doc

