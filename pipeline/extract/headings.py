"""Where commitments begin, in any of the report family's layouts: pure functions over the report's
lines, used by the `ogp_sections` component.

Three layouts, tried in this order (the first that finds commitments wins):

1. **Numbered headings** ("Compromiso 3:", "COMPROMISO NRO. 3:", "Compromiso 1.1 …"; patterns in
   `sections.jsonl`). A number printed more than once (a table of contents, the summary list of a
   progress report, the heading itself) is one commitment: its section is the occurrence with the
   most body under it; the others are `SummaryEntry`s, kept to cross-check titles and to read a
   percentage printed beside them.
2. **Template anchors**: an action plan whose commitments carry a title but no number repeats its
   template's first field ("Fecha de inicio y término del compromiso", "¿Quién ejecuta?",
   "Institución responsable" …; `fields.jsonl`). The field that recurs most marks each commitment;
   its title is the run of heading-like lines right above it.
3. **Roman-numbered items** "I) …", "II) …" in sequence (a subnational plan's list of commitments).
4. **Numbered items** "1. Título", "2. Título" in sequence, each with a body under it (at least
   `MIN_BODY_LINES` lines before the next), not a list of chapters (`chapters.txt`).

Geometry decides titles where the page gives it: a title's lines share one type size (the text
layer's `font_size`, else the line box's height) and sit close together; on a text dump, a blank
line or a sentence end stops a title.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

from pipeline.extract.text import fold
from pipeline.models import Line

TOC_LEADER = re.compile(r"(?:[.…·_]\s*){3,}\s*\d{1,3}\s*$")
"""A table-of-contents entry: dotted leader then a page number."""
ROMAN_ITEM = re.compile(r"^\s*([IVXL]{1,6})\)\s+(\S.*)$")
ROMAN_MARK = re.compile(r"^\s*([IVXL]{1,6})\)\s*$")
_SENTENCE_END = re.compile(r"[.;:!?]$")
_BULLET = re.compile(r"^\s*[•·▪◦*\-–—]")
SIZE_TOLERANCE = 0.12
"""Two lines are set in one type size when their font sizes differ by at most 12%…"""
HEIGHT_TOLERANCE = 0.35
"""…or, without font sizes (OCR), their box heights by at most 35%: a box's height varies with
the line's capitals, ascenders and descenders (a scanned heading over its continuation: 14.4 vs
10.4 pt), while a title set apart is some 1.5 times the body's size."""
LINE_GAP = 0.8
"""Lines of one title are at most 0.8 line heights apart (vertically)."""
MAX_TITLE_LINES = 6


@dataclass
class SummaryEntry:
    """A commitment named again elsewhere (table of contents, summary list): its number, the line
    range and the text of the entry."""

    number: str
    first_line: int
    last_line: int
    text: str


def roman_value(text: str) -> Optional[int]:
    values = {"I": 1, "V": 5, "X": 10, "L": 50}
    if not text or any(ch not in values for ch in text):
        return None
    total = 0
    for i, ch in enumerate(text):
        v = values[ch]
        total += -v if i + 1 < len(text) and values[text[i + 1]] > v else v
    return total


def size(line: Line) -> Optional[float]:
    """The line's type size: the text layer's font size, else its box height."""
    fs = getattr(line, "font_size", None)
    if fs:
        return float(fs)
    if line.bbox is not None:
        return line.bbox.bottom - line.bbox.top
    return None


def same_size(a: Line, b: Line, boxes: bool = True) -> bool:
    """Set in one type size, as far as the page tells: by font size, else (`boxes`) by box
    height; True when neither is known."""
    fa, fb = getattr(a, "font_size", None), getattr(b, "font_size", None)
    if fa and fb:
        return abs(fa - fb) <= SIZE_TOLERANCE * max(fa, fb)
    if not boxes:
        return True
    sa, sb = size(a), size(b)
    if sa is None or sb is None:
        return True
    return abs(sa - sb) <= HEIGHT_TOLERANCE * max(sa, sb)


def close_below(upper: Line, lower: Line) -> bool:
    """`lower` continues `upper` where boxes exist: within `LINE_GAP` lines below it, or at the top
    of the next column or page (a title broken by the column's end)."""
    if upper.bbox is None or lower.bbox is None:
        return True
    if upper.page != lower.page or lower.bbox.top < upper.bbox.top:
        return True
    h = max(upper.bbox.bottom - upper.bbox.top, 1.0)
    return -0.5 * h <= lower.bbox.top - upper.bbox.bottom <= LINE_GAP * h


TOC_TAIL = re.compile(r"(?:[.…·_]\s*){5,}\d{0,3}\s*$")
"""A dotted leader ending a line, its page number there or on a line of its own (a number set
right-aligned is read as a line apart)."""


def is_toc_entry(text: str, following: str = "") -> bool:
    """A table-of-contents entry: its line ends with a leader and a page number, or a leader
    ends it or the line that continues its title (`following`)."""
    return bool(TOC_LEADER.search(text) or TOC_TAIL.search(text) or TOC_TAIL.search(following))


def title_above(lines: Sequence[Line], anchor: int, floor: int, stops: set[int]) -> list[int]:
    """Indices of the title lines right above line `anchor`: heading-like lines (no sentence end,
    no bullet, not in `stops`) of one type size, close together, not above `floor`. Where the
    page gives type sizes, the title is set larger than the anchor field, or in bold when the
    field is not. A caption of the field's own size between them (a form's header row, "Ficha de
    compromiso – Eje 1") is passed over for the title set apart above it."""
    out = _title_run(lines, anchor, anchor - 1, floor, stops)
    if not out and lines[anchor].bbox is not None:
        caption = _title_run(lines, anchor, anchor - 1, floor, stops, set_apart=False)
        if 0 < len(caption) <= MAX_CAPTION_LINES:
            out = _title_run(lines, anchor, caption[0] - 1, floor, stops)
    return out


MAX_CAPTION_LINES = 2


def _title_run(lines: Sequence[Line], anchor: int, i: int, floor: int, stops: set[int],
               set_apart: bool = True) -> list[int]:
    """The heading-like lines ending at line `i` (see `title_above`); `set_apart`: [] unless set
    larger or bolder than the field."""
    out: list[int] = []
    tags = 0
    while i >= floor and len(out) < MAX_TITLE_LINES:
        ln = lines[i]
        text = ln.text.strip()
        if not text:
            if out and lines[out[0]].bbox is None:
                break  # a blank line ends a title in a text dump
            i -= 1
            continue
        if not out and tags < MAX_TAGS and _is_tag(ln, lines[anchor]):
            tags += 1  # a designed plan's labels between title and field ("Participación", "ODS 11")
            i -= 1
            continue
        if i in stops or _BULLET.match(text) or (_SENTENCE_END.search(text) and not out and text.endswith((".", ";"))):
            break
        if out:
            first = lines[out[0]]
            if ln.page != first.page or not same_size(ln, first) or not close_below(ln, first) \
                    or _SENTENCE_END.search(text):
                break
        elif ln.page != lines[anchor].page and lines[anchor].bbox is not None:
            break
        out.insert(0, i)
        i -= 1
    if out and set_apart:
        top, field = size(lines[out[0]]), size(lines[anchor])
        bold_title = bool(getattr(lines[out[0]], "bold", None)) and not getattr(lines[anchor], "bold", None)
        if top is not None and field is not None and lines[anchor].bbox is not None \
                and top < field * (1 + SIZE_TOLERANCE) and not bold_title:
            return []  # not set apart from the field (larger or bold type): body text, not a title
    return out


MAX_TAGS = 6
"""Tag lines skipped between a title and the field under it, at most."""


def _is_tag(ln: Line, field: Line) -> bool:
    """A short line in smaller type than the field, on its page: a tag or pill of a designed
    layout, not the title."""
    a, b = size(ln), size(field)
    return (a is not None and b is not None and ln.page == field.page and a < 0.85 * b
            and len(ln.text.split()) <= 4 and not _SENTENCE_END.search(ln.text.strip()))


def same_row(a: Line, b: Line) -> bool:
    """`b` sits on `a`'s row (a list marker and its text, set apart by a tab stop)."""
    if a.bbox is None or b.bbox is None or a.page != b.page:
        return False
    h = max(a.bbox.bottom - a.bbox.top, 1.0)
    return abs(a.bbox.top - b.bbox.top) <= 0.3 * h and b.bbox.x0 >= a.bbox.x1 - 1


NUMBERED_ITEM = re.compile(r"^\s*(\d{1,2})(?:[.)]\s*[-–—]\s*|[.)]\s+|\s+[-–—]\s+)(\S.*)$")
"""A numbered item: "3. Título", "3) Título", "3.- Título" (as Latin American reports number), "3 – Título"."""
MIN_BODY_LINES = 3
MAX_TITLE_WORDS = 20


def numbered_items(lines: Sequence[Line], chapters: set[str]) -> list[tuple[int, str, str]]:
    """(line, number, title) of the longest run of "1. Título", "2. Título" … numbered in sequence
    from 1 whose items are headings (no sentence end, at most `MAX_TITLE_WORDS` words) each over a
    body of at least `MIN_BODY_LINES` lines, and not the document's chapters; empty when there is
    no run of at least two."""
    runs: list[list[tuple[int, str, str]]] = []
    for i, ln in enumerate(lines):
        m = NUMBERED_ITEM.match(ln.text)
        if not m:
            continue
        title = m.group(2).strip()
        if title.endswith((".", ";", ":")) or len(title.split()) > MAX_TITLE_WORDS:
            continue
        value = int(m.group(1))
        if value == 1:
            runs.append([(i, m.group(1), title)])
        elif runs and int(runs[-1][-1][1]) == value - 1:
            runs[-1].append((i, m.group(1), title))

    def body(a: int, b: int) -> int:
        return sum(1 for k in range(a + 1, b) if lines[k].text.strip())

    good = []
    for run in runs:
        ends = [item[0] for item in run[1:]] + [len(lines)]
        if len(run) >= 2 and all(body(item[0], end) >= MIN_BODY_LINES for item, end in zip(run, ends)) \
                and not any(_first_word(t) in chapters for _, _, t in run):
            good.append(run)
    return max(good, key=lambda r: (len(r), r[0][0])) if good else []


def _first_word(text: str) -> str:
    return fold((text.split() or [""])[0].strip(".,:;()"))


def roman_items(lines: Sequence[Line]) -> list[tuple[int, str, str]]:
    """(index of the title's line, numeral, title) of the longest run of "I) …", "II) …" items
    numbered in sequence from I; empty when there is no run of at least two. A numeral alone on
    its line takes the text on its row as title."""
    runs: list[list[tuple[int, str, str]]] = []
    for i, ln in enumerate(lines):
        m = ROMAN_ITEM.match(ln.text)
        item = (i, m.group(1), m.group(2).strip()) if m else None
        alone = ROMAN_MARK.match(ln.text)
        if alone:  # its text is on its row, next in reading order or (a point higher) just before
            beside = [k for k in (i + 1, i - 1) if 0 <= k < len(lines) and same_row(ln, lines[k])]
            if beside:
                item = (beside[0], alone.group(1), lines[beside[0]].text.strip())
        if item is None:
            continue
        value = roman_value(item[1])
        if value == 1:
            runs.append([item])
        elif value and runs and roman_value(runs[-1][-1][1]) == value - 1:
            runs[-1].append(item)
    runs = [r for r in runs if len(r) >= 2]
    if not runs:
        return []
    return max(runs, key=lambda r: (len(r), r[0][0]))
