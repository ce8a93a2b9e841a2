"""Assessments ticked in a grid: the tables of IRM reports in which a level is marked ("x", "✔",
"■") in its column (`pipeline/data/extract/grid.tsv`).

A mark's level is the label of the nearest header cell above it that covers its column ("Limitado"
under "Cumplimiento", "Marginalmente" under "¿Se avanzó en la apertura del Gobierno?"); its moment
is a label of its row or of its header ("Medio término", "Fin de término"); the commitment it
assesses is the one its row names (a number, "Compromiso 1.1", or a title), else — for a table that
names at most one commitment — the one whose section holds the table. Ticks of grids the legend does
not know (Especificidad, Impacto potencial) are no assessment.

A totals table counts the commitments at each level ("Completado | 5 / Avance sustancial | 3 /
Total | 8", or a row "Total" under the levels' columns): `ogp_totals` compares it with the statuses
read and flags each difference on the report, as it flags a commitment a grid names that no section
holds.

`read_ticks` and `read_totals` are pure functions of one `Table`. `extract_commitments` reads them
before the Doc is built and leaves those tables' lines out of the Doc's text (a grid is not prose:
its header words "No iniciado Limitado Sustancial" would read as a status), and `ogp_grid` gives
each tick to its commitment through the `Extraction` state.
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from rapidfuzz import fuzz, process
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.extract.gazetteer import DATA
from pipeline.extract.state import Section, state
from pipeline.extract.text import MONTHS, fold
from pipeline.models import Cell, Table

LEGEND = DATA / "grid.tsv"
COLUMNS = DATA / "table_columns.tsv"
TITLE_CUTOFF = 85
"""How close (rapidfuzz token-set ratio) a row label must be to a commitment's title to name it."""

STARS = "✪✭★"
"""The IRM's star for a commitment, printed beside its title."""
_NUMBER = re.compile(r"^\s*(?:compromiso\s*(?:n(?:ro|um|o|°|º)?\.?\s*)?)?(\d{1,2}(?:\.\d{1,2})?|[ivxl]{1,6})(?=[\s.:)\-–]|$)[\s.:)\-–]*",
                     re.IGNORECASE)


@dataclass
class Legend:
    levels: dict[str, tuple[str, str]] = field(default_factory=dict)  # folded label → (kind, value)
    moments: list[tuple[str, str]] = field(default_factory=list)  # (folded label, value), longest first

    def level(self, text: str) -> Optional[tuple[str, str]]:
        key = _key(text)
        found = self.levels.get(key)
        if found is None and key.endswith("s"):  # a plural label ("Completados", "Sustanciales")
            found = self.levels.get(" ".join(_singular(w) for w in key.split()))
        return found

    def near_level(self, text: str) -> Optional[tuple[str, str]]:
        """`level`, or the level whose label OCR misread by a letter or two ("Timitado")."""
        found = self.level(text)
        key = _key(text)
        if found is None and len(key) >= 6:
            best = process.extractOne(key, list(self.levels), scorer=fuzz.ratio, score_cutoff=NEAR_LEVEL)
            found = self.levels[best[0]] if best else None
        return found

    def when(self, text: str) -> Optional[str]:
        key = f" {_key(text)} "
        return next((value for label, value in self.moments if f" {label} " in key), None)


@lru_cache(maxsize=1)
def legend() -> Legend:
    text = LEGEND.read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))),
                          delimiter="\t")
    out = Legend()
    for row in rows:
        if row["kind"] == "when":
            out.moments.append((_key(row["label"]), row["value"]))
        else:
            out.levels[_key(row["label"])] = (row["kind"], row["value"])
    out.moments.sort(key=lambda m: -len(m[0]))
    return out


def _singular(word: str) -> str:
    if word.endswith("les") or word.endswith("res"):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _key(text: str) -> str:
    return " ".join(fold(text).replace("¿", " ").replace("?", " ").strip(" .:;,*()").split())


@dataclass
class Tick:
    """One mark of a grid read as an assessment."""

    kind: str  # completion | open_gov
    level: str
    when: Optional[str]
    page: int
    line: Optional[int]  # the page line (`Line.line`) of the mark, else of its row's label
    number: Optional[str] = None  # the commitment number its row prints
    title: Optional[str] = None  # its row's label without the number
    starred: bool = False  # its row's label carries the IRM's star (✪)
    text: str = ""  # the row label, the level label and the mark, as printed


@dataclass
class Grid:
    """A table whose ticks are assessments, where it sits among the body lines."""

    page: int
    ticks: list[Tick]
    lines: set[int]  # the page lines (`Line.line`) of its cells
    after: int = -1  # index of the last body line before it (`LineMap.lines`), -1 before all


def read_ticks(table: Table, page: int, known: Legend | None = None) -> list[Tick]:
    """The assessments a table's marks give, in reading order (row by row, left to right); in a
    table without marks, the levels its cells print under a moment ("Nivel de cumplimiento |
    Medio término | Fin de término" over "Limitado | Sustancial")."""
    known = known or legend()
    cells = [c for c in table.cells() if c.text.strip() or c.mark]
    if not any(c.mark for c in cells):
        return _printed_levels(cells, page, known)
    ticks = []
    for cell in sorted((c for c in cells if c.mark), key=lambda c: (c.row, c.column)):
        above = _above(cells, cell)
        level_cell = next((c for c in above if known.level(c.text)), None)
        if level_cell is None:
            continue
        kind, level = known.level(level_cell.text)
        label_cells = sorted((c for c in cells if not c.mark and c.column + c.column_span <= cell.column
                              and _shares_rows(c, cell)), key=lambda c: c.column)
        labels = [" ".join(c.text.split()) for c in label_cells]
        # a moment is a label of every row the mark spans (a mark over both moments has none)
        covering = [c.text for c in label_cells if c.row <= cell.row and c.row + c.row_span >= cell.row + cell.row_span]
        when = next((w for w in map(known.when, covering + [c.text for c in above]) if w), None)
        number, title = _names(labels, known)
        line = (cell.lines or next((c.lines for c in label_cells if c.lines), None) or [None])[0]
        ticks.append(Tick(kind=kind, level=level, when=when, page=page, line=line, number=number,
                          title=title.strip(STARS + " ") if title else None,
                          starred=any(ch in label for label in labels for ch in STARS),
                          text=" / ".join(labels + [" ".join(level_cell.text.split()), cell.mark])))
    return ticks


def _printed_levels(cells: list[Cell], page: int, known: Legend) -> list[Tick]:
    """Levels printed as a cell's whole text, each under (or beside) the moment it is of: a cell
    that names a moment above it or to its left in its row. A level with no moment over it is a
    scale's header or a summary's column, not an assessment of this table's."""
    ticks = []
    for cell in sorted(cells, key=lambda c: (c.row, c.column)):
        level = known.near_level(cell.text)
        if level is None:
            continue
        left = [c for c in cells if c.column + c.column_span <= cell.column and _shares_rows(c, cell)]
        when = next((w for w in map(known.when, [c.text for c in _above(cells, cell)] + [c.text for c in left]) if w),
                    None)
        if when is None:
            continue
        ticks.append(Tick(kind=level[0], level=level[1], when=when, page=page,
                          line=cell.lines[0] if cell.lines else None, text=" ".join(cell.text.split())))
    return ticks


@dataclass
class Totals:
    """A table that counts the commitments at each level ("Completado | 5", or a row "Total" under
    the levels' columns): a cross-check of the statuses read."""

    page: int
    counts: dict[str, int]  # completion level → commitments
    total: Optional[int] = None


_COUNT = re.compile(r"^\d{1,3}$")


def read_totals(table: Table, page: int, known: Legend | None = None) -> Optional[Totals]:
    """The counts per completion level a table prints: rows labelled by a level (and "Total"), a
    count beside each; or a row labelled "Total" whose counts sit under the levels' columns."""
    known = known or legend()
    counts: dict[str, int] = {}
    total = None
    for row in table.rows:
        texts = [c for c in row.cells if c.text.strip()]
        count = next((int(c.text.strip()) for c in texts[1:] if _COUNT.match(c.text.strip())), None)
        if len(texts) < 2 or count is None:
            continue
        level = known.level(texts[0].text)
        if level and level[0] == "completion":
            counts[level[1]] = counts.get(level[1], 0) + count
        elif _key(texts[0].text).startswith("total"):
            total = count
    if not counts:  # the levels across, a row "Total" of counts under them
        cells = [c for c in table.cells() if c.text.strip() and not c.mark]
        for row in table.rows:
            texts = [c for c in row.cells if c.text.strip()]
            if not texts or not _key(texts[0].text).startswith("total"):
                continue
            for c in (c for c in texts[1:] if _COUNT.match(c.text.strip())):
                header = next((h.text for h in _above(cells, c)), "")
                level = known.level(header)
                if level and level[0] == "completion":
                    counts[level[1]] = counts.get(level[1], 0) + int(c.text.strip())
                elif _key(header).startswith("total"):
                    total = int(c.text.strip())
    if not counts or (len(counts) < 2 and total is None):
        return None  # one level beside a number is no count of the report's commitments
    return Totals(page=page, counts=counts, total=total)


# ------------------------------------------------------------------ milestone tables
@dataclass
class TableMilestone:
    """One row of a milestone table: the milestone as its cell prints it, its dates beside it."""

    text: str
    page: int
    lines: list[int]  # the page lines (`Line.line`) of its cell
    start: Optional[str] = None
    end: Optional[str] = None
    progress_pct: Optional[float] = None
    number: Optional[str] = None


@dataclass
class MilestoneTable:
    page: int
    rows: list[TableMilestone]
    first_line: int  # the page line (`Line.line`) the table starts on
    columns: dict[str, int] = field(default_factory=dict)  # kind → its column
    known: set[int] = field(default_factory=set)  # the columns whose heading names a kind
    edges: dict[int, tuple[float, float]] = field(default_factory=dict)  # those columns' x0, x1
    open: bool = False  # its milestones run to the table's last row: it may go on on the next page
    span: int = 1  # the columns its milestone cells span


@lru_cache(maxsize=1)
def column_labels() -> dict[str, list[tuple[str, bool]]]:
    """kind (milestone / start / end) → its headings, folded, each with whether it is a prefix."""
    text = COLUMNS.read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))),
                          delimiter="\t")
    out: dict[str, list[tuple[str, bool]]] = {}
    for row in rows:
        label = row["label"]
        out.setdefault(row["kind"], []).append((_key(label.rstrip("…")), label.endswith("…")))
    return out


def _column_kind(text: str) -> Optional[str]:
    key = _key(text)
    for kind, labels in column_labels().items():
        if any(key == label or (prefix and key.startswith(label)) for label, prefix in labels):
            return kind
    return None


_NUMBER_CELL = re.compile(r"^\d{1,2}(?:\.\d{1,2})?(?=[.):]?$)")
NEAR_LEVEL = 85
"""A table cell OCR misread by a letter ("Timitado", 87.5 to "limitado") is still its level."""
_PCT_CELL = re.compile(r"^\s*(\d{1,3}(?:[.,]\d{1,2})?)\s*%?\s*$")
_MONTH = rf"(?:{MONTHS}|ene|feb|mar|abr|may|jun|jul|ago|sep|sept|set|oct|nov|dic)"
DATE_CELL = re.compile(rf"^\W*(?:{_MONTH}\.?\s*(?:de\s+|[-/]\s*)?(?:19|20)\d\d|\d{{1,2}}\s*/\s*(?:\d{{1,2}}\s*/\s*)?(?:19|20)?\d\d"
                       rf"|(?:[1-4]\s*(?:er|do|ro|to|°|º)?\s*)?(?:trimestre|semestre)\s*(?:de\s+|del\s+)?(?:19|20)\d\d"
                       rf"|(?:19|20)\d\d)\W*$", re.I)
"""A cell that holds a date alone ("Oct. 2022", "junio de 2024", "06/2025", "30/06/2026", "2do
trimestre 2024", "2025"): a column of them is a milestone table's date column whatever its
heading reads (a shaded heading cell is what OCR reads worst)."""


def _date_column(table: Table, header: int, milestone: int, known: set[int]) -> Optional[int]:
    """The column, among those whose heading names no kind, where most cells below `header` hold
    a date alone."""
    below = [c for r in table.rows[header + 1:] for c in r.cells if c.text.strip()]
    for col in sorted({c.column for c in below} - known - {milestone}):
        cells = [c for c in below if c.column == col]
        if cells and sum(bool(DATE_CELL.match(" ".join(c.text.split()))) for c in cells) * 2 > len(cells):
            return col
    return None


def read_milestones(table: Table, page: int, before: Optional[MilestoneTable] = None) -> Optional[MilestoneTable]:
    """The milestones a table lists: under a header row naming a milestone column and a date
    column, each later row's milestone cell, the dates in the date columns beside it, its number
    and its percentage where the table has their columns. `before`: the milestone table read last;
    a table with no such header that opens the next page in `before`'s columns goes on with it (a
    template's milestone table split by a page break, its caption row repeated over it)."""
    for k, row in enumerate(table.rows):
        kinds = {c.column: _column_kind(c.text) for c in row.cells if c.text.strip()}
        if "milestone" not in kinds.values():
            continue
        if not {"start", "end"} & set(kinds.values()):
            milestone = next(col for col, kind in kinds.items() if kind == "milestone")
            dated = _date_column(table, k, milestone, {col for col, kind in kinds.items() if kind})
            if dated is None:
                continue
            kinds[dated] = "end"  # one column of dates: when the milestone is due
        columns = {kind: col for col, kind in kinds.items() if kind and kind != "other"}
        known = {col for col, kind in kinds.items() if kind}
        span = next(c.column_span for c in row.cells if c.column == columns["milestone"])
        edges = {c.column: (c.bbox.x0, c.bbox.x1) for c in row.cells if c.column in known}
        found = _milestone_rows(table, page, table.rows[k + 1:], columns, known, span, edges, leading=False)
        if found is not None:
            return found
    if before is not None and page == before.page + 1 and before.open:
        columns = _same_columns(table, before.edges)
        if columns is not None:
            remap = {kind: columns[col] for kind, col in before.columns.items() if col in columns}
            if "milestone" in remap:
                known = {columns[col] for col in before.known if col in columns}
                edges = {columns[col]: e for col, e in before.edges.items() if col in columns}
                return _milestone_rows(table, page, table.rows, remap, known, before.span, edges, leading=True)
    return None


def _same_columns(table: Table, edges: dict[int, tuple[float, float]]) -> Optional[dict[int, int]]:
    """`edges`' columns (column → its x0, x1) as this table's columns, when every one of them has
    cells here at the same place (within 3 pt); else None."""
    out = {}
    for col, (x0, x1) in edges.items():
        match = next((c.column for c in table.cells() if abs(c.bbox.x0 - x0) <= 3 and abs(c.bbox.x1 - x1) <= 3), None)
        if match is None:
            return None
        out[col] = match
    return out


def _milestone_rows(table: Table, page: int, rows, columns: dict[str, int], known: set[int], span: int,
                    edges: dict[int, tuple[float, float]], leading: bool) -> Optional[MilestoneTable]:
    """The milestone rows among `rows` (see `read_milestones`); `leading`: rows across the table
    before the first milestone (a caption repeated over a continued table) are passed over."""
    out, open_end = [], True
    for below in rows:
        cells = {c.column: c for c in below.cells}
        ms = cells.get(columns["milestone"])
        if ms is None or not ms.text.strip() or _column_kind(ms.text) == "milestone":
            continue  # an empty row, or the header again
        if ms.column_span != span or any(c.text.strip() and c.column not in known for c in below.cells):
            if leading and not out:
                continue
            open_end = False
            break  # the table goes on with other rows (contact fields, a heading across it)
        text = {kind: " ".join(cells[columns[kind]].text.split()) if kind in columns and columns[kind] in cells
                else "" for kind in ("start", "end", "progress", "number")}
        pct = _PCT_CELL.match(text["progress"])
        out.append(TableMilestone(text=" ".join(ms.text.split()), page=page, lines=list(ms.lines),
                                  start=text["start"] or None, end=text["end"] or None,
                                  progress_pct=float(pct.group(1).replace(",", ".")) if pct else None,
                                  number=n.group(0) if (n := _NUMBER_CELL.match(text["number"])) else None))
    if not out:
        return None
    return MilestoneTable(page=page, rows=out, first_line=min(n for c in table.cells() for n in c.lines),
                          columns=columns, known=known, edges=edges, open=open_end, span=span)


def _above(cells: list[Cell], cell: Cell) -> list[Cell]:
    """The cells without a mark above `cell` that cover one of its columns, nearest first."""
    return sorted((c for c in cells if not c.mark and c.row + c.row_span <= cell.row and _shares_columns(c, cell)),
                  key=lambda c: -c.row)


def _shares_columns(a: Cell, b: Cell) -> bool:
    return a.column < b.column + b.column_span and b.column < a.column + a.column_span


def _shares_rows(a: Cell, b: Cell) -> bool:
    return a.row < b.row + b.row_span and b.row < a.row + a.row_span


def _names(labels: list[str], known: Legend) -> tuple[Optional[str], Optional[str]]:
    """The commitment a row's labels name: (its number as printed, its title), from the first
    label that is not a moment."""
    for text in labels:
        if known.when(text) and len(text.split()) <= 4:
            continue
        m = _NUMBER.match(text)
        if m:
            rest = text[m.end():].strip()
            return m.group(1).upper() if m.group(1).isalpha() else m.group(1), rest or None
        return None, text
    return None, None


@Language.factory("ogp_grid")
def make_grid(nlp: Language, name: str):
    return GridReader()


class GridReader:
    """Gives each tick of `Extraction.grids` to its commitment (`Section.ticks`); the open-government
    level where the text gave none."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        if not ex.grids or not ex.sections:
            return doc
        by_number = {sec.number: sec for sec in ex.sections if sec.number_printed}
        missing: list[str] = []
        titles = [fold(sec.title) for sec in ex.sections]
        for grid in ex.grids:
            named = {t.number or t.title for t in grid.ticks if t.number or t.title}
            holder = _holder(ex.sections, grid.after) if len(named) <= 1 else None
            for tick in grid.ticks:
                sec = by_number.get(tick.number) if tick.number else None
                if sec is None and tick.title:
                    best = process.extractOne(fold(tick.title), titles, scorer=fuzz.token_set_ratio,
                                              score_cutoff=TITLE_CUTOFF)
                    sec = ex.sections[best[2]] if best else None
                sec = sec or holder
                if sec is None:
                    if tick.number and tick.number not in missing:
                        missing.append(tick.number)
                        ex.flags.append(f"a table on page {grid.page} ticks a level for commitment {tick.number}, "
                                        "which was not found as a section")
                    continue
                if tick.starred:
                    sec.starred = True
                if tick.kind == "open_gov":
                    sec.open_gov = sec.open_gov or tick.level
                elif all((t.level, t.when) != (tick.level, tick.when) for t in sec.ticks):
                    sec.ticks.append(tick)
        return doc


def _holder(sections: list[Section], after: int) -> Optional[Section]:
    """The section whose lines hold body line `after` (the table follows it)."""
    return next((sec for sec in reversed(sections) if sec.first_line <= after), None) if after >= 0 else None


@Language.factory("ogp_totals")
def make_totals(nlp: Language, name: str):
    return TotalsCheck()


class TotalsCheck:
    """Compares the statuses read with the report's totals tables (`Extraction.totals`): each
    level's count, and the total; a difference is a flag on the report."""

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        read = Counter(sec.status for sec in ex.sections if sec.status)
        for totals in ex.totals:
            for level, count in totals.counts.items():
                if read.get(level, 0) != count:
                    ex.flags.append(f"the totals table on page {totals.page} counts {count} commitment(s) "
                                    f"'{level}', the statuses read {read.get(level, 0)}")
            total = totals.total if totals.total is not None else sum(totals.counts.values())
            if total != len(ex.sections):
                ex.flags.append(f"the totals table on page {totals.page} counts {total} commitments; "
                                f"{len(ex.sections)} were found")
        return doc
