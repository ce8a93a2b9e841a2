"""OCR repair: fix what Tesseract breaks in Spanish reports, record every change, change nothing
that was right without evidence.

Steps, each a rule family named in `Correction.rule`: mojibake (ftfy); line patterns (inverted
question marks, bullets, lettered lists); URLs broken over lines or garbled (`url`, rebuilt from the
URLs the document prints intact, or `url-unrecoverable`, flagged); hyphenation, compounds and ranges
cut at a line end; footnote references glued to words (`footnote-marker`, detached and written `[^N]`
with N a footnote of the page); short-word misreads (`short-word`, `stray-bar`); and word repair
(`accent`, `confusion`, `…-context`) as a noisy channel over a Spanish lexicon whose accent-drop
rates are learnt from the document itself (pipeline.repair.words). Close calls are recorded with
`applied=False` and left as printed.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

import ftfy

from pipeline.models import Correction, Footnote, Line
from pipeline.repair import urls
from pipeline.repair.lexicon import fold
from pipeline.repair.rules import Rules, load_rules
from pipeline.repair.words import DocumentModel, choose

_TOKEN = re.compile(r"[^\s]+")
_WORD = re.compile(r"^([(\"“”'‘’¿¡•\-–—\[]*)(.+?)([)\]\"”’'.,;:!?]*)$")
# a footnote reference glued to a word: digits, or the symbols OCR makes of superscript digits
_MARK_CHARS = "!?®°*%'’>™¥²³¹⁰¹²³⁴⁵⁶⁷⁸⁹\"”"
_GLUED = re.compile(rf"^(?P<word>.*?(?:[^\W\d_]|\)|(?:19|20)\d\d)\.?)(?P<mark>[{_MARK_CHARS}\d]+)(?P<tail>[.,;:)]*)$")
_PUNCTUATION = ("?", "!", "'", "’")  # marks that are punctuation as often as superscripts
_SYMBOL_DIGITS = {"!": "1", "°": "0", "¹": "1", "²": "2", "³": "3"}
_LETTERS = re.compile(r"[^\W\d_]")
# characters from which a token is no word to repair (Spanish words run to about 25 letters): the
# readings of a token cost the square of its confusion sites, which grow with its length
MAX_WORD = 60


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
    """Records one line's edits; offsets are given in the line as currently edited and stored as
    offsets in the original line (earlier edits that changed the length are undone for that)."""

    def __init__(self, line: Line, out: list[Correction]):
        self.line, self.out = line, out
        # the replaced spans' ends in the edited text, sorted, and the running sum of their length
        # changes (before[k]: the change of the spans before the k-th end): an offset is taken back
        # in log time, and edits made left to right (nearly all) are appended in constant time
        self.ends: list[int] = []
        self.deltas: list[int] = []
        self.before: list[int] = [0]

    def record(self, offset: int, original: str, replacement: str, rule: str, confidence: float,
               applied: bool = True) -> None:
        offset -= self.before[bisect.bisect_right(self.ends, offset)]
        self.out.append(Correction(page=self.line.page, line=self.line.line, offset=offset, original=original,
                                   replacement=replacement, rule=rule, confidence=confidence, applied=applied))

    def replaced(self, start: int, old_length: int, new_length: int) -> None:
        if new_length != old_length:
            end = start + new_length
            k = bisect.bisect_right(self.ends, end)
            self.ends.insert(k, end)
            self.deltas.insert(k, new_length - old_length)
            del self.before[k + 1:]
            for delta in self.deltas[k:]:
                self.before.append(self.before[-1] + delta)


def _vocabulary(lines: list[Line]) -> Counter:
    return Counter(m.group(0).lower() for ln in lines for m in re.finditer(r"[^\W\d_]{2,}", ln.text))


class _Footnotes:
    """Assigns glued reference marks to footnote numbers: the number the mark spells, if the page has
    that footnote; else the page's next unused footnote after the last one referenced (footnotes are
    numbered through the document); else, on a page whose footnotes the layout did not find, the
    running number + 1, with low confidence."""

    def __init__(self, footnotes: list[Footnote]):
        self.by_page: dict[int, list[str]] = {}
        for f in footnotes:
            self.by_page.setdefault(f.page, []).append(f.number)
        self.used: set[tuple[int, str]] = set()
        self.last = 0

    def number(self, page: int, mark: str) -> tuple[str | None, float, bool]:
        """The footnote a mark refers to, how sure that is, and whether to apply it: a lone mark that
        is also punctuation (`?`, `'`) given only the running number is a guess, recorded and left
        as printed."""
        notes = [n for n in self.by_page.get(page, []) if (page, n) not in self.used]
        digits = "".join(_SYMBOL_DIGITS.get(ch, ch) for ch in mark if ch.isdigit() or ch in _SYMBOL_DIGITS)
        if digits in notes:
            number, conf = digits, 0.95 if mark.isdigit() else 0.85
        elif mark.isdigit():
            return None, 0.0, False  # plain digits that name no footnote here: an OCR misread (`plante6`)
        elif notes:
            later = [n for n in notes if n.isdigit() and int(n) > self.last]
            number, conf = (later or notes)[0], 0.6
        elif self.last:  # the layout found no (more) footnotes on this page: the running number
            number, conf = str(self.last + 1), 0.4
            if mark in _PUNCTUATION:
                return number, conf, False
        else:
            return None, 0.0, False
        self.used.add((page, number))
        if number.isdigit():
            self.last = max(self.last, int(number))
        return number, conf, True


@lru_cache(maxsize=4)
def _folded(words: frozenset[str]) -> frozenset[str]:
    return frozenset(fold(w) for w in words)


def _opens_question(opening: list[str], question_words: frozenset[str]) -> bool:
    """Whether the opening two words of a sentence make it a question or exclamation with the
    accent of its interrogative lost (`Cuál` read `Cual`)."""
    folded = _folded(question_words)
    return any(w in folded for w in opening)


def _is_marker(word: str, mark: str, open_question: bool, lexicon) -> bool:
    """Whether symbols glued after a word are a footnote reference rather than punctuation
    (`open_question`: an opening `¿`/`¡`, or a question word, precedes it in the sentence)."""
    if mark in ("?", "!"):
        return not open_question and lexicon.valid(word.strip("()¿¡\"“"))
    if mark in ('"', "”"):
        return False
    if mark == "%":
        return bool(re.search(r"(?:19|20)\d\d$", word))
    if mark.isdigit():
        core = word.strip("()")
        return core.isalpha() and lexicon.valid(core) and len(mark) <= 2
    return True


def _repair_tokens(ln: Line, ed: _Editor, rules: Rules, model: DocumentModel, notes: _Footnotes,
                   state: dict) -> str:
    text, lexicon = ln.text, model.lexicon
    out, pos = [], 0
    tokens = list(_TOKEN.finditer(text))
    for k, m in enumerate(tokens):
        out.append(text[pos:m.start()])
        pos = m.end()
        token = m.group(0)
        context = (_neighbour(tokens[k - 1].group(0) if k else state["prev"]),
                   _neighbour(tokens[k + 1].group(0) if k + 1 < len(tokens) else state["next_line"]))
        state["prev"] = token
        if "¿" in token or "¡" in token:
            state["question"] = True
        word = _neighbour(token)
        if len(state["opening"]) < 2:
            state["opening"].append(word)
        if word in rules.question_words:  # an interrogative anywhere: `Cuál fue el resultado?`
            state["question"] = True
        if "://" in token or token.lower().startswith("www.") or rules.address.search(token):
            out.append(token)
            continue
        after = ""  # a detached footnote reference and what followed it
        g = _GLUED.match(token)
        asking = state["question"] or _opens_question(state["opening"], rules.question_words)
        if g and _is_marker(g.group("word"), g.group("mark"), asking, lexicon):
            number, conf, applied = notes.number(ln.page, g.group("mark"))
            if number:
                ed.record(m.start(), token, g.group("word") + f"[^{number}]" + g.group("tail"), "footnote-marker",
                          conf, applied)
            if number and applied:
                after = f"[^{number}]" + g.group("tail")
                token = g.group("word")
        if re.search(r"[.?!]$", token + after):
            state.update(question=False, opening=[])
        w = _WORD.match(token)
        if not w:
            out.append(token + after)
            continue
        lead, core, tail = w.groups()
        if "¿" in lead:
            context = ("¿", context[1])
        new_core = _repair_word(core, tail, ed, m.start() + len(lead), rules, model, context)
        if new_core is None:
            new_core, consumed = core, 0
        else:
            new_core, consumed = new_core
        out.append(lead + new_core + tail[consumed:] + after)
    out.append(text[pos:])
    return "".join(out)


def _neighbour(token: str) -> str:
    """A neighbouring token as context rules see it: lower case, outer punctuation off (`¿` kept)."""
    return token.lower().strip("()[]\"“”'‘’.,;:!?¡•-–—")


def _repair_word(core: str, tail: str, ed: _Editor, offset: int, rules: Rules,
                 model: DocumentModel, context: tuple[str, str]) -> tuple[str, int] | None:
    """The repaired word and how many tail characters it took in (`v,` → `y,` is one token)."""
    for key, consumed in ((core, 0), (core + tail[:1], 1)):
        if key in rules.tokens and (consumed == 0 or tail[:1]):
            ed.record(offset, key, rules.tokens[key], "short-word", 0.95)
            return rules.tokens[key], consumed
    if core.startswith("|") and len(core) > 1:
        rest = core.lstrip("|")
        for fixed in (rest, "l" + rest):
            if fixed.isalpha() and model.lexicon.valid(fixed) and model.lexicon.zipf(fixed) >= 3:
                ed.record(offset, core, fixed, "stray-bar", 0.9)
                return fixed, 0
    if not _LETTERS.search(core) or len(core) > MAX_WORD:
        return None  # no word, or longer than any word: left as printed
    choice = choose(core, model, rules, *context)
    if choice is None:
        return None
    ed.record(offset, core, choice.replacement, choice.rule, choice.confidence, choice.applied)
    return (choice.replacement if choice.applied else core), 0


def repair_lines(lines: list[Line], footnotes: list[Footnote] = (), *, doc_text: str | None = None) -> RepairResult:
    """Repaired copies of `lines` (same page/line provenance) and every correction, applied or
    flagged. `doc_text` (all the document's text) supplies the URLs printed intact elsewhere."""
    rules = load_rules()
    corrections: list[Correction] = []
    work = [ln.model_copy(update={"words": []}) for ln in lines]
    model = DocumentModel(_vocabulary(work))
    notes = _Footnotes(list(footnotes))
    known_urls = urls.intact_urls((doc_text or "") + "\n" + "\n".join(ln.text for ln in lines)
                                  + "\n" + "\n".join(f.text for f in footnotes))
    # question: the sentence so far has an opening `¿`/`¡` or an interrogative; opening: its first two words
    state = {"question": False, "opening": [], "page": None, "prev": "", "next_line": ""}
    pulled: dict[int, int] = {}  # line index → characters hyphenation moved from its start to the line before
    for i, ln in enumerate(work):
        if ln.page != state["page"]:
            state.update(question=False, opening=[], page=ln.page)
        ed = _Editor(ln, corrections)
        if i in pulled:
            ed.replaced(0, pulled[i], 0)
        fixed, changes = _fix_encoding(ln.text)
        if fixed != ln.text:
            ed.record(0, ln.text, fixed, "mojibake", 0.9)
            # ftfy may change lengths (`ﬁ` → `fi`): later offsets are taken back through each change
            for i1, i2, j1, j2 in changes:
                ed.replaced(j1, i2 - i1, j2 - j1)
            ln.text = fixed
        for lp in rules.line_patterns:
            found = list(lp.pattern.finditer(ln.text))
            if found and not lp.fits(*_surroundings(work, i)):
                continue
            for m in reversed(found):
                ed.record(m.start(), m.group(0), lp.replacement, lp.rule, 0.9)
                ed.replaced(m.start(), len(m.group(0)), len(lp.replacement))
                ln.text = ln.text[: m.start()] + lp.replacement + ln.text[m.end():]
        nxt = work[i + 1] if i + 1 < len(work) and work[i + 1].page == ln.page else None
        touched = urls.repair_url_line(work, i, known_urls, rules.domains, ed, model.readable)
        moved = 0 if touched else _join_hyphenation(ln, nxt, ed, model)
        if moved:
            pulled[i + 1] = moved
        state["next_line"] = nxt.text.split(maxsplit=1)[0] if nxt is not None and nxt.text.strip() else ""
        ln.text = _repair_tokens(ln, ed, rules, model, notes, state)
    return RepairResult(work, corrections)


_FTFY_PIECE = 1000  # characters: a line is fixed in pieces of about this size, cut at spaces


def _fix_encoding(text: str) -> tuple[str, list[tuple[int, int, int, int]]]:
    """ftfy's fix of a line and the spans it changed, `(i1, i2, j1, j2)`: `text[i1:i2]` became
    `fixed[j1:j2]`. A long line is fixed in pieces of about `_FTFY_PIECE` characters cut after a
    space (mojibake never spans an ASCII space), each aligned on its own: the alignment costs the
    square of a piece's length, not of the line's."""
    fixed, changes, i, j = [], [], 0, 0
    while i < len(text):
        end = len(text) if len(text) - i <= _FTFY_PIECE else text.rfind(" ", i, i + _FTFY_PIECE) + 1
        end = end if end > i else i + _FTFY_PIECE  # no space in the piece: cut it anyway
        piece = text[i:end]
        new = ftfy.fix_text(piece, normalization="NFC", uncurl_quotes=False)
        if new != piece:
            changes += [(i + i1, i + i2, j + j1, j + j2) for tag, i1, i2, j1, j2
                        in SequenceMatcher(None, piece, new, autojunk=False).get_opcodes() if tag != "equal"]
        fixed.append(new)
        i, j = end, j + len(new)
    return "".join(fixed), changes


def _surroundings(lines: list[Line], i: int, reach: int = 60) -> tuple[str, str]:
    """The page's lines before line `i` (as repaired so far) and after it, each joined with newlines."""
    page = lines[i].page
    before = [ln.text for ln in lines[max(0, i - reach): i] if ln.page == page]
    after = [ln.text for ln in lines[i + 1: i + 1 + reach] if ln.page == page]
    return "\n".join(before), "\n".join(after)


def _join_hyphenation(ln: Line, nxt: Line | None, ed: _Editor, model: DocumentModel) -> int:
    """`implemen-` + `tación` → `implementación` on the first line, when the joined word (or its
    repair) is Spanish; a compound or a range cut at its hyphen (`gobierno-` + `sociedad`, `2021-` +
    `2024.`) is joined keeping the hyphen. Never inside a URL or path. Returns how many characters
    left the next line."""
    if nxt is None or not nxt.text.strip():
        return 0
    m_head = re.search(r"(?<![\w-])(\w+)-$", ln.text)
    m = re.match(r"\s*(\w[^\s.,;:]*)([.,;:]?)", nxt.text)
    if not m_head or not m or re.search(r"://|www\.|/", ln.text[: m_head.end()].split()[-1]):
        return 0  # a URL or a path: its hyphen is its own (`…/beneficiario-` is not `beneficiario-` + a word)
    head, rest = m_head.group(1), m.group(1)
    lex = model.lexicon
    joined = head + rest
    if head.isdigit() and rest.isdigit():
        rule, new = "line-end-range", f"{head}-{rest}"
    elif not (head.isalpha() and rest.isalpha()):
        return 0
    elif lex.valid(joined):
        rule, new = "hyphenation", joined
    elif lex.valid(head) and lex.valid(rest) and len(head) > 2:
        rule, new = "line-end-compound", f"{head}-{rest}"
    elif model.options(joined.lower()):
        rule, new = "hyphenation", joined
    else:
        return 0
    ed.record(m_head.start(1), head + "-", new + m.group(2), rule, 0.9 if rule == "hyphenation" else 0.8)
    ln.text = ln.text[: m_head.start(1)] + new + m.group(2)
    remaining = nxt.text[m.end():].lstrip()
    moved = len(nxt.text) - len(remaining)
    nxt.text = remaining
    return moved


def repair_text(text: str) -> tuple[str, list[Correction]]:
    """Repair a plain text (one page; line numbers are the text's own)."""
    pages = text.split("\f")
    lines = [Line(text=t, page=p, line=i) for p, page in enumerate(pages, 1)
             for i, t in enumerate(page.split("\n"), 1)]
    result = repair_lines(lines, doc_text=text)
    return result.text(), result.corrections


_ITEM = re.compile(r"^\s*(?:[•\-–—]|[a-zA-Z0-9]{1,2}\)|\d{1,2}\.\s|[IVX]{1,4}\.\s|¿)")


def join_paragraphs(text: str) -> str:
    """The lines of each paragraph joined with single spaces: a paragraph ends at a blank line, and a
    line that opens a list item, a numbered heading or a question starts a new one. Pages (form
    feeds) stay apart; a line-end hyphen is kept (the repair has already joined real hyphenations)."""
    pages = []
    for page in text.split("\f"):
        paragraphs: list[list[str]] = [[]]
        for line in page.split("\n"):
            if not line.strip():
                paragraphs.append([])
            elif _ITEM.match(line) and paragraphs[-1]:
                paragraphs.append([line.strip()])
            else:
                paragraphs[-1].append(line.strip())
        pages.append("\n".join(_join(p) for p in paragraphs if p))
    return "\f".join(pages)


def _join(lines: list[str]) -> str:
    out = lines[0]
    for line in lines[1:]:
        out += line if out.endswith("-") else " " + line
    return out


__all__ = ["RepairResult", "join_paragraphs", "repair_lines", "repair_text"]
