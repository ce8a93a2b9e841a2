"""The report's repaired body lines as one spaCy `Doc`, every token traceable to its page and line.

The Doc's text is the body lines joined by single spaces, so names and sentences that run over a
line break match as one. What the Doc leaves out stays in `LineMap.lines` for the components that
need the raw lines (titles, links, bullets): blank lines (they only mark gaps), lines that are a
bare link, and noise lines (stamp and scanner debris the layout left in the body: `) 2023`,
`w— Francisco`, `Insurg`). Footnote references written `[^N]` by the repair stage are dropped
from the Doc's text (they would split words from their punctuation) and kept in the lines.
"""
from __future__ import annotations

import re
import statistics
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Optional

from wordfreq import zipf_frequency

from pipeline.models import Line

MARKER = re.compile(r"\[\^\d+\]")
_URL_LINE = re.compile(r"^\S*(?:https?:|://|www\.)\S*$", re.I)
_LINK_WORDS = {"http", "https", "www", "html", "org", "com"}
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_PERCENT = re.compile(r"\d\s*%")
_WORDLIKE = re.compile(r"^[^\W\d_]{2,}$")
_EDGE_PUNCT = "\"'“”‘’()[]{}¿?¡!.,;:«»|•-–—"
BULLET = re.compile(r"^\s*(?:[•·▪◦*+\-–—]\s*|e\s+[\\|/]?(?=[A-ZÁÉÍÓÚÑ¿])|[a-zA-Z]\)\s*|\(?[a-z]\)\s*|\d{1,2}\)\s*)")


def clean_line(text: str) -> str:
    """A line as the Doc holds it: footnote references dropped, spaces folded."""
    return " ".join(MARKER.sub("", text).split())


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Lower case without accents: the form patterns and gazetteers are matched on."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


@lru_cache(maxsize=65536)
def known_word(word: str) -> bool:
    """A Spanish word the lexicon knows, an acronym, or a number."""
    w = word.strip(_EDGE_PUNCT)
    if not w:
        return False
    if w.replace(".", "").replace(",", "").isdigit():
        return True
    if w.isupper() and w.replace("-", "").isalnum() and sum(ch.isalpha() for ch in w) >= 2:
        return True  # an acronym (`SFP`, `UIF-SFP`, `R3D`)
    return bool(_WORDLIKE.match(w)) and zipf_frequency(w.lower(), "es") >= 1.0


@dataclass
class LineMap:
    """Where each character of the Doc came from."""

    lines: list[Line]
    kept: list[int] = field(default_factory=list)  # indices into `lines`, in Doc order
    starts: list[int] = field(default_factory=list)  # Doc char offset of each kept line
    gap_before: set[int] = field(default_factory=set)  # lines after a blank line or a vertical gap
    noise: set[int] = field(default_factory=set)
    link_only: set[int] = field(default_factory=set)
    cell_right: dict[int, float] = field(default_factory=dict)  # a table line → its cell's right edge

    @cached_property
    def _place(self) -> dict[int, int]:
        return {i: k for k, i in enumerate(self.kept)}

    def place(self, i: int) -> Optional[int]:
        """Where line `i` is in `kept` (the Doc's order), None if it is not kept: O(1), where
        `kept.index` walked the list for each of a report's labels and headings."""
        return self._place.get(i)

    def next_place(self, i: int) -> int:
        """The place in `kept` after line `i` (`len(kept)` when it is not kept or is the last)."""
        k = self._place.get(i)
        return len(self.kept) if k is None else k + 1

    def is_blank(self, i: int) -> bool:
        return not self.lines[i].text.strip()

    @cached_property
    def by_page(self) -> dict[int, list[int]]:
        """Page → indices of its lines, in order: what sits beside or under a line is looked up
        on its page only."""
        out: dict[int, list[int]] = defaultdict(list)
        for i, ln in enumerate(self.lines):
            out[ln.page].append(i)
        return dict(out)


RUNS_ON = re.compile(r"\b(?:de|del|la|las|los|el|y|e|para|en)\s*$", re.I)


MONTHS = "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre"
"""Spanish month names, for the dates reports print (a regular-expression alternation)."""
LABEL_LINE = re.compile(r"^\W*[A-ZÁÉÍÓÚÑ][^\s:]*(?:\s+[^\s:]+){0,5}\s*[:?]\s+\S")
"""A line that opens with a label of its own ("Completitud: Completo", "¿Quién? …"): no value or
list item runs on into it."""
LIST_ITEM = re.compile(r"^\s*(?:[•·▪◦■□●○►▸➢✓✔*\-–—]|(\d{1,2}(?:\.\d{1,2})?)(?:\s*[.)\-–]|(?<=\.\d)(?=\s)|(?<=\.\d\d)(?=\s))"
                       r"|[a-z]\s*\))\s*(?=\S)")
"""What opens an item of a list: a bullet, "1)", "2.", "1.1.", "2.1 " (a dotted number needs no
stop after it), "a)" (group 1: the number)."""


def _stamp_words(lines: list[Line], in_cells: set[int] = frozenset()) -> set[str]:
    """Words that recur on several pages as the only word of a short line and never in running
    text: a stamp or signature the layout did not remove (e.g. a signer's name). A word in lower
    case on its line is the end of something set over several lines (a template label's
    "implementación" under "Institución o actor / responsable de la"), and so is one the line
    before runs on into ("… Consejo Nacional de la" / "Magistratura"), and so is one that runs on
    into the next ("Actores de" / "sociedad civil", a label repeated in every commitment's table),
    and a heading: set in bold, or over a list ("Hitos" over its bulleted milestones): none of them
    is a stamp."""
    solo_pages: dict[str, set[int]] = defaultdict(set)
    in_text: set[str] = set()
    before = ""
    following = [ln.text for ln in lines if ln.text.strip()][1:] + [""]
    k = 0  # the next non-blank line after line i is following[k]
    for i, ln in enumerate(lines):
        tokens = ln.text.split()
        runs_on, before = bool(RUNS_ON.search(before)), ln.text or before
        nxt = following[k] if tokens else ""
        k += bool(tokens)
        if i in in_cells or ln.bold or (nxt and LIST_ITEM.match(MARKER.sub("", nxt))):
            continue  # a table cell's text is the table's (a label in every commitment's table); a heading
        words = [fold(t.strip(_EDGE_PUNCT)) for t in tokens if len(t.strip(_EDGE_PUNCT)) >= 4]
        words = [w for w in words if w.isalpha()]
        if len(tokens) <= 3 and len(words) == 1 and not ln.text.rstrip().endswith((":", "?")) \
                and not ln.text.strip(_EDGE_PUNCT)[:1].islower() and not runs_on and not RUNS_ON.search(ln.text):
            solo_pages[words[0]].add(ln.page)
        elif len(tokens) > 3:
            in_text.update(words)
    return {w for w, pages in solo_pages.items() if len(pages) >= 3 and w not in in_text}


def is_noise(text: str, stamps: set[str]) -> bool:
    tokens = text.split()
    if not tokens or len(tokens) > 4 or _PERCENT.search(text):
        return False  # a printed percentage is data, however short its line
    words = [t.strip(_EDGE_PUNCT) for t in tokens]
    if (text.rstrip().endswith((":", "?")) or text.lstrip().startswith("¿")) and known_word(tokens[0]):
        return False
    if any(fold(w) in stamps for w in words):
        return True
    if any(_YEAR.match(w) for w in words) and not any(
        known_word(w) and not w.isdigit() and len(w) > 1 for w in words
    ):
        return True
    if any(len(w) >= 4 and w.isalpha() and w.lower() not in _LINK_WORDS and known_word(w) for w in words[:2]):
        return False
    scored = [t for t in tokens if t.strip(_EDGE_PUNCT)]
    good = sum(1 for t in scored if known_word(t) and (len(t.strip(_EDGE_PUNCT)) > 1 or t.strip(_EDGE_PUNCT).isdigit()))
    return bool(scored) and good / len(scored) <= 0.5


def _vertical_gaps(lines: list[Line]) -> set[int]:
    """Lines of a PDF page that sit clearly below the previous line of their column."""
    heights = [ln.bbox.bottom - ln.bbox.top for ln in lines if ln.bbox and ln.text.strip()]
    if not heights:
        return set()
    h = statistics.median(heights)
    gaps = set()
    prev: Line | None = None
    for i, ln in enumerate(lines):
        if not ln.text.strip() or ln.bbox is None:
            continue
        if prev is not None and prev.page == ln.page and prev.bbox is not None:
            same_column = ln.column == prev.column
            step = ln.bbox.top - prev.bbox.bottom
            if same_column and step > 0.6 * h:
                gaps.add(i)
        prev = ln
    return gaps


def build_text(lines: list[Line], cell_right: dict[tuple[int, int], float] | None = None,
               cell_starts: set[tuple[int, int]] = frozenset()) -> tuple[str, LineMap]:
    """The Doc text and its map back to the lines; `cell_right`: (page, line) → the right edge of
    the table cell that line is in; `cell_starts`: the (page, line) that open a table cell, a
    break in the text as a gap is."""
    lm = LineMap(lines=list(lines))
    lm.cell_right = {i: cell_right[(ln.page, ln.line)] for i, ln in enumerate(lm.lines)
                     if (ln.page, ln.line) in (cell_right or {})}
    stamps = _stamp_words(lm.lines, set(lm.cell_right))
    lm.gap_before = _vertical_gaps(lm.lines) | {i for i, ln in enumerate(lm.lines) if (ln.page, ln.line) in cell_starts}
    parts: list[str] = []
    offset = 0
    blank_pending = False
    for i, ln in enumerate(lm.lines):
        text = clean_line(ln.text)
        if not text:
            blank_pending = True
            continue
        if _URL_LINE.match(text):
            lm.link_only.add(i)
            continue
        if is_noise(text, stamps) and not (lm.kept and parts[-1].rstrip().endswith("?")):
            lm.noise.add(i)  # (a short line right after a question is its answer, however misread)
            continue
        if blank_pending:
            lm.gap_before.add(i)
        blank_pending = False
        lm.kept.append(i)
        lm.starts.append(offset)
        parts.append(text)
        offset += len(text) + 1
    return " ".join(parts), lm
