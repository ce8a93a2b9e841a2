"""Tables: the table regions of a page, read cell by cell into `Table`s.

Two ways a table is found:

- **Ruling lines**. The geometry is pdfplumber's table finder — edges snapped and joined, their
  intersections, the cells four intersections close, the tables the cells form (`pdfplumber.table`):
  pdfplumber is the right tool for tables and ruling lines. Its PDF parse is not (pdfminer reads ~2
  pages/s, PDFium ~50), so the edges are not pdfplumber's. On a text-layer page they come from the
  page's path objects as PDFium read them with the rest of the text layer (`ingest.pdf`, each
  straight axis-aligned segment of a stroked or filled path, as pdfplumber takes a rectangle's four
  sides and a line's one). On a scan they come from its pixels (`image_rules`: long thin dark runs
  along the rows and the columns, the sides of a filled area), and a tilted scan's edges and words
  are turned upright by the tilt its lines show before the cells are made.
- **Aligned words** (scans, and the unruled tables of a text layer): a run of visual rows whose
  words fall into segments (word groups split by a gap wider than a word space) starting at the same
  three or more column positions, each position recurring in the run's rows. Nothing is tied to one
  generator's geometry: positions, gaps and tolerances are measured in the page's own line height.
  Two columns are not enough: a two-column page of prose aligns the same way.

Each cell keeps its box, its text (its words in line order), the mark it holds alone ("x", "✓",
"■": a choice ticked in its column) and the page lines its words are on. The lines stay in the
page's reading order too: the cells say which of them are a table's.
"""
from __future__ import annotations

import math
import re
import statistics
from bisect import bisect_right

import numpy as np
from PIL import Image

from pdfplumber.table import cells_to_tables, edges_to_intersections, intersections_to_cells, merge_edges

from pipeline.models import BBox, Cell, Line, Table, TableRow, Word

Edge = tuple[str, float, float, float]
"""An axis-aligned segment in page points, origin top-left: ("h", y, x0, x1) or ("v", x, top, bottom)."""

MARKS = frozenset("xX✓✔✗✘■☒☑●◼▪√✅ü\uf0fb\uf0fc\uf0fd\uf0fe")
"""A cell holding only one of these is a mark in its column (a level ticked in an IRM grid). "ü" and
U+F0FB-U+F0FE are the ballot marks of the Wingdings font (✗ ✓ ☒ ☑ at 0xFB-0xFE) as a text layer
without a Unicode map gives them."""

# pdfplumber's defaults for its "lines" strategy (points): pieces of one border within SNAP of each
# other are one border, collinear pieces less than JOIN apart are joined, borders meet within
# INTERSECT, and a border shorter than MIN_EDGE (after joining) is a tick, not a border.
SNAP = 3.0
JOIN = 3.0
INTERSECT = 3.0
MIN_EDGE = 3.0
MIN_FILLED = 0.15
"""A grid with fewer of its cells holding text is a page design (a cover's pattern), not a table:
a sparse table (an IRM grid, one mark per group of level columns) fills a fifth or more."""


def find_tables(lines: list[Line], edges: list[Edge], width: float, height: float,
                tilted: bool = False) -> list[Table]:
    """The page's tables, top to bottom: those its ruling lines draw, then those its aligned words
    form outside them. `tilted`: a scan, its rules found in its pixels: they are read along the
    tilt its lines of words show, and a ruled table whose words Tesseract read poorly is a
    picture's lines, not a table."""
    words = [(w, ln.line) for ln in lines for w in ln.words if w.bbox is not None]
    tables = []
    if edges:
        slope = _slope(words) if tilted else 0.0
        if slope:
            upright = [(w.model_copy(update={"bbox": _turn(w.bbox, slope)}), n) for w, n in words]
            tables = [_turned_back(t, slope) for t in ruled_tables(upright, _upright_edges(edges, slope), width, height)]
        else:
            tables = ruled_tables(words, edges, width, height)
        if tilted:
            tables = [t for t in tables if _read_well(t, words)]
    outside = [(w, n) for w, n in words if not any(_inside(w.bbox, t.bbox) for t in tables)]
    tables += aligned_tables(outside)
    return sorted(tables, key=lambda t: (t.bbox.top, t.bbox.x0))


def cell_order(lines: list[Line], tables: list[tuple[int, Table]]) -> list[Line]:
    """`lines` with each ruled table's lines read cell by cell (row by row, each row's cells left to
    right, a cell's lines together) where the page's reading order ran across the cells by height:
    a label set over two lines of its cell ("Institución" / "responsable") is one label again, a
    value wrapped in its cell one value. A table's lines take the place of its first line; lines
    keep their numbers. `tables`: (page, table); only ruled ones are read so (a table found from
    aligned words alone keeps the page's order: two columns of prose can align into one)."""
    order: dict[tuple[int, int], tuple[int, int]] = {}  # (page, line) → (table, its place in cell order)
    for k, (page, table) in enumerate(tables):
        if table.method != "ruling-lines":
            continue
        cells = [c for row in table.rows for c in sorted(row.cells, key=lambda c: c.column)]
        for rank, n in enumerate(dict.fromkeys(n for c in cells for n in c.lines)):
            order.setdefault((page, n), (k, rank))
    if not order:
        return lines
    held: dict[int, list[tuple[int, Line]]] = {}
    for ln in lines:
        if (at := order.get((ln.page, ln.line))) is not None:
            held.setdefault(at[0], []).append((at[1], ln))
    out: list[Line] = []
    for ln in lines:
        at = order.get((ln.page, ln.line))
        if at is None:
            out.append(ln)
        elif at[0] in held:
            out += [cell_line for _, cell_line in sorted(held.pop(at[0]), key=lambda x: x[0])]
    return out


# ------------------------------------------------------------------------------ ruling lines
def ruled_tables(words: list[tuple[Word, int]], edges: list[Edge], width: float, height: float) -> list[Table]:
    """Tables drawn by ruling lines: at least two rows, a row of two cells or more, and two cells
    with text (a colour bar of adjacent boxes, a framed paragraph or a chart's grid is not one)."""
    plumber = []
    for kind, pos, a, b in edges:
        a, b = max(a, 0.0), min(b, width if kind == "h" else height)
        if b - a < 1 or not 0 <= pos <= (height if kind == "h" else width):
            continue  # off the page (a bleed decoration) or a dot
        if kind == "h":
            plumber.append({"x0": a, "x1": b, "top": pos, "bottom": pos, "width": b - a, "height": 0.0,
                            "orientation": "h"})
        else:
            plumber.append({"x0": pos, "x1": pos, "top": a, "bottom": b, "width": 0.0, "height": b - a,
                            "orientation": "v"})
    merged = merge_edges(plumber, SNAP, SNAP, JOIN, JOIN)
    merged = [e for e in merged if (e["width"] if e["orientation"] == "h" else e["height"]) >= MIN_EDGE]
    cells = intersections_to_cells(edges_to_intersections(merged, INTERSECT, INTERSECT))
    tables = []
    for boxes in cells_to_tables(cells):
        table = _grid_table([BBox(x0=c[0], top=c[1], x1=c[2], bottom=c[3]) for c in boxes], words)
        if table is not None:
            tables.append(table)
    return tables


SCAN_TABLE_CONF = 60.0
"""On a scan, a ruled table's words have at least this median OCR confidence: the boxes a picture's
or a pattern's lines close hold Tesseract's guesses (medians 18-31 on the photos and the cover
pattern of two real plans, 96 on a scanned table)."""


def _read_well(table: Table, words: list[tuple[Word, int]]) -> bool:
    confs = [w.conf for w, _ in words if w.conf is not None and _inside(w.bbox, table.bbox)]
    return bool(confs) and statistics.median(confs) >= SCAN_TABLE_CONF


def _turn(box: BBox, slope: float, back: bool = False) -> BBox:
    """`box` in the frame turned by the page's tilt (`slope`, dy/dx) so that its lines lie level
    (x' = x + s·y, y' = y - s·x); `back`: from that frame to the page's. The box of the turned corners."""
    s = -slope if back else slope
    k = 1 / (1 + s * s) if back else 1.0
    corners = [((x + s * y) * k, (y - s * x) * k) for x in (box.x0, box.x1) for y in (box.top, box.bottom)]
    return BBox(x0=min(c[0] for c in corners), top=min(c[1] for c in corners),
                x1=max(c[0] for c in corners), bottom=max(c[1] for c in corners))


def _upright_edges(edges: list[Edge], slope: float) -> list[Edge]:
    """Edges of a tilted page in the turned frame (see `_turn`): each piece of a rule, short on a
    tilted scan (it steps a pixel every 1/slope), at its middle's turned position."""
    out = []
    for kind, pos, a, b in edges:
        if kind == "h":
            mid = (a + b) / 2
            out.append(("h", pos - slope * mid, a + slope * pos, b + slope * pos))
        else:
            mid = (a + b) / 2
            out.append(("v", pos + slope * mid, a - slope * pos, b - slope * pos))
    return out


def _turned_back(table: Table, slope: float) -> Table:
    """A table found in the turned frame with its boxes on the page."""
    for row in table.rows:
        for cell in row.cells:
            cell.bbox = _turn(cell.bbox, slope, back=True)
        row.bbox = BBox.union([c.bbox for c in row.cells])
    table.bbox = BBox.union([r.bbox for r in table.rows])
    return table


def _grid_table(boxes: list[BBox], words: list[tuple[Word, int]]) -> Table | None:
    xs = _positions([b.x0 for b in boxes] + [b.x1 for b in boxes])
    ys = _positions([b.top for b in boxes] + [b.bottom for b in boxes])
    if len(ys) < 3 or len(xs) < 3:
        return None  # fewer than two rows or two columns
    cells = []
    for b in boxes:
        col, row = _index(xs, b.x0), _index(ys, b.top)
        cells.append(Cell(row=row, column=col, row_span=max(1, _index(ys, b.bottom) - row),
                          column_span=max(1, _index(xs, b.x1) - col), bbox=b))
    _fill(cells, words)
    filled = sum(1 for c in cells if c.text)
    if filled < 2 or filled < MIN_FILLED * len(cells) or not _has_row_of_two(cells):
        return None
    return _table(cells, "ruling-lines", len(xs) - 1)


def _positions(values: list[float], tol: float = 1.0) -> list[float]:
    """Distinct coordinates, those within `tol` of the previous one taken as the same."""
    out: list[float] = []
    for v in sorted(values):
        if not out or v - out[-1] > tol:
            out.append(v)
    return out


def _index(positions: list[float], value: float) -> int:
    """Index of the position `value` is (nearest below, within the clustering's tolerance)."""
    return max(0, bisect_right(positions, value + 1.0) - 1)


def _has_row_of_two(cells: list[Cell]) -> bool:
    rows: dict[int, int] = {}
    for c in cells:
        rows[c.row] = rows.get(c.row, 0) + 1
    return any(n >= 2 for n in rows.values())


# ------------------------------------------------------------------------------ rules in a scan
RULE_DPI = 100
"""Rules are looked for at about this resolution: each block of the scan's pixels is dark if any of
its pixels is (a hairline stays one), and a page costs ~1 M pixels, not 9."""
DARK = 160
"""A pixel darker than this (0-255) is ink: a black or grey rule, blurred or on a noisy scan; a
light cell shading (~200 and up) is not."""
RULE_MIN = 24.0
"""A dark run at least this long (points) along a row or a column of pixels is a piece of a rule.
A tilted rule steps a pixel every 1/tilt: at 1° its pieces are ~80 points long. Letters' strokes
are shorter (the stem of a 24-point capital is ~17 points)."""
RULE_THICK = 4.0
"""A rule is at most this thick (points); of a filled area (a dark header row, a picture) only its
sides are edges, as pdfplumber takes a filled rectangle's."""


def image_rules(image, width: float, height: float):
    """The ruling lines of a scanned page (a gray PIL image of the page, `width` x `height` points):
    the edges, in points, of every piece of a horizontal or vertical rule and of the sides of a
    filled area; and the image with those pixels whited out, for Tesseract to read (None when the
    page has no rule). Tesseract's page segmentation drops text boxed in by rules: on a ruled grid
    it read 2 of 5 header cells and none of the marks, and all of them once the rules were gone."""
    k = max(1, round(image.width * 72 / width / RULE_DPI))
    gray = np.asarray(image if image.mode == "L" else image.convert("L"))
    rows, columns = gray.shape[0] // k, gray.shape[1] // k
    if rows == 0 or columns == 0:
        return [], None
    dark = (gray[:rows * k, :columns * k] < DARK).reshape(rows, k, columns, k).any(axis=(1, 3))
    px, py = width / columns, height / rows
    across = _rule_pixels(dark, round(RULE_MIN / px), math.ceil(RULE_THICK / py))
    down = _rule_pixels(dark.T, round(RULE_MIN / py), math.ceil(RULE_THICK / px)).T
    edges: list[Edge] = [("h", (y + 0.5) * py, a * px, b * px) for y, a, b in _runs(across)]
    edges += [("v", (x + 0.5) * px, a * py, b * py) for x, a, b in _runs(down.T)]
    if not edges:
        return [], None
    blocks = across | down
    blocks[1:] |= blocks[:-1].copy()  # and the blocks beside them: a rule's blurred, lighter fringe
    blocks[:-1] |= blocks[1:].copy()
    blocks[:, 1:] |= blocks[:, :-1].copy()
    blocks[:, :-1] |= blocks[:, 1:].copy()
    cleaned = gray.copy()
    cleaned[:rows * k, :columns * k][np.repeat(np.repeat(blocks, k, axis=0), k, axis=1)] = 255
    return edges, Image.fromarray(cleaned)


def _rule_pixels(dark: np.ndarray, length: int, thick: int) -> np.ndarray:
    """The pixels of `dark` in pieces of rule along its rows: runs of dark pixels at least `length`
    long, without the pixels inside a filled area (those with such runs `thick` + 1 rows both above
    and below them)."""
    run = _in_runs(dark, length)
    gap = thick + 1
    above, below = np.zeros_like(run), np.zeros_like(run)
    above[gap:], below[:-gap] = run[:-gap], run[gap:]
    return _in_runs(run & ~(above & below), length)


def _runs(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """The runs of `mask` along its rows, as (row, start, end) in pixels."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)  # row by row, left to right: each start with its end
    _, ends = np.nonzero(step == -1)
    return list(zip(rows.tolist(), starts.tolist(), ends.tolist()))


def _in_runs(dark: np.ndarray, length: int) -> np.ndarray:
    """The pixels of `dark` that lie in a run of at least `length` dark pixels along their row."""
    n, w = dark.shape
    if length < 1 or length > w:
        return np.zeros_like(dark)
    sums = np.zeros((n, w + 1), dtype=np.int32)
    np.cumsum(dark, axis=1, out=sums[:, 1:])
    full = np.zeros((n, w), dtype=np.int32)  # a run of `length` starts here
    full[:, :w - length + 1] = (sums[:, length:] - sums[:, :w - length + 1]) == length
    starts = np.zeros((n, w + 1), dtype=np.int32)
    np.cumsum(full, axis=1, out=starts[:, 1:])
    lo = np.maximum(np.arange(w) - length + 1, 0)
    return (starts[:, 1:] - starts[:, lo]) > 0


# ------------------------------------------------------------------------------ aligned words
CELL_GAP = 0.8
"""Words further apart than this many line heights are in different cells (a word space is ~0.3)."""
ALIGN = 1.0
"""Segments starting within this many line heights of a column position start in that column."""
ROW_LEAD = 0.35
"""A visual row this many line heights further below the previous than the leading within a cell opens a new row."""
MAX_ROW_GAP = 2.5
"""Visual rows more than this many line heights apart are not one table."""
MIN_COLUMNS = 3
"""A table shows this many columns in at least MIN_ROWS of its visual rows (two columns of prose
align in two)."""
MIN_ROWS = 2
OFF_COLUMN = 0.1
"""At most this share of a table's segments start off its columns (a header cell spanning two)."""
_LIST_MARKER = re.compile(r"^(?:[•·◦‣*\-–—]|[IVXLCivxlc]{1,6}[.)]|\d{1,2}[.)]|[a-zA-Z][.)])$")


def aligned_tables(words: list[tuple[Word, int]]) -> list[Table]:
    """Tables of words aligned in columns (no ruling lines needed)."""
    if len(words) < 2 * MIN_COLUMNS:
        return []
    h = statistics.median(w.bbox.bottom - w.bbox.top for w, _ in words)
    if h <= 0:
        return []
    slope = _slope(words)
    bands = [_segments(band, h) for band in _bands(words, slope)]
    tables, run = [], []
    for band in bands + [None]:  # None: the end of the page closes the last run
        if band is not None and run and _top(band) - _bottom(run[-1]) <= MAX_ROW_GAP * h \
                and (len(band) >= 2 or _fits(band, run, h)):
            run.append(band)
            continue
        table = _run_table(run, h, slope)
        if table is not None:
            tables.append(table)
        run = [band] if band is not None and len(band) >= 2 else []
    return tables


def _slope(words: list[tuple[Word, int]]) -> float:
    """The page's tilt (dy/dx) as its lines show it: the median slope from the first to the last
    word of each line of four words or more (a scan tilted by 1° drifts 9 points across a page's
    width, more than half a line: rows are banded along the tilt, not the page's axes)."""
    ends: dict[int, list[Word]] = {}
    counts: dict[int, int] = {}
    for w, n in words:
        counts[n] = counts.get(n, 0) + 1
        ends.setdefault(n, [w, w])[1] = w
    slopes = []
    for n, (a, b) in ends.items():
        dx = b.bbox.x0 - a.bbox.x0
        if counts[n] >= 4 and dx > 0:
            slopes.append((b.bbox.top + b.bbox.bottom - a.bbox.top - a.bbox.bottom) / 2 / dx)
    return statistics.median(slopes) if slopes else 0.0


def _bands(words: list[tuple[Word, int]], slope: float = 0.0) -> list[list[tuple[Word, int]]]:
    """Words in visual rows: a word joins the row whose middle (along the page's tilt) its own
    middle is within half a height of; rows top to bottom, words left to right."""
    def middle(w: Word) -> float:
        return (w.bbox.top + w.bbox.bottom) / 2 - slope * w.bbox.x0

    bands: list[list[tuple[Word, int]]] = []
    middles: list[float] = []
    for w, n in sorted(words, key=lambda p: middle(p[0])):
        mid = middle(w)
        if bands and abs(mid - middles[-1]) <= 0.5 * (w.bbox.bottom - w.bbox.top):
            bands[-1].append((w, n))
        else:
            bands.append([(w, n)])
            middles.append(mid)
    return [sorted(b, key=lambda p: p[0].bbox.x0) for b in bands]


def _segments(band: list[tuple[Word, int]], h: float) -> list[list[tuple[Word, int]]]:
    """A visual row cut where words are a cell gap apart; a list marker set apart by a tab stop
    (a bullet, "IV.", "3)") stays with the text it marks: a list is not a column of cells."""
    parts = [[band[0]]]
    for prev, cur in zip(band, band[1:]):
        if cur[0].bbox.x0 - prev[0].bbox.x1 > CELL_GAP * h and not (
                len(parts[-1]) == 1 and _LIST_MARKER.match(parts[-1][0][0].text)):
            parts.append([])
        parts[-1].append(cur)
    return parts


def _top(band) -> float:
    return min(w.bbox.top for seg in band for w, _ in seg)


def _bottom(band) -> float:
    return max(w.bbox.bottom for seg in band for w, _ in seg)


def _fits(band, run, h: float) -> bool:
    """A one-segment visual row inside a run (a cell's wrapped line) starts where a segment of the
    run started; at the run's left edge it must end before the next column starts (prose under a
    table runs across it)."""
    x0, x1 = band[0][0][0].bbox.x0, band[0][-1][0].bbox.x1
    starts = sorted({seg[0][0].bbox.x0 for b in run for seg in b})
    if not any(abs(x0 - s) <= ALIGN * h for s in starts):
        return False
    later = [s for s in starts if s > starts[0] + ALIGN * h]
    return x0 > starts[0] + ALIGN * h or not later or x1 < later[0]


def _run_table(run, h: float, slope: float) -> Table | None:
    columns = _columns([seg[0][0].bbox.x0 for b in run for seg in b], h)
    if len(columns) < MIN_COLUMNS or sum(1 for b in run if len(b) >= MIN_COLUMNS) < MIN_ROWS:
        return None
    segments = [seg for b in run for seg in b]
    if sum(1 for seg in segments if _column_of(seg[0][0].bbox.x0, columns, h) is None) > OFF_COLUMN * len(segments):
        return None  # segments starting anywhere: prose with wide gaps, not cells

    def column(seg) -> int:  # an aligned segment's column, else the column it starts in
        k = _column_of(seg[0][0].bbox.x0, columns, h)
        return k if k is not None else max(0, bisect_right(columns, seg[0][0].bbox.x0) - 1)

    rows = _rows(run, h, slope)
    right = [max([w.bbox.x1 for seg in segments if column(seg) == k for w, _ in seg] or [columns[k]])
             for k in range(len(columns))]
    cells = []
    for r, row in enumerate(rows):
        top, bottom = _top(row[0]), _bottom(row[-1])
        for k in range(len(columns)):
            words = [p for b in row for seg in b if column(seg) == k for p in seg]
            if words:
                cells.append(Cell(row=r, column=k, bbox=BBox(x0=columns[k], top=top, x1=right[k], bottom=bottom)))
                _fill(cells[-1:], words)
    full = sum(1 for r in range(len(rows)) if sum(1 for c in cells if c.row == r and c.text) >= 2)
    if full < max(MIN_ROWS, len(rows) / 2):
        return None  # a chart's labels: most of its rows hold one label (an axis tick)
    return _table(cells, "aligned-words", len(columns))


def _columns(starts: list[float], h: float) -> list[float]:
    """Column positions: clusters of segment starts (within ALIGN line heights) found in at least
    two visual rows; each at its leftmost start."""
    clusters: list[list[float]] = []
    for s in sorted(starts):
        if clusters and s - clusters[-1][0] <= ALIGN * h:
            clusters[-1].append(s)
        else:
            clusters.append([s])
    return [c[0] for c in clusters if len(c) >= 2]


def _column_of(x0: float, columns: list[float], h: float) -> int | None:
    for k, c in enumerate(columns):
        if abs(x0 - c) <= ALIGN * h:
            return k
    return None


def _rows(run, h: float, slope: float) -> list[list]:
    """The run's visual rows grouped into table rows: a row opens where the step down from the
    previous visual row (along the tilt) is clearly larger than the leading within a cell (the
    table's lower quartile of steps); with even spacing throughout, every visual row is a row."""
    middles = [statistics.median((w.bbox.top + w.bbox.bottom) / 2 - slope * w.bbox.x0 for seg in b for w, _ in seg)
               for b in run]
    steps = [b - a for a, b in zip(middles, middles[1:])]
    if not steps:
        return [run]
    base = sorted(steps)[(len(steps) - 1) // 4]
    rows = [[run[0]]]
    for band, step in zip(run[1:], steps):
        if step > base + ROW_LEAD * h:
            rows.append([])
        rows[-1].append(band)
    return rows


# ---------------------------------------------------------------------------------- cells
def _fill(cells: list[Cell], words: list[tuple[Word, int]]) -> None:
    """Each word (by its middle) into the cell holding it; a cell's text is its words in line
    order (the page's reading order), one line of text per page line."""
    held: dict[int, list[tuple[Word, int]]] = {}
    for w, n in words:
        x, y = (w.bbox.x0 + w.bbox.x1) / 2, (w.bbox.top + w.bbox.bottom) / 2
        for k, c in enumerate(cells):
            if c.bbox.x0 <= x <= c.bbox.x1 and c.bbox.top <= y <= c.bbox.bottom:
                held.setdefault(k, []).append((w, n))
                break
    for k, inside in held.items():
        by_line: dict[int, list[Word]] = {}
        for w, n in inside:
            by_line.setdefault(n, []).append(w)
        cell = cells[k]
        cell.lines = sorted(by_line)
        cell.text = "\n".join(" ".join(w.text for w in sorted(by_line[n], key=lambda w: w.bbox.x0))
                              for n in cell.lines)
        cell.mark = mark_of(cell.text)


def mark_of(text: str) -> str | None:
    """The mark `text` is alone (a choice ticked), or None: one of MARKS, or one read twice
    (Tesseract reads a lone "x" as "Xx"), with any specks beside it (punctuation: "*x")."""
    bare = "".join(c for c in text if c in MARKS or c.isalnum())
    if 1 <= len(bare) <= 3 and bare[0] in MARKS and len({c.lower() for c in bare}) == 1:
        return bare[0]
    return None


def _table(cells: list[Cell], method: str, columns: int) -> Table:
    rows: dict[int, list[Cell]] = {}
    for c in cells:
        rows.setdefault(c.row, []).append(c)
    return Table(
        bbox=BBox.union([c.bbox for c in cells]), method=method, columns=columns,
        rows=[TableRow(bbox=BBox.union([c.bbox for c in rows[r]]), cells=sorted(rows[r], key=lambda c: c.column))
              for r in sorted(rows)],
    )


def _inside(box: BBox, outer: BBox) -> bool:
    x, y = (box.x0 + box.x1) / 2, (box.top + box.bottom) / 2
    return outer.x0 <= x <= outer.x1 and outer.top <= y <= outer.bottom
