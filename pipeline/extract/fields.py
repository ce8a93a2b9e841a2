"""Template fields: the labels of the OGP templates ("Institución responsable", "¿Quién ejecuta?",
"Otros actores involucrados", "Contraparte" …; `pipeline/data/extract/fields.jsonl`) and their
values, wherever they sit on the page.

A label is matched on the Doc (so a label set over several lines of a narrow cell matches as one)
and must open a line. Its value is read
- **beside it** when the page gives boxes and lines sit to the right of the label: every block of
  lines (lines close together, one column) right of some label goes to the label it overlaps most
  vertically, among all labels of the page, so a contact person's block goes to the contact field
  and not to the actors' field above it;
- **after it** otherwise: the rest of the label's line and the lines that follow, up to the next
  field, heading or blank line.

The `ogp_field_labels` component (before `ogp_sections`, which uses anchor fields to find
commitments that carry no number) writes the labels to `doc.spans["ogp_fields"]`; the
`ogp_fields` component (after `ogp_actors`) turns actor fields into the section's actors, each
with the role its field gives (a "(Contraparte)" mark makes a counterpart) and the sector its
sub-label, the organisation finder, or the field gives.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Optional

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span

from pipeline.extract.gazetteer import data_path, load_heads
from pipeline.extract.grid import legend
from pipeline.extract.state import ActorFound, Mention, matches_from, state
from pipeline.extract.text import LABEL_LINE, MARKER, LineMap, fold
from pipeline.models import Line

SPAN_KEY = "ogp_fields"
VALUE_KEY = "ogp_field_values"
ACTOR_FIELDS = ("RESPONSIBLE", "SUPPORT", "COUNTERPART", "ACTORS_GOV", "ACTORS_OTHER")
_ITEM_BULLET = re.compile(r"^\s*[•·▪◦*\-–—]\s*")
_COUNTERPART = re.compile(r"\(\s*contrapartes?\s*\)", re.I)
_ACRONYM_TAIL = re.compile(r"\(\s*([A-ZÁÉÍÓÚÑ][A-Za-zÁÉÍÓÚÑ0-9&.\-]{1,14})\s*\)\s*$")
_NOT_ACTOR = re.compile(r"@|https?:|www\.|^\+?[\d\s().\-]{6,}$|\bext\b", re.I)
_ARTICLES = frozenset({"la", "el", "los", "las"})
_NONE = re.compile(r"^\W*(?:ningun[oa]s?|no\s+(?:se\s+)?(?:especifica(?:n|do|da)?|aplica|identificad[oa]s?|definid[oa]s?)"
                   r"|n\s*/\s*a|no\s+hay|sin\s+(?:informaci[oó]n|especificar|datos)|por\s+definir|-+)\W*$", re.I)
"""A field's value that names nobody ("Ninguna", "No se especifica", "N/A")."""
_CONNECTOR_END = re.compile(r"\b(?:de|del|la|las|los|y|e|para|en|el)$", re.I)
_NUMBERED_ITEM = re.compile(r"^\W*[A-Za-zÁÉÍÓÚÑáéíóúñ]+\s+\d{1,2}(?:\.\d{1,2})?\s*[:.)]")  # "Hito 1:", "Meta 2."
_LIST_SPLIT = re.compile(r"\s*,\s*|\s+(?:y|e)\s+")
_ACRONYM = re.compile(r"^[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑ0-9&\-]{1,11}$")
MAX_LINEAR_LINES = 8
BLOCK_GAP = 0.6
"""Lines of one value block are at most 0.6 line heights apart."""


@dataclass
class FieldSpec:
    field: str
    role: Optional[str] = None
    sector: Optional[str] = None  # of every actor under the field
    default_sector: Optional[str] = None  # of an actor the organisation finder does not know
    anchor: bool = False


@dataclass
class FieldHit:
    spec: FieldSpec
    start: int  # first token
    end: int  # token after the label
    lines: list[int] = field(default_factory=list)  # LineMap.lines indices of the label
    inline: bool = False  # the value goes on after the label on its last line


def load_fields(nlp: Language, path: str) -> tuple[Matcher, list[FieldSpec], re.Pattern, int]:
    """The labels' Matcher, the field of each pattern, what a label's first word can be (the
    patterns' first-word predicates in one), and the most words a label has."""
    longest, firsts = 0, []
    matcher = Matcher(nlp.vocab, validate=True)
    specs: list[FieldSpec] = []
    for n, raw in enumerate(data_path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        item = json.loads(raw)
        if "_comment" in item:
            continue
        if "field" not in item or not item.get("words"):
            raise ValueError(f"{path}: line {n} needs 'field' and 'words'")
        pattern: list[dict] = [{"ORTH": "¿", "OP": "?"}]
        for k, word in enumerate(item["words"]):
            if k:
                pattern.append({"IS_PUNCT": True, "OP": "*"})
            pattern.append({"NORM": {"REGEX": f"^(?:{word})$"}})
        matcher.add(str(len(specs)), [pattern])
        longest = max(longest, len(item["words"]))
        firsts.append(f"^(?:{item['words'][0]})$")
        specs.append(FieldSpec(item["field"], item.get("role"), item.get("sector"), item.get("default_sector"),
                               bool(item.get("anchor"))))
    return matcher, specs, re.compile("|".join(firsts)), longest


@Language.factory("ogp_field_labels", assigns=["doc.spans"], requires=["token.norm", "token._.ogp_bol"],
                  default_config={"fields": "fields.jsonl"})
def make_field_labels(nlp: Language, name: str, fields: str):
    return FieldLabels(nlp, fields)


class FieldLabels:
    """Template field labels that open a line, longest first; written to `doc.spans["ogp_fields"]`
    (label: the field) and kept on the extraction state for the components after it."""

    def __init__(self, nlp: Language, fields: str):
        self.fields = fields
        self.matcher: Matcher | None = None
        self.specs: list[FieldSpec] = []
        self.first: re.Pattern | None = None
        self.longest = 0

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        self.matcher, self.specs, self.first, self.longest = load_fields(nlp, self.fields)

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        hits: list[FieldHit] = []
        taken: set[int] = set()
        # a label opens its line with a capital, an optional "¿" before: the matcher runs only where
        # a line's first word is some label's first word
        starts = [i for w in ex.bol_toks if doc[w].text[:1].isupper() and self.first.search(doc[w].norm_)
                  for i in ((w - 1, w) if w and doc[w - 1].text == "¿" else (w,))]
        matches = sorted(matches_from(self.matcher, doc, starts, self.longest), key=lambda m: (-(m[2] - m[1]), m[1]))
        for match_id, start, end in matches:
            if doc[start].text == "¿":
                start_word = start + 1
            else:
                start_word = start
            if not doc[start_word]._.ogp_bol or not doc[start_word].text[:1].isupper() \
                    or any(i in taken for i in range(start, end)):
                continue  # a label opens its line (or cell) with a capital; prose runs on in lower case
            if start and doc[start - 1].text == "(" and ex.tok_line[start - 1] == ex.tok_line[start]:
                continue  # "(Contraparte)": a mark on a name, not a label
            last_line = ex.tok_line[end - 1]
            after = doc[end] if end < len(doc) else None
            ends_line = after is None or ex.tok_line[after.i] != last_line
            if not ends_line and after.text not in (":", "?", "):", ")", "-", "–") and not (
                    after.text == "," and (after.i + 1 >= len(doc) or ex.tok_line[after.i + 1] != last_line)):
                continue  # a label ends its line or is followed by its punctuation (a comma: it goes on below)
            spec = self.specs[int(doc.vocab.strings[match_id])]
            taken.update(range(start, end))
            lines = sorted({ex.tok_line[i] for i in range(start, end)})
            if after is not None and after.text in (":", "?", "):", ",") and ex.tok_line[after.i] == last_line:
                end += 1
            inline = end < len(doc) and ex.tok_line[end] == last_line
            # a label whose value follows it on its line is whole; else its rest may sit under it
            hits.append(FieldHit(spec, start, end, lines + ([] if inline else _label_rest(ex.lm, lines[-1])), inline))
        hits.sort(key=lambda h: h.start)
        ex.fields = hits
        doc.spans[SPAN_KEY] = [Span(doc, h.start, h.end, label=h.spec.field) for h in hits]
        return doc


def _in_table(lines: list[Line], h: FieldHit, pages: set[int]) -> bool:
    """The label is a cell of a page whose values sit beside their labels: nothing beside it
    means no value of its own (a parent label whose sub-labels hold the values)."""
    first = lines[h.lines[0]]
    return first.bbox is not None and not h.inline and first.page in pages


def _label_rest(lm: LineMap, last: int) -> list[int]:
    """The rest of a label set over several lines of its cell that reading order parted from it
    ("Otros actores" … "involucrados"): short lower-case lines right under it, in its column."""
    head = lm.lines[last]
    if head.bbox is None:
        return []
    out, below = [], head
    for i in lm.by_page[head.page]:
        ln = lm.lines[i]
        if i in out or ln.bbox is None or i == last:
            continue
        h = max(below.bbox.bottom - below.bbox.top, 1.0)
        text = ln.text.strip()
        if abs(ln.bbox.x0 - head.bbox.x0) <= 2 and -0.5 * h <= ln.bbox.top - below.bbox.bottom <= 0.8 * h \
                and text[:1].islower() and len(text.split()) <= 3:
            out.append(i)
            below = ln
    return out


@Language.factory("ogp_fields", assigns=["doc.spans"], requires=["doc.spans"], default_config={"heads": "heads.tsv"})
def make_fields(nlp: Language, name: str, heads: str):
    return FieldActors(heads)


class FieldActors:
    """The actors named in each section's template fields, with the field's role. Where a section
    has them, they replace the actors read from its prose: the template says who does what. A value
    naming several organisations ("Ministerio de Economía y Finanzas, Fundación Ciudadanía Activa y
    Red Ambiental") is split where a comma or "y" / "e" is followed by a head noun that opens an
    organisation's name (`heads.tsv`) or an acronym, never inside a name ("Economía y Finanzas")."""

    def __init__(self, heads: str):
        self.heads_file = heads
        self.heads: frozenset[tuple[str, ...]] = frozenset()
        self.head_sectors: dict[tuple[str, ...], str] = {}

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        # the singular heads, each as its words: "Gobierno Regional" opens a name, "Gobierno Abierto" does not
        heads = [(tuple(fold(h.singular).split()), h.sector) for h in load_heads(data_path(self.heads_file))]
        self.heads = frozenset(words for words, _ in heads)
        self.head_sectors = {words: sector for words, sector in heads if sector}

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        values: list[Span] = []
        label_lines = {i for h in ex.fields for i in h.lines}
        below = {id(h) for h in ex.fields if _value_below(ex.lm, h, label_lines)}
        beside = _values_beside(ex.lm, ex.fields, label_lines, below)
        beside_pages = {ex.lm.lines[h.lines[0]].page for h in ex.fields if id(h) in beside}
        for sec in ex.sections:
            hits = [h for h in ex.fields if sec.start <= h.start < sec.end]
            found: list[ActorFound] = []
            for h in hits:
                if h.spec.field not in ACTOR_FIELDS:
                    continue
                blocks = [[(i, ex.lm.lines[i].text) for i in b] for b in beside.get(id(h), [])]
                if not blocks and (not _in_table(ex.lm.lines, h, beside_pages) or id(h) in below):
                    blocks = [_value_after(ex, doc, h, self.heads)]
                for block in blocks:
                    for item_lines, text in _items(block, self.heads, lambda a, b: _wrapped(ex.lm, a, b)):
                        actor = _actor(ex, h.spec, item_lines, text, self.head_sectors)
                        if actor and not any(a.key == actor.key for a in found):
                            found.append(actor)
                            span = _span_of_lines(ex, doc, item_lines)
                            if span is not None:
                                values.append(Span(doc, span[0], span[1], label=actor.role))
            if found:
                found.sort(key=lambda a: _reading_position(ex.lm.lines, a.line))
                sec.actors = found
                sec.field_actors = True
        doc.spans[VALUE_KEY] = values
        return doc


def _reading_position(lines: list[Line], i: int) -> tuple:
    """Where a value sits as printed: page, then top of the line (its index without boxes)."""
    ln = lines[i]
    return (ln.page, ln.bbox.top if ln.bbox is not None else i, i)


def _span_of_lines(ex, doc: Doc, lines: list[int]) -> Optional[tuple[int, int]]:
    toks = [ex.line_first_tok[i] for i in lines if i in ex.line_first_tok]
    ends = [ex.line_end_tok[i] for i in lines if i in ex.line_end_tok]
    return (min(toks), max(ends)) if toks and ends else None


def _values_beside(lm: LineMap, hits: list[FieldHit], label_lines: set[int], below: set[int]
                   ) -> dict[int, list[list[int]]]:
    """Field (by id) → its value blocks, for fields whose value sits to the right of the label
    (not those in `below`, whose value is set under them; `label_lines`: every label's lines)."""
    lines = lm.lines
    out: dict[int, list[list[int]]] = {}
    by_page: dict[int, list[FieldHit]] = {}
    for h in hits:
        if all(lines[i].bbox is not None for i in h.lines) and not h.inline and id(h) not in below:
            by_page.setdefault(lines[h.lines[0]].page, []).append(h)
    for page, page_hits in by_page.items():
        boxes = {id(h): _union([lines[i] for i in h.lines]) for h in page_hits}
        left_edge = min(b[2] for b in boxes.values())  # the narrowest label's right edge
        candidates = [i for i in lm.by_page[page] if lines[i].bbox is not None and i not in label_lines
                      and lines[i].text.strip() and lines[i].bbox.x0 >= left_edge - 2]
        for block in _blocks(lines, candidates):
            top = min(lines[i].bbox.top for i in block)
            bottom = max(lines[i].bbox.bottom for i in block)
            x0 = min(lines[i].bbox.x0 for i in block)
            best, best_overlap = None, 0.0
            for h in page_hits:
                bx0, btop, bx1, bbottom = boxes[id(h)]
                if bx1 > x0 + 2:
                    continue  # the block does not sit right of this label
                overlap = min(bottom, bbottom) - max(top, btop)
                if overlap > best_overlap or (overlap == best_overlap and best is not None and bx1 > boxes[id(best)][2]):
                    best, best_overlap = h, overlap
            if best is not None and best_overlap > 0:
                out.setdefault(id(best), []).append(block)
    return out


def _value_below(lm: LineMap, h: FieldHit, label_lines: set[int]) -> bool:
    """Is the label's value set under it: the next line in reading order sits right below the
    label, in its column, at its left edge, and is no label of its own ("Organizaciones de la
    sociedad civil:" / "Plataforma del Tercer Sector")? Then nothing beside it is its value (a
    two-column page's other column is not)."""
    last = lm.lines[h.lines[-1]]
    k = lm.next_place(h.lines[-1])
    if k >= len(lm.kept):
        return False
    i = lm.kept[k]
    ln = lm.lines[i]
    if i in label_lines or ln.bbox is None or ln.page != last.page or ln.column != last.column:
        return False
    if h.lines[-1] in lm.cell_right and lm.cell_right.get(i) == lm.cell_right[h.lines[-1]] \
            and ln.text.strip()[:1].islower():
        return False  # the rest of the label's own table cell ("… involucrados:" / "sociedad civil, academia y")
    height = max(last.bbox.bottom - last.bbox.top, 1.0)
    return abs(ln.bbox.x0 - lm.lines[h.lines[0]].bbox.x0) <= 2 and 0 <= ln.bbox.top - last.bbox.bottom <= 0.8 * height


def _union(lns: list[Line]) -> tuple[float, float, float, float]:
    return (min(ln.bbox.x0 for ln in lns), min(ln.bbox.top for ln in lns),
            max(ln.bbox.x1 for ln in lns), max(ln.bbox.bottom for ln in lns))


def _blocks(lines: list[Line], indices: list[int]) -> list[list[int]]:
    """Runs of lines in reading order that sit close together in one column."""
    blocks: list[list[int]] = []
    for i in indices:
        ln = lines[i]
        if blocks:
            prev = lines[blocks[-1][-1]]
            h = max(prev.bbox.bottom - prev.bbox.top, 1.0)
            gap = ln.bbox.top - prev.bbox.bottom
            if blocks[-1][-1] < i and -0.5 * h <= gap <= BLOCK_GAP * h and abs(ln.bbox.x0 - prev.bbox.x0) < 40:
                blocks[-1].append(i)
                continue
        blocks.append([i])
    return blocks


def _value_after(ex, doc: Doc, h: FieldHit, heads: frozenset[tuple[str, ...]] = frozenset()) -> list[tuple[int, str]]:
    """The value that follows a label, as (line, text): the rest of its line, then lines up to the
    next field, heading, blank line or gap."""
    lm = ex.lm
    last = h.lines[-1]
    out: list[tuple[int, str]] = []
    inline = h.end < len(doc) and ex.tok_line[h.end] == last
    tail = last  # the last line read
    if inline:
        out.append((last, doc[h.end:ex.line_end_tok[last]].text))
    stops = {i for other in ex.fields for i in other.lines} | set(ex.headings) | \
        {i for sec in ex.sections for i in sec.title_lines}
    k = lm.next_place(last)
    while k < len(lm.kept) and len(out) < MAX_LINEAR_LINES:
        i = lm.kept[k]
        text = lm.lines[i].text.strip()
        if i in stops or (i in lm.gap_before and out) or _NUMBERED_ITEM.match(text) or LABEL_LINE.match(text) \
                or (lm.lines[i].page != lm.lines[last].page and lm.lines[i].bbox is not None):
            break
        if out and _wrapped(lm, tail, i) and not _opens_name(text, heads):  # the line before wrapped onto this one
            out[-1] = (out[-1][0], f"{out[-1][1].rstrip()} {lm.lines[i].text.strip()}")
            tail = i
            k += 1
            continue
        if inline and not (text[:1].islower() or _CONNECTOR_END.search(out[-1][1].strip())
                           or out[-1][1].rstrip().endswith((",", ";"))):  # a list that goes on
            break  # a value printed after its label on the same line runs on only mid-name
        out.append((i, lm.lines[i].text))
        tail = i
        k += 1
    return out


def _opens_name(text: str, heads: frozenset[tuple[str, ...]]) -> bool:
    """Does `text` open with a (singular) head of an organisation's name, all its words, or an
    acronym?"""
    words = text.split(maxsplit=4)
    if not words or words[0].startswith("("):
        return False  # "(DINACOP) y …": the acronym of the name before it
    if _ACRONYM.match(words[0].strip("),.")):
        return True
    folded = tuple(fold(w.strip("(),.")) for w in words)
    return any(folded[:len(h)] == h for h in heads)


def _wrapped(lm: LineMap, prev: int, nxt: int) -> bool:
    """Did line `prev` wrap onto line `nxt`: the next line's first word would not have fitted in
    what is left of `prev`'s cell or column (its right edge: the table cell's, else the rightmost
    line of that column on the page that starts where `prev` does: a box set inside the column is
    narrower than the column's prose)?"""
    a, b = lm.lines[prev], lm.lines[nxt]
    words = b.text.split()
    if a.bbox is None or b.bbox is None or not words or a.page != b.page:
        return False
    if abs(a.bbox.x0 - b.bbox.x0) > 2 and not _under_a_word(a, b.bbox.x0):
        return False  # neither under the line's start nor a hanging indent under one of its words ("Sociedad civil: X y" / "Y")
    right = lm.cell_right.get(prev) or max(lm.lines[i].bbox.x1 for i in lm.by_page[a.page]
                                           if lm.lines[i].bbox is not None and lm.lines[i].column == a.column
                                           and abs(lm.lines[i].bbox.x0 - a.bbox.x0) <= 2)
    char = (a.bbox.x1 - a.bbox.x0) / max(len(a.text), 1)
    return right - a.bbox.x1 < (len(words[0]) + 1) * char


def _under_a_word(line: Line, x: float) -> bool:
    """Does `x` fall where one of `line`'s words (after its first) starts? Its words' boxes are
    gone by now, so the place is estimated from the line's mean character width (to two
    characters)."""
    text = line.text
    char = (line.bbox.x1 - line.bbox.x0) / max(len(text), 1)
    at = (x - line.bbox.x0) / char
    if not 1 < at < len(text) - 1:
        return False
    return any(text[k - 1] == " " and text[k] != " " for k in range(max(1, round(at) - 2), min(len(text), round(at) + 3)))


def _items(block: list[tuple[int, str]], heads: frozenset[tuple[str, ...]] = frozenset(),
           wrapped=lambda a, b: False) -> list[tuple[list[int], str]]:
    """The organisations a value (its lines and their text) lists: one per bullet, per line that
    starts a new name (not one the line before `wrapped` onto, unless a head noun opens it), per
    ';'-separated part, per part after a comma or "y" that opens with a head noun of `heads` or an
    acronym; "X, a través de Y" names both."""
    items: list[tuple[list[int], list[str]]] = []
    marks = [bool(_ITEM_BULLET.match(MARKER.sub("", t).strip())) for _, t in block if t.strip()]
    bulleted = sum(marks) >= 2 or bool(marks and marks[0])  # one dash inside a name is no list
    for i, raw in block:
        text = MARKER.sub("", raw).strip()
        if not text:
            continue
        bullet = _ITEM_BULLET.match(text) if bulleted else None
        body = text[bullet.end():] if bullet else text
        prev = " ".join(items[-1][1]) if items else ""
        continues = items and not bullet and (bulleted or _CONNECTOR_END.search(prev) or body[:1].islower()
                                              or body[:1] == "(" or prev.count("(") > prev.count(")")
                                              or (wrapped(items[-1][0][-1], i) and not prev.endswith(")")
                                                  and not _opens_name(body, heads)))
        if continues:
            items[-1][0].append(i)
            items[-1][1].append(body)
        else:
            items.append(([i], [body]))
    out = []
    for idx, parts in items:
        for piece in re.split(r"\s*;\s*|,?\s+a\s+trav[eé]s\s+del?\s+", " ".join(parts)):  # "X, a través de Y": both
            piece = " ".join(piece.split()).strip(" .,:")
            acronyms = [p for p in _LIST_SPLIT.split(piece) if p]
            if len(acronyms) > 1 and all(_ACRONYM.match(p) for p in acronyms):
                out += [(idx, p) for p in acronyms]  # "SEGOB, SFP y INAI"
            elif piece:
                out += [(idx, p) for p in _split_names(piece, heads)]
    return out


def _split_names(text: str, heads: frozenset[tuple[str, ...]]) -> list[str]:
    """`text` cut before each comma or "y" / "e" that a head noun or an acronym follows, the part
    before it a whole name (not ending on "de", "la" …)."""
    parts: list[str] = []
    start = 0
    for m in _LIST_SPLIT.finditer(text):
        nxt = text[m.end():].split(maxsplit=4)
        if len(nxt) > 1 and nxt[0].lower() in _ARTICLES:  # "… y la Dirección Nacional …"
            nxt = nxt[1:]
        before = text[start:m.start()].strip()
        if nxt and before and not _CONNECTOR_END.search(before) and _opens_name(" ".join(nxt), heads):
            parts.append(before)
            start = m.end()
    parts.append(text[start:].strip())
    return [_without_article(p) for p in parts if p]


def _without_article(name: str) -> str:
    """"la Dirección Nacional …" → "Dirección Nacional …"."""
    words = name.split(maxsplit=1)
    return words[1] if len(words) > 1 and words[0].lower() in _ARTICLES else name


def _head_sector(name: str, sectors: dict[tuple[str, ...], str]) -> Optional[str]:
    """The sector of the longest head noun that opens `name` ("Ministerio del Trabajo": gobierno)."""
    words = tuple(fold(w) for w in name.split()[:4])
    found = [h for h in sectors if words[:len(h)] == h]
    return sectors[max(found, key=len)] if found else None


def _actor(ex, spec: FieldSpec, item_lines: list[int], text: str,
           head_sectors: dict[tuple[str, ...], str] | None = None) -> Optional[ActorFound]:
    if _NOT_ACTOR.search(text) or _NONE.match(text) or len(text) < 2 or not any(ch.isalpha() for ch in text) \
            or legend().level(text):
        return None  # (a level is a status field's value: "Estado: Completado")
    role = spec.role or "apoyo"
    if _COUNTERPART.search(text):
        role = "contraparte"
        text = _COUNTERPART.sub("", text).strip(" ,.")
    acronym = None
    m = _ACRONYM_TAIL.search(text)
    if m and sum(ch.isupper() for ch in m.group(1)) >= 2:
        acronym = m.group(1)
        text = text[:m.start()].strip(" ,.")
    if not text:
        text, acronym = acronym or "", acronym
    mention = _mention_in(ex, item_lines, text)
    sector = spec.sector or (mention.sector if mention else None) or _head_sector(text, head_sectors or {}) \
        or spec.default_sector
    key = fold(acronym or text) if acronym and len(text) < 3 else fold(text)
    found = ActorFound(mention=mention or Mention(start=0, end=0, name=text, key=key, sector=sector, source="field"),
                       name=text, key=key, sector=sector, role=role, explicit_role=True, line=item_lines[0])
    if acronym:
        ex.acronyms[key] = acronym
    return found


def _mention_in(ex, item_lines: list[int], text: str) -> Optional[Mention]:
    """The organisation the finder saw in the item (for its sector): on its lines, named within
    it (the finder reads the page in reading order and can run a name on into the next cell), and
    not a guess from a list."""
    lines, folded = set(item_lines), fold(text)
    for m in ex.mentions:
        if ex.tok_line[m.start] in lines and m.kind == "actor" and m.source != "list" and fold(m.name) in folded:
            return m
    return None
