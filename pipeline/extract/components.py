"""spaCy factories of the extraction pipeline: tokens, sections, status, IRM judgement, front matter.

Each component reads and writes the `Extraction` kept in `doc.user_data["ogp"]`; the rules are
Matcher patterns loaded from `pipeline/data/extract/*.jsonl`.
"""
from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Iterable

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from pipeline.extract import headings
from pipeline.extract.gazetteer import data_path
from pipeline.extract.state import Block, Section, state
from pipeline.extract.text import BULLET, MARKER, clean_line, fold

_SENT_END = re.compile(r"[.:;?!]$")
_JUNK_LEAD = re.compile(r"^[é¿¡&]+(?=[A-ZÁÉÍÓÚÑ])")
_GLUED_REF = re.compile(r"^([A-ZÁÉÍÓÚÑ][A-Za-zÁÉÍÓÚÑáéíóúñü]{3,})\d{1,2}$")  # `HearColors13`: a footnote mark
_NAME_CHARS = re.compile(r"^[A-ZÁÉÍÓÚÑ][A-Za-zÁÉÍÓÚÑáéíóúñü'’]*[#]?$|^[A-ZÁÉÍÓÚÑ0-9]{2,}$")
_LIST_ITEM = re.compile(r"^\s*\d{1,2}\.\s+\S")  # "1. Repositorio …": an item under the heading, not its title
_NUMBER = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,2}|[IVXL]{1,6})[:.]?$")
BLOCK_LABELS = ("SELF_ASSESSMENT", "RESULTS", "REASONS", "PROGRESS", "NEXT_STEPS")


def load_patterns(path: str | Path) -> list[dict]:
    """Matcher patterns, one JSON object a line; a `_comment` line documents the file."""
    path = data_path(path)
    out = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: line {n} is not JSON: {exc}") from exc
        if "_comment" in item:
            continue
        if "label" not in item or "pattern" not in item:
            raise ValueError(f"{path}: line {n} needs 'label' and 'pattern'")
        out.append(item)
    return out


def build_matcher(nlp: Language, path: str | Path) -> Matcher:
    matcher = Matcher(nlp.vocab, validate=True)
    for item in load_patterns(path):
        matcher.add(item["label"], [item["pattern"]])
    return matcher


class PatternReader:
    """A component driven by a Matcher built from a patterns file of `pipeline/data/extract/`,
    loaded in `initialize` (as spaCy's rulers do): `build_pipeline` initializes the pipeline once."""

    def __init__(self, nlp: Language, patterns: str):
        self.patterns = patterns
        self.vocab = nlp.vocab
        self.matcher: Matcher | None = None

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        self.matcher = build_matcher(nlp, self.patterns)


def non_overlapping(matches: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Matches (label, start, end) of which no two overlap: the longest at each start, then the
    next that starts after it ends."""
    out: list[tuple[str, int, int]] = []
    for m in sorted(matches, key=lambda m: (m[1], -(m[2] - m[1]))):
        if not out or m[1] >= out[-1][2]:
            out.append(m)
    return out


def is_name_part(text: str) -> bool:
    """A word that can be part of an organisation's name: capitalised, an acronym, a number."""
    return bool(_NAME_CHARS.match(text)) or text.isdigit()


# ------------------------------------------------------------------------------------ tokens
@Language.factory("ogp_tokens", assigns=["token.norm", "token._.ogp_bol", "token._.ogp_eol", "token._.ogp_name"])
def make_tokens(nlp: Language, name: str):
    return TokenAnnotator()


class TokenAnnotator:
    """Token → line map, accent-free norms, line-start/-end flags, name-part flags."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        lm = ex.lm
        starts, k = lm.starts, 0
        ex.tok_line = [0] * len(doc)
        for tok in doc:
            while k + 1 < len(starts) and tok.idx >= starts[k + 1]:
                k += 1
            line = lm.kept[k]
            ex.tok_line[tok.i] = line
            if line not in ex.line_first_tok:
                ex.line_first_tok[line] = tok.i
            ex.line_end_tok[line] = tok.i + 1
            text = _GLUED_REF.sub(r"\1", _JUNK_LEAD.sub("", tok.text))
            tok.norm_ = fold(text)
            tok._.ogp_name = is_name_part(text)
        for line, first in ex.line_first_tok.items():
            i = first
            while i < ex.line_end_tok[line] - 1 and not any(ch.isalnum() for ch in doc[i].text):
                i += 1
            doc[i]._.ogp_bol = True
            ex.bol_toks.append(i)
            doc[ex.line_end_tok[line] - 1]._.ogp_eol = True
        return doc


# ---------------------------------------------------------------------------------- sections
@Language.factory("ogp_sections", assigns=["token.is_sent_start"], requires=["token.norm", "token._.ogp_bol"],
                  default_config={"patterns": "sections.jsonl", "chapters": "chapters.txt"})
def make_sections(nlp: Language, name: str, patterns: str, chapters: str):
    return Sectioner(nlp, patterns, chapters)


class Sectioner(PatternReader):
    """Part headings (active / inactive commitments), commitment headings with titles that run
    over several lines (or, without them, the other layouts of `pipeline.extract.headings`), the
    sub-headings inside each commitment, the final summary table, and sentence boundaries."""

    def __init__(self, nlp: Language, patterns: str, chapters: str):
        super().__init__(nlp, patterns)
        self.chapters_file = chapters
        self.chapters: set[str] = set()

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        super().initialize(get_examples, nlp=nlp)
        self.chapters = {w.strip() for w in data_path(self.chapters_file).read_text(encoding="utf-8").splitlines()
                         if w.strip() and not w.startswith("#")}

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        lm = ex.lm
        for match_id, start, end in self.matcher(doc):
            label = self.vocab.strings[match_id]
            line = ex.tok_line[start]
            ex.headings.setdefault(line, []).append((label, start, end))
        heads = {line: self._line_heading(doc, ex, line, found) for line, found in ex.headings.items()}
        heads = {line: h for line, h in heads.items() if h}
        sizes = [headings.size(ln) for ln in lm.lines if ln.text.strip()]
        sizes = [x for x in sizes if x]
        ex.body_size = statistics.median(sizes) if sizes else None

        part: str | None = None
        part_line: int | None = None
        sections: list[Section] = []
        boundaries: list[int] = []
        for line in sorted(heads):
            label, start, end = heads[line]
            if label in ("PART", "ACTIVE", "INACTIVE", "TABLE"):
                labels = {lab for lab, _, _ in ex.headings[line]}
                part = "activos" if "ACTIVE" in labels else "inactivos" if "INACTIVE" in labels else None
                part_line = line
                ex.part_lines.append((line, part))
                boundaries.append(line)
                if "TABLE" in labels and ex.table_first is None:
                    ex.table_first = line
            elif label in ("COMMITMENT", "COMMITMENT_OPEN"):
                number = next(t.text.rstrip(":.") for t in doc[start + 1:end] if _NUMBER.match(t.text))
                if headings.is_toc_entry(lm.lines[line].text, _next_text(lm, line)):
                    ex.summary.append(headings.SummaryEntry(number, line, line, lm.lines[line].text.strip()))
                    continue
                title_start = end - 1 if label == "COMMITMENT_OPEN" else end
                if any(lab == "PLACEHOLDER" and title_start <= s <= title_start + 1 for lab, s, _ in ex.headings[line]):
                    continue  # "Compromiso X: Título del compromiso": a template leftover
                sections.append(self._section(doc, ex, number, line, title_start, heads, part, part_line))
                boundaries.append(line)
        ex.layout = "numbered"
        if not sections:
            sections = self._anchored(doc, ex, heads)
            ex.layout = "template"
        if not sections:
            sections = self._listed(doc, ex, heads)
            ex.layout = "list"
        if not sections:
            sections = self._numbered_list(doc, ex, heads)
            ex.layout = "numbered list"
        if not sections:
            ex.layout = None
        boundaries = sorted(set(boundaries) | {sec.heading_line for sec in sections})
        if ex.table_first is not None:
            later = [b for b in boundaries if b > ex.table_first]
            ex.table_last = (min(later) - 1) if later else len(lm.lines) - 1
        for sec in sections:
            nxt = [b for b in boundaries if b > sec.heading_line]
            if nxt:
                sec.last_line = min(nxt) - 1
                sec.end = self._first_token_at_or_after(ex, min(nxt), len(doc))
            while sec.last_line > sec.first_line and lm.is_blank(sec.last_line):
                sec.last_line -= 1
        sections = self._resolve_repeats(ex, sections)
        for sec in sections:
            self._blocks(ex, sec, heads)
        ex.sections = sections
        self._sentences(doc, ex, heads)
        return doc

    def _section(self, doc: Doc, ex, number: str, line: int, title_start: int, heads, part, part_line,
                 printed: bool = True, item: bool = False) -> Section:
        """`item`: a list item's title runs on only into lines that continue it in lower case."""
        lm = ex.lm
        title_lines, title_end = self._title(doc, ex, line, title_start, heads, item)
        title = doc[title_start:title_end].text.strip().rstrip(".").strip() if title_end > title_start else ""
        start = ex.line_first_tok[line]
        return Section(number=number, heading_line=line, title=title, title_lines=title_lines,
                       title_end=title_end, start=start, end=len(doc), first_line=line,
                       last_line=len(lm.lines) - 1, part=part, part_line=part_line, number_printed=printed)

    @staticmethod
    def _resolve_repeats(ex, sections: list[Section]) -> list[Section]:
        """One section per printed number: the occurrence with the most lines under it. The
        others (a summary list, a table of contents) are kept as the section's summary entries."""
        lm = ex.lm
        body = {id(s): sum(1 for i in range(s.first_line, s.last_line + 1) if not lm.is_blank(i)) for s in sections}
        best: dict[str, Section] = {}
        for sec in sections:
            if sec.number not in best or body[id(sec)] > body[id(best[sec.number])]:
                best[sec.number] = sec
        kept = [s for s in sections if best[s.number] is s]
        for sec in sections:
            if best[sec.number] is not sec:
                text = " ".join(lm.lines[i].text.strip() for i in range(sec.first_line, sec.last_line + 1))
                best[sec.number].summary.append(headings.SummaryEntry(sec.number, sec.first_line, sec.last_line, text))
        for entry in ex.summary:
            if entry.number in best:
                best[entry.number].summary.append(entry)
        return kept

    def _anchored(self, doc: Doc, ex, heads) -> list[Section]:
        """Commitments without a number: each occurrence of the template field found most often
        right under a title (a field that opens a template block wins ties), with that title."""
        lm = ex.lm
        stops = {i for h in ex.fields for i in h.lines} | set(heads)
        groups: dict[str, list] = {}
        for h in ex.fields:
            groups.setdefault(f"{h.spec.field}|{doc[h.start:h.end].text.lower()}", []).append(h)
        best: list[tuple[int, list[int]]] = []
        # fields that open a template block first: another field under every title wins only
        # when it finds more titles
        for hits in sorted(groups.values(), key=lambda hs: not hs[0].spec.anchor):
            titled = []
            for k, h in enumerate(hits):
                floor = hits[k - 1].lines[-1] + 1 if k else 0
                title = headings.title_above(lm.lines, h.lines[0], floor, stops)
                title = [i for i in title if i in ex.line_first_tok]
                if title:
                    titled.append((h.lines[0], title))
            if len(titled) >= 2 and len(titled) > len(best):
                best = titled
        sections = []
        for k, (anchor, title_lines) in enumerate(best):
            first = title_lines[0]
            title = " ".join(" ".join(lm.lines[i].text.split()) for i in title_lines).strip().rstrip(".")
            item = headings.NUMBERED_ITEM.match(title)  # "3.- Título" over its fields: the number it prints
            sec = Section(number=item.group(1) if item else str(k + 1), heading_line=first,
                          title=item.group(2).strip() if item else title,
                          title_lines=title_lines, title_end=ex.line_end_tok[title_lines[-1]],
                          start=ex.line_first_tok[first], end=len(doc), first_line=first,
                          last_line=len(lm.lines) - 1, number_printed=bool(item))
            if not item:
                sec.flags.append("no number printed: numbered in document order")
            sections.append(sec)
        return sections

    def _numbered_list(self, doc: Doc, ex, heads) -> list[Section]:
        """Commitments listed as "1. Título", "2. Título", each over its own body."""
        sections = []
        for line, number, _ in headings.numbered_items(ex.lm.lines, self.chapters):
            if line not in ex.line_first_tok:
                continue
            first = ex.line_first_tok[line]
            mark = headings.NUMBERED_ITEM.match(doc[first:ex.line_end_tok[line]].text)
            after = doc[first].idx + (mark.start(2) if mark else 0)  # the title's first character
            start = next((t.i for t in doc[first:ex.line_end_tok[line]] if t.idx >= after), ex.line_end_tok[line])
            sec = self._section(doc, ex, number, line, start, heads, None, None, item=True)
            if start > first and doc[start - 1].idx + len(doc[start - 1]) > after:  # "3.-Título": glued to its number
                sec.title = f"{doc[start - 1].text[after - doc[start - 1].idx:]} {sec.title}".strip()
            sections.append(sec)
        return sections

    def _listed(self, doc: Doc, ex, heads) -> list[Section]:
        """Commitments listed as "I) …", "II) …": the longest run numbered in sequence."""
        sections = []
        items = [(i, num, title) for i, num, title in headings.roman_items(ex.lm.lines) if i in ex.line_first_tok]
        for line, numeral, _ in items:
            first = ex.line_first_tok[line]
            if headings.ROMAN_ITEM.match(ex.lm.lines[line].text):  # "I) Título": the title after the ")"
                first = next(t.i for t in doc[first:ex.line_end_tok[line]] if t.text == ")") + 1
            sections.append(self._section(doc, ex, numeral, line, first, heads, None, None, item=True))
        return sections

    @staticmethod
    def _first_token_at_or_after(ex, line: int, default: int) -> int:
        toks = [t for ln, t in ex.line_first_tok.items() if ln >= line]
        return min(toks) if toks else default

    @staticmethod
    def _line_heading(doc: Doc, ex, line: int, found: list[tuple[str, int, int]]):
        """The heading a line is, if it is one: the match that opens the line (or, for the labels
        found anywhere in a short heading line, that label)."""
        first = ex.line_first_tok.get(line)
        line_len = ex.line_end_tok.get(line, 0) - (first or 0)
        for label, start, end in sorted(found, key=lambda m: (m[1], -(m[2] - m[1]))):
            opens = doc[start]._.ogp_bol
            if label in ("COMMITMENT", "COMMITMENT_OPEN", "PART", "SELF_ASSESSMENT", "REASONS", "PROGRESS",
                         "NEXT_STEPS") and opens:
                return label, start, end
            if label in ("ACTIVE", "INACTIVE") and opens and line_len <= 5:
                return label, start, end
            if label in ("RESULTS", "TABLE") and line_len <= 7:
                return label, start, end
        return None

    @staticmethod
    def _title(doc: Doc, ex, line: int, end: int, heads, item: bool = False) -> tuple[list[int], int]:
        """Lines and end token of a commitment's title: the heading line and the lines that follow
        it without a gap, up to four, stopping after a line that ends a sentence. Where the page
        gives type sizes, a title's lines share the heading's size, and a title set larger than
        the body may run to six lines."""
        lm = ex.lm
        lines = [line]
        title_end = ex.line_end_tok[line]
        k = lm.place(line)
        text = doc[end:title_end].text
        head = lm.lines[line]
        limit = 6 if ex.body_size and (headings.size(head) or 0) > 1.3 * ex.body_size else 4
        set_apart = limit == 6  # a gap between lines of large type is not a paragraph break
        field_lines = {h.lines[0] for h in ex.fields}  # a template field's label opens no title line
        while k + 1 < len(lm.kept) and len(lines) < limit and not text.rstrip().endswith("."):
            nxt = lm.kept[k + 1]
            if (nxt in lm.gap_before and not set_apart) or nxt in heads or nxt in field_lines or nxt - lines[-1] > 3 \
                    or BULLET.match(lm.lines[nxt].text) or _LIST_ITEM.match(lm.lines[nxt].text) \
                    or (item and not lm.lines[nxt].text.strip()[:1].islower()):
                break
            # by font size only: an OCR box's height also measures a stamp or a descender
            if not headings.same_size(head, lm.lines[nxt], boxes=False) \
                    or not headings.close_below(lm.lines[lines[-1]], lm.lines[nxt]):
                break
            lines.append(nxt)
            title_end = ex.line_end_tok[nxt]
            text = doc[end:title_end].text
            k += 1
        return lines, title_end

    def _blocks(self, ex, sec: Section, heads) -> None:
        found = [(line, heads[line]) for line in sorted(heads)
                 if sec.heading_line < line <= sec.last_line and heads[line][0] in BLOCK_LABELS]
        for n, (line, (label, start, end)) in enumerate(found):
            stop_line = found[n + 1][0] if n + 1 < len(found) else sec.last_line + 1
            stop = self._first_token_at_or_after(ex, stop_line, sec.end) if n + 1 < len(found) else sec.end
            sec.blocks.append(Block(label=label, line=line, head_start=start, start=end, end=max(end, stop),
                                    last_line=stop_line - 1))

    @staticmethod
    def _sentences(doc: Doc, ex, heads) -> None:
        """Sentence starts: after . ? ! before a capital, at a line after a gap when the line
        before ends a sentence, at bullets and headings, and after a commitment's title."""
        lm = ex.lm
        if not len(doc):
            return
        starts = {0}
        for tok in doc[:-1]:
            nxt = doc[tok.i + 1]
            if tok.text in (".", "?", "!", "…") and (nxt.text[:1].isupper() or nxt.text[:1] in "¿•"):
                starts.add(nxt.i)
        prev_line = None
        for line in lm.kept:
            first = ex.line_first_tok.get(line)
            if first is None:
                continue
            text = lm.lines[line].text.strip()
            if line in heads or BULLET.match(text) or text.startswith("¿"):
                starts.add(first)
            elif prev_line is not None and line in lm.gap_before:
                prev_raw = lm.lines[prev_line].text.rstrip()
                prev_text = MARKER.sub("", prev_raw).rstrip()
                ends_odd = not re.search(r"[\w,]$", prev_text) or bool(re.search(r"\[\^\d+\]$", prev_raw))
                if _SENT_END.search(prev_text) or (text[:1].isupper() and ends_odd):
                    starts.add(first)
            prev_line = line
        for sec in ex.sections:
            if sec.title_end < len(doc):
                starts.add(sec.title_end)
            for b in sec.blocks:
                if b.start < len(doc):
                    starts.add(b.start)
        flags = numpy.full((len(doc), 1), -1, dtype="int64")
        flags[sorted(starts), 0] = 1
        doc.from_array([SENT_START], flags.astype("uint64"))


# ------------------------------------------------------------------------------------ status
@Language.factory("ogp_status", requires=["token.norm", "token.is_sent_start"], default_config={"patterns": "status.jsonl"})
def make_status(nlp: Language, name: str, patterns: str):
    return StatusReader(nlp, patterns)


class StatusReader(PatternReader):
    """The commitment's status from its self-assessment block: the earliest status phrase, the
    longest one at that position; `status_text` is its clause as printed."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        for sec in ex.sections:
            for block in sec.block("SELF_ASSESSMENT"):
                span = doc[block.start:block.end]
                matches = sorted(self.matcher(span), key=lambda m: (m[1], -(m[2] - m[1])))
                if matches:
                    match_id, s, e = matches[0]
                    self._set(doc, ex, sec, match_id, s + block.start, e + block.start, block.start,
                              "status.self_assessment")
                    break
            if sec.status is None:
                self._standalone(doc, ex, sec)
        return doc

    def _set(self, doc: Doc, ex, sec: Section, match_id: int, s: int, e: int, floor: int, rule: str) -> None:
        sent_start = max(doc[s].sent.start, floor)
        sec.status_rule = rule
        sec.status = self.vocab.strings[match_id]
        sec.status_text = " ".join(doc[sent_start:e].text.split()).strip(" ,;:")
        sec.status_line = ex.tok_line[s]

    def _standalone(self, doc: Doc, ex, sec: Section) -> None:
        """Without an "Autoevaluación" heading (lost by the scan, or not printed): a status printed
        as a line of its own (`Compromiso inactivo`), else a status stated in the paragraphs between
        the IRM's judgement and the "Consulta los resultados" cue."""
        span = doc[sec.title_end:sec.end]
        matches = sorted(((m, s + span.start, e + span.start) for m, s, e in self.matcher(span)),
                         key=lambda m: (m[1], -(m[2] - m[1])))
        for match_id, s, e in matches:
            line = ex.tok_line[s]
            first = ex.line_first_tok[line]
            if doc[first].norm_ == "compromiso" and ex.line_end_tok[line] - first <= 6:
                self._set(doc, ex, sec, match_id, s, e, first, "status.own_line")
                return
        results = sec.block("RESULTS")
        if not results or sec.irm_end is None:
            return
        for match_id, s, e in matches:
            if sec.irm_end <= s < results[0].head_start and any(t.norm_ == "compromiso" for t in doc[doc[s].sent.start:e]):
                self._set(doc, ex, sec, match_id, s, e, doc[s].sent.start, "status.prose")
                return


# --------------------------------------------------------------------------------------- IRM
@Language.factory("ogp_irm", requires=["token.norm", "token.is_sent_start"], default_config={"patterns": "irm.jsonl"})
def make_irm(nlp: Language, name: str, patterns: str):
    return IrmReader(nlp, patterns)


class IrmReader(PatternReader):
    """The paragraph where the narrative gives the IRM's judgement, and the levels it names."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        for sec in ex.sections:
            span = doc[sec.title_end:sec.narrative_end()]
            found = [(self.vocab.strings[m], s + span.start, e + span.start) for m, s, e in self.matcher(span)]
            best = None
            for label, s, e in found:
                if label != "IRM":
                    continue
                para = self._paragraph(doc, ex, doc[s].sent.start, span.end)
                inside = [lab for lab, ms, me in found if para[0] <= ms and me <= para[1] and lab != "IRM"]
                rank = 2 if any(":" in lab for lab in inside) else 1 if "JUDGE" in inside else 0
                if rank and (best is None or rank > best[0]):
                    best = (rank, para, inside, s)
                if rank == 2:
                    break
            if best is None:
                continue
            _, (ps, pe), inside, s = best
            sec.irm_text = self._text(doc, ex, ps, pe)
            sec.irm_line = ex.tok_line[s]
            sec.irm_end = pe
            for lab in inside:
                kind, _, level = lab.partition(":")
                if kind == "completion" and sec.irm_completion is None:
                    sec.irm_completion = level
                elif kind == "results" and sec.irm_results is None:
                    sec.irm_results = level
        return doc

    @staticmethod
    def _paragraph(doc: Doc, ex, start: int, limit: int) -> tuple[int, int]:
        """From `start` to the end of its paragraph (a sentence that opens after a gap)."""
        lm = ex.lm
        end = limit
        for sent in doc[start:limit].sents:
            if sent.start > start:
                line = ex.tok_line[sent.start]
                if line in lm.gap_before and ex.line_first_tok.get(line) == sent.start:
                    end = sent.start
                    break
        return start, end

    @staticmethod
    def _text(doc: Doc, ex, start: int, end: int) -> str:
        """The text of tokens start..end with the footnote references `[^N]` of the lines put back."""
        lm = ex.lm
        first_line, last_line = ex.tok_line[start], ex.tok_line[end - 1]
        pieces = []
        for line in lm.kept:
            if line < first_line or line > last_line:
                continue
            raw = " ".join(lm.lines[line].text.split())
            clean = clean_line(raw)
            lo = doc[start].idx - lm.starts[lm.place(line)] if line == first_line else 0
            hi = doc[end - 1].idx + len(doc[end - 1].text) - lm.starts[lm.place(line)] \
                if line == last_line else len(clean)
            pieces.append(_with_markers(raw, lo, hi))
        return " ".join(" ".join(pieces).split())


def _with_markers(raw: str, lo: int, hi: int) -> str:
    """raw[lo:hi] where lo/hi count characters of the line without its `[^N]` markers."""
    out, clean_pos = [], 0
    pos = 0
    for m in MARKER.finditer(raw):
        seg = raw[pos:m.start()]
        for ch in seg:
            if lo <= clean_pos < hi:
                out.append(ch)
            clean_pos += 1
        if lo < clean_pos <= hi:
            out.append(m.group(0))
        pos = m.end()
    for ch in raw[pos:]:
        if lo <= clean_pos < hi:
            out.append(ch)
        clean_pos += 1
    return "".join(out).strip()


# ------------------------------------------------------------------------------ front matter
@Language.factory("ogp_front", requires=["token.norm"], default_config={"patterns": "plan.jsonl", "countries": "countries.txt"})
def make_front(nlp: Language, name: str, patterns: str, countries: str):
    return FrontMatter(nlp, patterns, countries)


_YEARS = re.compile(r"\b((?:19|20)\d\d)\s*[-–]\s*((?:19|20)\d\d)\b")


class FrontMatter(PatternReader):
    """The country and the action plan the report assesses, from the text before its first
    commitment: the plan's printed name (with its years when the front matter prints them) and
    the country named most often."""

    def __init__(self, nlp: Language, patterns: str, countries: str):
        super().__init__(nlp, patterns)
        names = [ln.strip() for ln in data_path(countries).read_text(encoding="utf-8").splitlines()
                 if ln.strip() and not ln.startswith("#")]
        self.countries = {fold(c): c for c in names}

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        end = ex.sections[0].start if ex.sections else len(doc)
        front = doc[:end]
        counts: dict[str, int] = {}
        for tok in front:
            for n in (1, 2):
                key = " ".join(t.norm_ for t in doc[tok.i:tok.i + n])
                if key in self.countries and doc[tok.i].text[:1].isupper():
                    counts[key] = counts.get(key, 0) + 1
        if counts:
            ex.country = self.countries[max(counts, key=lambda k: (counts[k], -len(k)))]
        plans = [(s, e) for m, s, e in self.matcher(front) if self.vocab.strings[m] == "PLAN"]
        if plans:
            s, e = min(plans, key=lambda p: (p[0], -(p[1] - p[0])))
            plan = " ".join(doc[s:e].text.split())
            if not _YEARS.search(plan):
                years = _YEARS.search(front.text)
                if years:
                    plan = f"{plan} {years.group(1)}-{years.group(2)}"
            ex.plan = plan
        self._kind(doc, ex, front)
        return doc

    def _kind(self, doc: Doc, ex, front) -> None:
        """The kind of report: the earliest kind the front matter names (see `plan.jsonl`), else a
        report with self-assessment blocks is a self-assessment; and the commitment count it states."""
        found = sorted(((self.vocab.strings[m], s, e) for m, s, e in self.matcher(front)), key=lambda m: m[1])
        irm = any(label == "IRM" for label, _, _ in found)
        title_end = ex.line_end_tok.get(ex.lm.kept[min(TITLE_LINES, len(ex.lm.kept)) - 1], 0) if ex.lm.kept else 0
        named = [label.split(":", 1)[1] for label, s, _ in found if label.startswith("KIND:") and s < title_end]
        assessed = sum(bool(s.block("SELF_ASSESSMENT")) for s in ex.sections)
        if ex.sections and assessed * 2 >= len(ex.sections):
            kind = "self_assessment"  # most commitments carry the template's "Autoevaluación" block
        elif named:
            kind = named[0]  # what the title page calls the report
        else:  # the kind the front matter names most often; the more specific one on a tie
            counts: dict[str, int] = {}
            for label, _, _ in found:
                if label.startswith("KIND:"):
                    counts[label.split(":", 1)[1]] = counts.get(label.split(":", 1)[1], 0) + 1
            kind = max(_KIND_ORDER, key=lambda k: (counts.get(k, 0), -_KIND_ORDER.index(k))) if counts else None
        if kind == "progress":
            kind = "irm_progress" if irm else "government_progress"
        elif kind == "end":
            kind = "irm_end_of_term" if irm else "self_assessment"
        ex.kind = kind
        ex.assessment_when = _WHEN.get(kind)
        ex.assessment_by = "irm" if kind in ("irm_progress", "irm_end_of_term") else "government"
        counts = [doc[s:e] for label, s, e in found if label == "COUNT"]
        for span in counts:
            value = _count(next(t for t in span if t.like_num).text)
            if value:
                ex.stated_count = value
                break
        if ex.stated_count and ex.stated_count != len(ex.sections):
            ex.flags.append(f"the report states {ex.stated_count} commitments; {len(ex.sections)} were found")


TITLE_LINES = 40
"""The report's title is in its first lines (cover and credits): the first kind named there decides."""
_KIND_ORDER = ("self_assessment", "end", "progress", "action_plan")
_WHEN = {"self_assessment": "self_assessment", "government_progress": "progress_report", "irm_progress": "mid_term",
         "irm_end_of_term": "end_of_term", "action_plan": "design"}


def _count(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    from spacy.lang.es.lex_attrs import _num_words

    word = fold(text)
    words = [fold(w) for w in _num_words]
    return words.index(word) if word in words and 0 < words.index(word) <= 100 else None


def _next_text(lm, line: int) -> str:
    """The text of the first non-blank line after `line` in reading order."""
    k = lm.next_place(line)
    return lm.lines[lm.kept[k]].text if k < len(lm.kept) else ""

