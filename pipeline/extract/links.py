"""The final summary table (`ogp_table`) and each commitment's links (`ogp_urls`).

Self-assessments end with a table that repeats every commitment's title and results link. Its rows
are read back from the lines under the table heading (title column and link column come out of
the OCR on the same lines, the link often cut over two lines) and paired with the commitments by
title. The table then
- gives the title when the heading is damaged (a word the lexicon does not know, stray marks, or
  words missing that the table prints), flagged;
- flags a heading and a table that word the title differently (the heading is kept);
- completes or checks the link read in the body after "Consulta los resultados en:".

Links are rebuilt from their fragments: the fragments are joined, the part after the last `/` is
the slug, and the part before it is replaced by the link prefix the report prints intact elsewhere
(`https://tablero.gobabiertomx.org/compromiso/`) that it resembles most.
"""
from __future__ import annotations

import re
from collections import Counter

from rapidfuzz import fuzz
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.extract.state import Extraction, Section, TableRow, state
from pipeline.extract.text import MARKER, fold, known_word

_INTACT_URL = re.compile(r"https?://[A-Za-z0-9.-]+\.[a-z]{2,}(?:/[A-Za-z0-9._~%-]+)*/?")
_URL_START = re.compile(r"^(?:https?\S*|h|I|www\.\S*|\S*://\S*|\S+\.(?:org|gob|com|mx|net)\S*)$", re.I)
_FUNCTION = {"y", "e", "o", "de", "del", "la", "las", "el", "los", "para", "a", "al", "en", "por", "con", "sobre"}
_SLUG_OK = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ------------------------------------------------------------------------------------- table
@Language.factory("ogp_table")
def make_table(nlp: Language, name: str):
    return SummaryTable()


def _similarity(a: str, b: str) -> float:
    a, b = _words(a), _words(b)
    return (fuzz.ratio(a, b) + fuzz.token_set_ratio(a, b)) / 2


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", fold(text)).split())


def _split_url(tokens: list[str]) -> int:
    """Index of the first token of a line's link column (len(tokens) when there is none)."""
    for j, tok in enumerate(tokens):
        nxt = tokens[j + 1] if j + 1 < len(tokens) else ""
        if "://" in tok or tok.lower().startswith(("http", "www.")) or re.match(r"^\S+\.(?:org|gob|com)\b", tok):
            return j
        if tok in ("h", "I") and nxt[:1] in (":", ".", "/"):
            return j
        if tok == "." and nxt.startswith("-"):
            return j
        if tok.startswith("-") and j > 0:
            return j
        if tok == "-" and j == 0:
            return j
    return len(tokens)


class SummaryTable:
    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        if ex.table_first is None:
            return doc
        ex.table_rows = self._rows(ex)
        self._pair(ex)
        return doc

    @staticmethod
    def _rows(ex: Extraction) -> list[TableRow]:
        lm = ex.lm
        rows: list[TableRow] = []
        pending: list[tuple[str, int]] = []  # a link printed before its row's title
        last_url_open = False
        for i in range(ex.table_first + 1, (ex.table_last or len(lm.lines) - 1) + 1):
            text = MARKER.sub("", lm.lines[i].text).replace("|", " ").strip()
            if not text:
                continue
            if re.match(r"^\W*nota\b", fold(text)):
                break
            tokens = text.split()
            if last_url_open and len(tokens) == 1 and tokens[0].islower() and rows:
                target = pending if pending else rows[-1].url_fragments
                if pending:
                    pending.append((tokens[0], i))
                else:
                    target.append(tokens[0])
                    rows[-1].url_lines.append(i)
                last_url_open = tokens[0].endswith(("-", "/"))
                continue
            j = _split_url(tokens)
            if j == len(tokens) and last_url_open and len(tokens) >= 2 and tokens[-1].isalpha() and tokens[-1].islower():
                j = len(tokens) - 1  # the link's last piece, right of the title column
            title = " ".join(t for t in tokens[:j] if t not in (".", "-", "–")).strip(" .-")
            link = " ".join(tokens[j:])
            if title:
                words = fold(rows[-1].title).split() if rows else []
                opens = title[:1].isupper() and not (words and words[-1] in _FUNCTION)
                if not rows or opens:
                    rows.append(TableRow(title=title, lines=[i]))
                    for frag, line in pending:
                        rows[-1].url_fragments.append(frag)
                        rows[-1].url_lines.append(line)
                    pending = []
                else:
                    rows[-1].title = f"{rows[-1].title} {title}"
                    rows[-1].lines.append(i)
            if link:
                starts_new = bool(_URL_START.match(link.split()[0])) and not link.startswith(("-", "."))
                if not title and rows and rows[-1].url_fragments and starts_new:
                    pending.append((link, i))
                elif rows:
                    rows[-1].url_fragments.append(link)
                    rows[-1].url_lines.append(i)
                last_url_open = link.rstrip().endswith(("-", "/"))
            else:
                last_url_open = False
        return rows

    @staticmethod
    def _pair(ex: Extraction) -> None:
        """Rows to commitments, best title similarity first, one to one; then the title rule."""
        pairs = sorted(((_similarity(sec.title, row.title), n, k) for n, sec in enumerate(ex.sections)
                        for k, row in enumerate(ex.table_rows)), reverse=True)
        used_sec, used_row = set(), set()
        for score, n, k in pairs:
            if score < 60 or n in used_sec or k in used_row:
                continue
            used_sec.add(n)
            used_row.add(k)
            sec, row = ex.sections[n], ex.table_rows[k]
            sec.table_row = row
            _choose_title(ex, sec, row)


def _damaged(heading: str, table: str) -> str | None:
    """Why a heading's title looks damaged next to the table's, or None."""
    if not heading.strip():
        return "the heading prints no title"
    table_words = set(_words(table).split())
    for tok in heading.split():
        word = tok.strip(".,;:()\"'")
        if not word and tok in (",", ".", ";"):
            return f"stray mark {tok!r}"
        if word.isalpha() and len(word) >= 3 and fold(word) not in table_words and not known_word(word):
            return f"unknown word {word!r}"
    h, t = _words(heading).split(), _words(table).split()
    it = iter(t)
    if len(h) < len(t) and all(w in it for w in h):
        return "words missing that the table prints"
    return None


def _choose_title(ex: Extraction, sec: Section, row: TableRow) -> None:
    why = _damaged(sec.title, row.title)
    if why:
        sec.flags.append(f"title damaged in the heading ({why}: {sec.title!r}); taken from the summary table "
                         f"({row.title!r})")
        sec.title = " ".join(row.title.split())
        sec.title_from_table = True
        sec.title_evidence_line = row.lines[0]
    elif _words(sec.title) != _words(row.title):
        sec.flags.append(f"heading and summary table word the title differently: heading {sec.title!r}, "
                         f"table {row.title!r}; heading kept")


# -------------------------------------------------------------------------------------- urls
@Language.factory("ogp_urls")
def make_urls(nlp: Language, name: str):
    return LinkReader()


def _prefixes(ex: Extraction) -> Counter:
    """Link prefixes (up to the last `/`) of the URLs the report prints intact."""
    counts: Counter = Counter()
    for ln in ex.lm.lines:
        for m in _INTACT_URL.finditer(ln.text):
            url = m.group(0)
            if url.count("/") >= 4 and not url.endswith("/"):
                counts[url[: url.rindex("/") + 1]] += 1
    return counts


def _assemble(fragments: list[str], prefixes: Counter) -> tuple[str | None, bool]:
    """(link, clean) from the pieces of one link; clean is False when its slug had to be read
    through OCR debris."""
    raw = " ".join(fragments).strip()
    if not raw:
        return None, False
    raw = re.sub(r"[\[|]", "/", raw)
    if "/" in raw:
        head, slug_raw = raw.rsplit("/", 1)
        head += "/"
    else:
        parts = raw.split()
        head, slug_raw = " ".join(parts[:-1]), parts[-1]
    slug_joined = re.sub(r"\s+", "", slug_raw)
    clean = bool(_SLUG_OK.match(slug_joined.lower()))
    slug = re.sub(r"[^a-z0-9-]", "", fold(slug_joined)).strip("-")
    slug = re.sub(r"-{2,}", "-", slug)
    if not slug:
        return None, False
    head_joined = re.sub(r"\s+", "", head)
    if head_joined in prefixes:
        return head_joined + slug, clean
    if not prefixes:
        return (head_joined + slug if head_joined.startswith("http") else None), clean
    best = max(prefixes, key=lambda p: (fuzz.ratio(head_joined, p), prefixes[p]))
    if fuzz.ratio(head_joined, best) < 40 and head_joined:
        return None, False
    return best + slug, clean


def _slug(url: str | None) -> str:
    return url.rsplit("/", 1)[-1] if url else ""


class LinkReader:
    """Each commitment's results link: read after the last "Consulta los resultados" cue of its
    self-assessment (or, without a cue, the link lines of that part), checked against the table."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        prefixes = _prefixes(ex)
        body: dict[int, tuple[str | None, bool, list[int]]] = {}
        for n, sec in enumerate(ex.sections):
            frags, lines = self._body_fragments(ex, sec)
            url, clean = _assemble(frags, prefixes) if frags else (None, False)
            body[n] = (url, clean, lines)
        table: dict[int, str | None] = {}
        for n, sec in enumerate(ex.sections):
            row = sec.table_row
            table[n] = _assemble(row.url_fragments, prefixes)[0] if row and row.url_fragments else None
        owned = {n: {_slug(body[n][0]), _slug(table[n])} - {""} for n in body}
        for n, sec in enumerate(ex.sections):
            b_url, b_clean, lines = body[n]
            t_url = table[n]
            others = set().union(*(owned[k] for k in owned if k != n)) if len(owned) > 1 else set()
            url, rule = self._reconcile(sec, b_url, b_clean, t_url, others)
            if url:
                sec.urls = [url]
                sec.url_rule = rule
                sec.url_lines = lines or (sec.table_row.url_lines if t_url and sec.table_row else [])
        return doc

    @staticmethod
    def _body_fragments(ex: Extraction, sec: Section) -> tuple[list[str], list[int]]:
        lm = ex.lm
        assess = sec.block("SELF_ASSESSMENT", "RESULTS")
        if not assess:
            return [], []
        first = assess[0].line
        cues = [b.line for b in sec.block("RESULTS")]
        stop_blocks = [b.line for b in sec.blocks if b.label in ("REASONS", "PROGRESS", "NEXT_STEPS") and b.line > first]
        stop = min(stop_blocks) if stop_blocks else sec.last_line + 1
        cues = [c for c in cues if c < stop]
        frags, lines = [], []
        if cues:
            cue_text = MARKER.sub("", lm.lines[cues[-1]].text)
            after = re.split(r"(?i)\ben\s*:", cue_text, maxsplit=1)
            if len(after) == 2 and after[1].strip():
                frags.append(after[1].strip())
                lines.append(cues[-1])
            prev = lm.lines[cues[-1]]
            for i in range(cues[-1] + 1, stop):
                text = MARKER.sub("", lm.lines[i].text).strip()
                if not text:
                    continue
                if not _next_to(prev, lm.lines[i]):
                    break
                prev = lm.lines[i]
                if _prose(text):
                    if frags:
                        break
                    continue
                frags.append(text)
                lines.append(i)
        else:
            for i in range(first, stop):
                text = lm.lines[i].text.strip()
                if "://" in text or "http" in text.lower() or "www." in text.lower():
                    frags.append(text)
                    lines.append(i)
        return frags, lines

    @staticmethod
    def _reconcile(sec: Section, b_url, b_clean, t_url, others: set[str]) -> tuple[str | None, str | None]:
        """The link and how it was decided (a `url.*` rule of pipeline/extract/confidence.py)."""
        b, t = _slug(b_url), _slug(t_url)
        if not b and not t:
            return None, None
        if not t:
            return b_url, "url.body"
        if not b:
            sec.flags.append(f"results link not found in the body; taken from the summary table ({t_url})")
            return t_url, "url.table"
        if b == t or t.startswith(b) and len(b) < len(t) and not b_clean:
            if b != t:
                sec.flags.append(f"results link cut in the body ({b_url}); completed from the summary table ({t_url})")
            return (t_url, "url.completed") if b != t else (b_url, "url.agree")
        if t.startswith(b):
            sec.flags.append(f"results link cut in the body ({b_url}); completed from the summary table ({t_url})")
            return t_url, "url.completed"
        if b.startswith(t) or b.endswith(t) or t in b:
            return b_url, "url.agree"
        suspect = (not b_clean or len(b) < 4 or any(o == b or o.startswith(b) for o in others)
                   or any(seg.startswith(b) for seg in b_url.split("/")[3:-1]))
        if suspect and re.match(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", t):
            sec.flags.append(f"results link in the body looks damaged ({b_url}); the summary table's "
                             f"({t_url}) taken")
            return t_url, "url.conflict_table"
        sec.flags.append(f"results link differs between the body ({b_url}) and the summary table ({t_url}); "
                         f"body kept")
        return b_url, "url.conflict_body"


def _next_to(prev, ln) -> bool:
    """On a PDF page, the next line of the same column (a link is not continued from a footnote
    or from another column's text); text dumps have no positions and always pass."""
    if prev.bbox is None or ln.bbox is None:
        return True
    height = max(prev.bbox.bottom - prev.bbox.top, 1.0)
    return ln.page == prev.page and ln.column == prev.column and ln.bbox.top - prev.bbox.bottom < 2.5 * height


def _prose(text: str) -> bool:
    """A line of running text, not a piece of a link."""
    words = [w for w in text.split() if w.strip(".,;:¿?").isalpha() and len(w.strip(".,;:¿?")) >= 3]
    return sum(1 for w in words if known_word(w)) >= 2 or text.startswith(("¿", "•"))
