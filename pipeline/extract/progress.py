"""Milestones and printed progress (`pipeline/data/extract/progress.jsonl`).

`ogp_progress` finds in each commitment section
- its **milestones** ("Hito 3: …", "Meta 2 …", "Actividad 1.1 …"): each runs to the next milestone,
  field label or the section's end, with its printed percentage ("…: 80% de cumplimiento") and its
  dates ("Marzo 2020  Mayo 2020", printed after it or in the table column beside it). A progress
  report that repeats the commitment's title after each milestone (" - <title>: 80% de
  cumplimiento") has that repetition cut from the milestone's text;
- the commitment's own **percentage**: one printed in the section outside its milestones, else one
  printed beside the commitment in a summary list (`Section.summary`).

Results go to `doc.spans["ogp_milestones"]` and `doc.spans["ogp_progress"]` and onto the sections.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from rapidfuzz import fuzz
from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.extract.components import PatternReader, non_overlapping
from pipeline.extract.state import Section, state
from pipeline.extract.text import LABEL_LINE, LIST_ITEM, MARKER, MONTHS, RUNS_ON, fold
from pipeline.models import Line

MILESTONE_KEY = "ogp_milestones"
PROGRESS_KEY = "ogp_progress"
_NUMBER = re.compile(r"\d{1,3}(?:[.,]\d{1,2})?")
_PCT_TEXT = re.compile(r"(\d{1,3}(?:[.,]\d{1,2})?)\s*%\s*de\s+(?:cumplimiento|avance|ejecuci[oó]n|implementaci[oó]n|progreso)", re.I)
DATE = re.compile(rf"\b((?:{MONTHS})\s+(?:de\s+)?(?:19|20)\d\d|(?<![\d/])(?:\d{{1,2}}/)?\d{{1,2}}/(?:19|20)\d\d)\b", re.I)
_DATE_WORDS = r"inicio|desde|t[eé]rmino|fin|finalizaci[oó]n|plazo|hasta"
"""The words that label a milestone's date ("Inicio: 01/2025", "Plazo: junio 2024")."""
_DATE_LABEL = re.compile(rf"\b({_DATE_WORDS}|fecha\s+(?:prevista|l[ií]mite)"
                         r"|fecha\s+de\s+(?:inicio|t[eé]rmino|fin|entrega|cumplimiento))\s*:\s*$", re.I)
_STARTS = ("inicio", "desde", "fecha de inicio")
TITLE_ECHO = 80
"""A milestone's trailing " - <text>" is the commitment's title repeated when it is this similar."""


@dataclass
class MilestoneFound:
    number: Optional[str]
    text: str
    lines: list[int]
    progress_pct: Optional[float] = None
    start: Optional[str] = None
    end: Optional[str] = None
    rule: Optional[str] = None  # how it was read, when not under a milestone heading (confidence.tsv)


def pct_value(text: str) -> Optional[float]:
    m = _NUMBER.search(text)
    if not m:
        return None
    value = float(m.group(0).replace(",", "."))
    return value if 0 <= value <= 100 else None


@Language.factory("ogp_progress", assigns=["doc.spans"], requires=["token.norm", "token._.ogp_bol"],
                  default_config={"patterns": "progress.jsonl"})
def make_progress(nlp: Language, name: str, patterns: str):
    return ProgressReader(nlp, patterns)


class ProgressReader(PatternReader):
    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        found = [(self.vocab.strings[m], s, e) for m, s, e in self.matcher(doc)]
        milestones = [(s, e) for _, s, e in non_overlapping(m for m in found if m[0] == "MILESTONE")]
        lists = [(s, e) for _, s, e in non_overlapping(m for m in found if m[0] == "MILESTONE_LIST")
                 if (not s or ex.tok_line[s - 1] != ex.tok_line[s]) and _alone(doc, ex, s, e)]
        pcts = [(s, e) for _, s, e in non_overlapping(m for m in found if m[0] == "PCT")]
        # a milestone's own percentage may also be printed in parentheses after it: "… (80%)"
        item_pcts = sorted(pcts + [(s, e) for _, s, e in non_overlapping(m for m in found if m[0] == "PCT_ITEM")])
        field_starts = sorted(h.start for h in ex.fields)
        ms_spans, pct_spans = [], []
        for sec in ex.sections:
            heads = [m for m in milestones if sec.start <= m[0] < sec.end]
            covered: list[tuple[int, int]] = []
            for k, (s, e) in enumerate(heads):
                stop = heads[k + 1][0] if k + 1 < len(heads) else sec.end
                stop = min([f for f in field_starts if e <= f < stop] + [stop])
                covered.append((s, stop))
                sec.milestones.append(self._milestone(doc, ex, sec, s, e, stop, item_pcts))
                ms_spans.append(Span(doc, s, stop, label="MILESTONE"))
            if not heads:
                for s, e, stop, number in _list_items(doc, ex, [(a, b) for a, b in lists if sec.start <= a < sec.end],
                                                     sec.end, field_starts):
                    covered.append((s, stop))
                    found_ms = self._milestone(doc, ex, sec, s, e, stop, item_pcts)
                    found_ms.number, found_ms.rule = number, "milestone.list"
                    found_ms.text = LIST_ITEM.sub("", found_ms.text, count=1)  # a marker glued to its text: "3)Formación"
                    sec.milestones.append(found_ms)
                    ms_spans.append(Span(doc, s, stop, label="MILESTONE"))
            own = [(s, e) for s, e in pcts if sec.start <= s < sec.end and not any(a <= s < b for a, b in covered)]
            if own:
                s, e = own[0]
                sec.progress_pct, sec.progress_text = pct_value(doc[s:e].text), doc[s:e].text
                sec.progress_line = ex.tok_line[s]
                sec.progress_rule = "progress.section"
                pct_spans.append(Span(doc, s, e, label="PCT"))
            else:
                for entry in sec.summary:
                    m = _PCT_TEXT.search(entry.text)
                    if m:
                        sec.progress_pct, sec.progress_text = pct_value(m.group(1)), m.group(0)
                        sec.progress_line = entry.first_line
                        sec.progress_rule = "progress.summary"
                        break
        _table_milestones(ex)
        doc.spans[MILESTONE_KEY] = ms_spans
        doc.spans[PROGRESS_KEY] = pct_spans
        return doc

    def _milestone(self, doc: Doc, ex, sec: Section, s: int, e: int, stop: int, pcts) -> MilestoneFound:
        number = next((t.text.rstrip(":.") for t in doc[s + 1:e] if t.text[:1].isdigit()), None)
        head = ex.lm.lines[ex.tok_line[s]]
        # on a page with boxes, the milestone is the lines of its own column: the table column
        # beside it (dates, %) comes later in reading order and belongs to every row
        own = [i for i in range(e, stop) if head.bbox is None or ex.lm.lines[ex.tok_line[i]].column == head.column]
        lines = sorted({ex.tok_line[s]} | {ex.tok_line[i] for i in own})
        pct = None
        inside = [(a, b) for a, b in pcts if s <= a < stop]
        if inside:
            a, b = inside[-1]
            pct = pct_value(doc[a:b].text)
            own = [i for i in own if i < a]
        text = "".join(doc[i].text_with_ws for i in own)
        dates = _dates_beside(ex, lines) if head.bbox is not None else []
        start, end = _labelled_dates(text) if not dates else (None, None)
        dates = dates or DATE.findall(text)
        if start or end:
            dates = [start, end]
        text = DATE.sub(" ", text)
        text = _DATE_LEFT.sub(" ", text)  # "Plazo: ." once its date is out
        text = re.sub(r"\.(?:\s*[.·])+", ".", " ".join(MARKER.sub("", text).split()))  # "2024. ." once a date is out
        text = _drop_title_echo(text.strip(" :-–—·"), sec.title)
        return MilestoneFound(number, text, lines, pct, dates[0] if dates else None,
                              dates[1] if len(dates) > 1 else None)


def _list_items(doc: Doc, ex, lists: list[tuple[int, int]], end: int, field_starts: list[int]
                ) -> list[tuple[int, int, int, Optional[str]]]:
    """The items listed under each milestone-list heading ("Hitos", "Principales actividades"):
    (first token, token after the item's marker, token after the item, its number). An item opens
    with a bullet or a number and runs over the lines after it that carry no marker of their own,
    sit no further left than its text (on a page with boxes) and follow without a gap; the list
    ends at the first other line, a field label, a heading or the section's end."""
    out = []
    stops = set(field_starts) | {s for s, _ in lists}
    for s, e in lists:
        k = ex.lm.next_place(ex.tok_line[e - 1])  # the line after the heading's
        item: Optional[list] = None  # [first token, marker end, x0 of its line, number, its line]
        last_tok = e
        while k < len(ex.lm.kept):
            i = ex.lm.kept[k]
            first = ex.line_first_tok.get(i)
            ln = ex.lm.lines[i]
            indented = item is not None and ln.bbox is not None and item[2] is not None and ln.bbox.x0 > item[2] + 2
            if first is None or first >= end or first in stops or (i in ex.headings and not indented):
                break  # (a sub-heading's words set inside the item, indented, are the item's: "Avance: 70 %")
            m = LIST_ITEM.match(MARKER.sub("", ln.text))
            if m:
                if item and (_out_of_sequence(item[3], m.group(1)) or _heading_after(ex.lm.lines[item[4]], ln)):
                    break  # "5. Conclusiones" after item 3, or a heading set bolder or larger: the list is over
                if item:
                    out.append((item[0], item[1], first, item[3]))
                marker_end = first  # the first token past the marker (or the one it is glued to)
                while marker_end + 1 < ex.line_end_tok[i] and doc[marker_end + 1].idx - doc[first].idx <= len(m.group(0).rstrip()):
                    marker_end += 1
                if doc[marker_end].idx + len(doc[marker_end]) - doc[first].idx <= len(m.group(0).rstrip()):
                    marker_end += 1
                item = [first, marker_end, ln.bbox.x0 if ln.bbox else None, m.group(1), i]
            elif item is None or i in ex.lm.gap_before or (LABEL_LINE.match(ln.text) and not indented) or (
                    ln.bbox is not None and item[2] is not None and ln.bbox.x0 < item[2] - 2) or (
                    ln.bbox is None and not _goes_on(ex.lm.lines[ex.lm.kept[k - 1]].text, ln.text)):
                break
            last_tok = ex.line_end_tok[i]
            k += 1
        if item:
            out.append((item[0], item[1], last_tok, item[3]))
    return out


_DATE_LEFT = re.compile(rf"\b(?:{_DATE_WORDS}|fecha(?:\s+de)?(?:\s+\w+)?)\s*:\s*"
                        r"(?=[.·,;]|$)", re.I)


def _labelled_dates(text: str) -> tuple[Optional[str], Optional[str]]:
    """The start and end a milestone's text gives with their labels ("Inicio: 01/2025 · Término:
    06/2025", "Plazo: junio 2024": a deadline is its end); (None, None) when no date is labelled."""
    start = end = None
    for m in DATE.finditer(text):
        label = _DATE_LABEL.search(text[max(0, m.start() - 40):m.start()])  # (a label is short: linear on any text)
        if label is None:
            continue
        if fold(label.group(1)).startswith(_STARTS):
            start = start or m.group(1)
        else:
            end = end or m.group(1)
    return start, end


def _goes_on(before: str, text: str) -> bool:
    """Without boxes, does line `text` go on with the item the line `before` ended? It opens in
    lower case, with a number or a parenthesis, or the line before runs on ("… de los")."""
    text = MARKER.sub("", text).strip()
    return bool(text) and (text[0].islower() or text[0] in "(0123456789%" or bool(RUNS_ON.search(before.strip())))


LIST_HEADING_WORDS = 6


def _alone(doc: Doc, ex, s: int, e: int) -> bool:
    """Is the milestone-list heading matched at tokens s..e a heading line: alone on its line, or
    its line a short label ending with a colon ("Actividades y avance verificado:")?"""
    line = ex.tok_line[s]
    if e >= len(doc) or ex.tok_line[e] != line:
        return True
    end = ex.line_end_tok[line]
    return doc[end - 1].text == ":" and sum(not t.is_punct for t in doc[s:end]) <= LIST_HEADING_WORDS


def _out_of_sequence(before: Optional[str], number: Optional[str]) -> bool:
    """Does an item numbered `number` not follow one numbered `before` (1 → 2, 1.1 → 1.2)?"""
    if before is None or number is None:
        return (before is None) != (number is None)  # a numbered item after bullets, or bullets after numbers
    *head_a, last_a = before.split(".")
    *head_b, last_b = number.split(".")
    return head_a != head_b or int(last_b) != int(last_a) + 1


def _heading_after(item: Line, ln: Line) -> bool:
    """Is `ln` set bolder or larger than the item before it?"""
    return bool((ln.bold and not item.bold) or (ln.font_size and item.font_size and ln.font_size > item.font_size + 0.5))


def _drop_title_echo(text: str, title: str) -> str:
    """"Diagnóstico … existente. - Re-diseño del portal" → "Diagnóstico … existente." when the part
    after the last dash is the commitment's title."""
    for sep in (" - ", " – ", " — "):
        head, found, tail = text.rpartition(sep)
        if found and title and fuzz.ratio(fold(tail.strip(" .:")), fold(title)) >= TITLE_ECHO:
            return head.strip(" -–—")
    return text


def _dates_beside(ex, lines: list[int]) -> list[str]:
    """Dates printed in the table column beside a milestone: lines of the same page right of the
    milestone's text whose vertical middle falls within it, in left-to-right order."""
    lns = [ex.lm.lines[i] for i in lines if ex.lm.lines[i].bbox is not None]
    if not lns:
        return []
    page = lns[0].page
    top, bottom = min(ln.bbox.top for ln in lns), max(ln.bbox.bottom for ln in lns)
    right = max(ln.bbox.x1 for ln in lns)
    beside = []
    for ln in (ex.lm.lines[i] for i in ex.lm.by_page[page]):
        if ln.bbox is None or ln.bbox.x0 < right:
            continue
        middle = (ln.bbox.top + ln.bbox.bottom) / 2
        if top - 2 <= middle <= bottom + 2 and DATE.search(ln.text):
            beside.append(ln)
    beside.sort(key=lambda ln: ln.bbox.x0)
    return [d for ln in beside for d in DATE.findall(ln.text)]


def _table_milestones(ex) -> None:
    """A section without milestone headings takes the rows of the milestone tables it holds
    (`Extraction.milestone_tables`: "Actividad y producto entregable | Fecha de inicio | Fecha de
    término"), each with the dates its row prints."""
    if not ex.milestone_tables:
        return
    where = {(ln.page, ln.line): i for i, ln in enumerate(ex.lm.lines)}
    for table in ex.milestone_tables:
        at = where.get((table.page, table.first_line))
        sec = next((s for s in ex.sections if at is not None and s.first_line <= at <= s.last_line), None)
        if sec is None or any(m.rule != "milestone.table" for m in sec.milestones):
            continue
        for row in table.rows:
            lines = [where[(row.page, n)] for n in row.lines if (row.page, n) in where]
            if lines:
                sec.milestones.append(MilestoneFound(row.number, row.text, lines, progress_pct=row.progress_pct,
                                                     start=row.start, end=row.end, rule="milestone.table"))

