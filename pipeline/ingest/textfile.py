"""OCR text dumps (.txt): pages from form feeds, or inferred where there are none.

Without form feeds, a dump keeps two weaker traces of its pages: OCR chunks (a line starting with a
single space opens a chunk: a page, or one column of a two-column page) and the recurring page
furniture at chunk ends (an address footer with the page number, split in halves when the OCR read
the columns apart). Chunks are grouped into pages from that evidence: a chunk whose tail reaches the
end of the recurring footer closes a page; otherwise a page closes once it holds about a full page of
lines, the full-page size being learned from the dump's own chunk sizes.
"""
from __future__ import annotations

import hashlib
import re
import statistics
from pathlib import Path

from pipeline.errors import EmptyInput
from pipeline.furniture import Candidate, find_recurring
from pipeline.models import Document, Line, Page, SourceKind

_CHUNK_START = re.compile(r"^ {1,3}\S")
TAIL_LINES = 3  # furniture is looked for in the last lines of each chunk …
HEAD_LINES = 2  # … and the first ones
CLOSE_SHARE = 0.7  # a page closes once it holds this share of a full page of lines


def decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text_report(path: Path) -> Document:
    raw = path.read_bytes()
    if not raw.strip():
        raise EmptyInput(str(path), "the text file is empty")
    text = decode(raw)
    if "\f" in text:
        pages = _pages_from_form_feeds(text)
    else:
        pages = _infer_pages(text.split("\n"))
    return Document(
        path=str(path),
        sha256=hashlib.sha256(raw).hexdigest(),
        source=SourceKind.TEXT_FILE,
        pages=[
            Page(number=i + 1, source=SourceKind.TEXT_FILE, lines=lines)
            for i, lines in enumerate(pages)
            if any(ln.text.strip() for ln in lines)
        ]
        or [Page(number=1, source=SourceKind.TEXT_FILE)],
    )


def _pages_from_form_feeds(text: str) -> list[list[Line]]:
    pages: list[list[Line]] = [[]]
    for lineno, line in enumerate(text.split("\n"), start=1):
        parts = line.split("\f")
        for k, part in enumerate(parts):
            if k:
                pages.append([])
            if part or k == 0:
                pages[-1].append(Line(text=part, page=len(pages), line=lineno))
    return _renumber(pages)


def _renumber(pages: list[list[Line]]) -> list[list[Line]]:
    kept = [p for p in pages if any(ln.text.strip() for ln in p)]
    for number, lines in enumerate(kept, start=1):
        for ln in lines:
            ln.page = number
    return kept


def _chunks(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) line-index ranges of OCR chunks; one chunk when the dump has no chunk marks."""
    starts = [i for i, ln in enumerate(lines) if _CHUNK_START.match(ln)]
    nonempty = sum(1 for ln in lines if ln.strip())
    # indentation used for paragraphs is not a chunk mark: chunks are few and long
    if len(starts) < 2 or len(starts) > 0.1 * max(nonempty, 1):
        return [(0, len(lines))]
    if starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, starts[1:] + [len(lines)]))


def _nonempty(lines: list[str], start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if lines[i].strip()]


def _tail_indices(lines: list[str], chunks: list[tuple[int, int]]) -> list[int]:
    return [i for s, e in chunks for i in _nonempty(lines, s, e)[-TAIL_LINES:]]


def _full_page_size(sizes: list[int]) -> float | None:
    """Lines on a full page, from chunk sizes: two modes (column chunks and whole-page chunks) give
    the larger one; one mode means every chunk is a page (None)."""
    if len(sizes) < 4:
        return None
    lo, hi = min(sizes), max(sizes)
    for _ in range(20):  # 1-D two-means
        mid = (lo + hi) / 2
        small = [s for s in sizes if s <= mid] or [lo]
        large = [s for s in sizes if s > mid] or [hi]
        lo, hi = statistics.mean(small), statistics.mean(large)
    return hi if hi >= 1.5 * lo and len(large) >= 2 and len(small) >= 2 else None


def _infer_pages(lines: list[str]) -> list[list[Line]]:
    chunks = _chunks(lines)
    if len(chunks) == 1:
        groups = _split_single_chunk(lines)
    else:
        groups = _group_chunks(lines, chunks)
    block_of = {i: k for k, (s, e) in enumerate(chunks) for i in range(s, e)}
    pages: list[list[Line]] = []
    for number, (start, end) in enumerate(groups, start=1):
        pages.append(
            [Line(text=lines[i], page=number, line=i + 1, block=block_of[i]) for i in range(start, end)]
        )
    return _renumber(pages)


def _group_chunks(lines: list[str], chunks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    candidates: list[Candidate] = []
    for seg, (start, end) in enumerate(chunks):
        idx = _nonempty(lines, start, end)
        for i in idx[-TAIL_LINES:] + idx[:HEAD_LINES]:
            candidates.append(Candidate(seg, i, lines[i]))
    # a footer split over two column chunks touches fewer chunks than pages: a lower share
    furniture = find_recurring(candidates, len(chunks), min_share=0.2)
    # the running footer is the tail cluster that recurs in most chunks; other recurring tails
    # (a URL cited in many footnotes) are not page ends
    tails = [f for f in furniture if f.index in set(_tail_indices(lines, chunks))]
    footer = min((f.cluster for f in tails), default=None)
    closes_page = {f.segment for f in tails if f.cluster == footer and f.end >= 0.85}
    sizes = [len(_nonempty(lines, s, e)) for s, e in chunks]
    full = _full_page_size(sizes)

    groups: list[tuple[int, int]] = []
    open_start, held = None, 0
    for seg, (start, end) in enumerate(chunks):
        if open_start is None:
            open_start, held = start, 0
        held += sizes[seg]
        if seg in closes_page or full is None or held >= CLOSE_SHARE * full:
            groups.append((open_start, end))
            open_start = None
    if open_start is not None:
        groups.append((open_start, chunks[-1][1]))
    return groups


def _split_single_chunk(lines: list[str]) -> list[tuple[int, int]]:
    """No form feeds, no chunk marks: break after lines that recur like a footer (with a digit:
    page number, address, phone) or that are a bare page number."""
    candidates = [
        Candidate(i, i, ln) for i, ln in enumerate(lines) if len(ln.strip()) >= 15 and re.search(r"\d", ln)
    ]
    furniture = find_recurring(candidates, max(len(lines) // 40, 1))
    breaks = sorted({f.index + 1 for f in furniture if f.end >= 0.85})
    bounds = [0] + [b for b in breaks if 0 < b < len(lines)] + [len(lines)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if a < b]
