"""OCR repair: fix what Tesseract breaks in Spanish reports, record every change, change nothing
that was right without evidence.

Steps, each a rule family named in `Correction.rule`: mojibake (ftfy), line patterns (inverted
question marks, bullets), URLs broken over lines or garbled (rebuilt towards URLs the document prints
intact, or a known domain), hyphenation at line ends, footnote references glued to words (detached,
linked to the page's footnotes, written `[^N]`), short-word misreads, and word repair against a
Spanish lexicon with the confusion table (pipeline.repair.words).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import ftfy

from pipeline.models import Correction, Footnote, Line
from pipeline.repair import urls
from pipeline.repair.rules import Rules, load_rules
from pipeline.repair.words import choose, zipf

_TOKEN = re.compile(r"[^\s]+")
_WORD = re.compile(r"^([(\"“¿¡]*)(.+?)([)\"”.,;:!?]*)$")
# a footnote reference glued to a word: digits, or symbols OCR makes of superscript digits
_GLUED = re.compile(r"^(?P<word>[A-Za-zÁÉÍÓÚÑáéíóúñü)\-]{2,}?)(?P<mark>\d{1,2}|[!®°*%¥]+\d{0,2}|[?]\d{1,2}\**)(?P<tail>[.,;:)]*)$")
_SYMBOL_DIGITS = {"!": "1", "l": "1", "I": "1"}


@dataclass
class RepairResult:
    lines: list[Line]
    corrections: list[Correction] = field(default_factory=list)

    def text(self) -> str:
        pages: dict[int, list[str]] = {}
        for ln in self.lines:
            pages.setdefault(ln.page, []).append(ln.text)
        return "\f".join("\n".join(v) for _, v in sorted(pages.items()))


class _Editor:
    """Applies edits to one line's text and records them with their offset in the original."""

    def __init__(self, line: Line, out: list[Correction]):
        self.line, self.out = line, out

    def record(self, offset: int, original: str, replacement: str, rule: str, confidence: float,
               applied: bool = True) -> None:
        self.out.append(Correction(page=self.line.page, line=self.line.line, offset=offset, original=original,
                                   replacement=replacement, rule=rule, confidence=confidence, applied=applied))


def _vocabulary(lines: list[Line]) -> Counter:
    return Counter(m.group(0).lower() for ln in lines for m in re.finditer(r"[^\W\d_]{3,}", ln.text))


def _footnote_mark(mark: str, page_notes: list[str], used: set[str]) -> tuple[str | None, float]:
    """The footnote number a glued mark stands for on this page, and how sure that is."""
    digits = "".join(_SYMBOL_DIGITS.get(ch, ch) for ch in mark if ch.isdigit() or ch in _SYMBOL_DIGITS)
    if digits in page_notes:
        return digits, 0.95 if mark.isdigit() else 0.8
    free = [n for n in page_notes if n not in used]
    if free:
        return free[0], 0.55
    return None, 0.0


def _repair_tokens(text: str, ed: _Editor, rules: Rules, vocab: Counter, page_notes: list[str],
                   used: set[str]) -> str:
    out, pos = [], 0
    for m in _TOKEN.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        if "://" in token or token.startswith("www."):
            out.append(token)
            continue
        g = _GLUED.match(token)
        if g and page_notes and zipf(g.group("word").strip(")-")) >= 2.0 and not token[:1].isdigit():
            number, conf = _footnote_mark(g.group("mark"), page_notes, used)
            if number:
                used.add(number)
                new = f"{g.group('word')}[^{number}]{g.group('tail')}"
                ed.record(m.start(), token, new, "footnote-marker", conf)
                out.append(new)
                continue
        w = _WORD.match(token)
        if not w:
            out.append(token)
            continue
        lead, core, tail = w.groups()
        if core in rules.tokens or (core + tail[:1]) in rules.tokens:
            key = core if core in rules.tokens else core + tail[:1]
            new_core = rules.tokens[key]
            rest = tail if key == core else tail[1:]
            ed.record(m.start(), token, lead + new_core + rest, "short-word", 0.95)
            out.append(lead + new_core + rest)
            continue
        choice = choose(core, rules, vocab)
        if choice is None:
            out.append(token)
            continue
        new = lead + choice.replacement + tail
        ed.record(m.start() + len(lead), core, choice.replacement, choice.rule, choice.confidence, choice.applied)
        out.append(new if choice.applied else token)
    out.append(text[pos:])
    return "".join(out)


def repair_lines(lines: list[Line], footnotes: list[Footnote] = (), *, doc_text: str | None = None) -> RepairResult:
    """Repaired copies of `lines` (same page/line provenance) and every correction, applied or
    flagged. `doc_text` (all the document's text) supplies the URLs printed intact elsewhere."""
    rules = load_rules()
    corrections: list[Correction] = []
    work = [ln.model_copy(update={"words": []}) for ln in lines]
    vocab = _vocabulary(work)
    notes_by_page: dict[int, list[str]] = {}
    for f in footnotes:
        notes_by_page.setdefault(f.page, []).append(f.number)
    known_urls = urls.intact_urls((doc_text or "") + "\n" + "\n".join(ln.text for ln in lines)
                                  + "\n" + "\n".join(f.text for f in footnotes))
    used: dict[int, set[str]] = {}

    for i, ln in enumerate(work):
        ed = _Editor(ln, corrections)
        fixed = ftfy.fix_text(ln.text, normalization="NFC")
        if fixed != ln.text:
            ed.record(0, ln.text, fixed, "mojibake", 0.9)
            ln.text = fixed
        for lp in rules.line_patterns:
            m = lp.pattern.search(ln.text)
            if m:
                ed.record(m.start(), m.group(0), lp.replacement, lp.rule, 0.9)
                ln.text = ln.text[: m.start()] + lp.replacement + ln.text[m.end():]
        nxt = work[i + 1] if i + 1 < len(work) and work[i + 1].page == ln.page else None
        urls.repair_url_line(ln, nxt, known_urls, rules.domains, ed)
        _join_hyphenation(ln, nxt, ed)
        ln.text = _repair_tokens(ln.text, ed, rules, vocab, notes_by_page.get(ln.page, []),
                                 used.setdefault(ln.page, set()))
    return RepairResult(work, corrections)


def _join_hyphenation(ln: Line, nxt: Line | None, ed: _Editor) -> None:
    """`implemen-` + `tación` → `implementación` on the first line, when the joined word is known."""
    if nxt is None or not re.search(r"[^\W\d_]{2,}-$", ln.text) or not nxt.text.strip():
        return
    head = re.search(r"([^\W\d_]+)-$", ln.text).group(1)
    m = re.match(r"\s*([^\W\d_]+)([.,;:]?)", nxt.text)
    if not m:
        return
    joined = head + m.group(1)
    if zipf(joined) < 2.0 or zipf(joined) < zipf(head + "-" + m.group(1)):
        return
    ed.record(len(ln.text) - len(head) - 1, head + "-", joined + m.group(2), "hyphenation", 0.9)
    ln.text = ln.text[: len(ln.text) - len(head) - 1] + joined + m.group(2)
    nxt.text = nxt.text[m.end():].lstrip()


def repair_text(text: str) -> tuple[str, list[Correction]]:
    """Repair a plain text (one page; line numbers are the text's own)."""
    pages = text.split("\f")
    lines = [Line(text=t, page=p, line=i) for p, page in enumerate(pages, 1)
             for i, t in enumerate(page.split("\n"), 1)]
    result = repair_lines(lines, doc_text=text)
    return result.text(), result.corrections


__all__ = ["RepairResult", "repair_lines", "repair_text"]
