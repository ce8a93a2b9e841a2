"""Page furniture found from recurrence: lines that come back, near-identical, at the top or bottom
of many pages (running headers, address footers, page numbers, stamps).

No furniture text is hard-coded: a line is furniture when a cluster of similar lines recurs in the
head or tail zone of enough distinct pages. OCR garbles furniture differently on each page and often
splits a footer across the two column chunks, so similarity is fuzzy (rapidfuzz partial ratio) and
each member records which part of the cluster's longest ("canonical") line it covers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz

_DIGITS = re.compile(r"\d+")
_TRAILING_NUMBER = re.compile(r"(?:^|\s)(\d{1,3})\s*$")
PAGE_NUMBER_LINE = re.compile(
    r"^\W{0,3}(?:p[áa]g(?:ina)?\.?\s*)?(\d{1,3})(?:\s*(?:de|/)\s*\d{1,3})?\W{0,3}$", re.IGNORECASE
)

MIN_LEN = 15  # shorter lines carry too little text to tell furniture from body
SIMILARITY = 80  # partial-ratio threshold on digit-normalized, lower-cased text
MIN_SHARE = 0.3  # a cluster must touch at least this share of the segments …
MIN_SEGMENTS = 3  # … and at least this many distinct segments


def normalize(text: str) -> str:
    return _DIGITS.sub("#", " ".join(text.lower().split()))


@dataclass
class Candidate:
    segment: int  # index of the page/chunk the line is in
    index: int  # index of the line within the caller's list
    text: str
    norm: str = field(init=False)

    def __post_init__(self) -> None:
        self.norm = normalize(self.text)


@dataclass
class FurnitureLine:
    index: int
    segment: int
    text: str
    cluster: int  # clusters are numbered by how many segments they touch, most first
    canonical: str  # the cluster's canonical line (normalized)
    start: float  # share of the canonical line where this fragment starts (0..1)
    end: float  # … and ends
    page_label: str | None  # trailing page number, if the fragment reaches the canonical's end


def find_recurring(
    candidates: list[Candidate], n_segments: int, min_share: float = MIN_SHARE
) -> list[FurnitureLine]:
    """Cluster candidate lines by fuzzy similarity; return members of clusters that recur in
    enough distinct segments, each with the part of the canonical line it covers."""
    # greedy clustering around the longest line: a member must resemble the cluster's canonical
    # line itself (no chaining through look-alike body lines, which single linkage would do)
    cands = sorted((c for c in candidates if len(c.norm) >= MIN_LEN), key=lambda c: -len(c.norm))
    clusters: list[list[Candidate]] = []
    for c in cands:
        for members in clusters:
            if fuzz.partial_ratio(c.norm, members[0].norm, score_cutoff=SIMILARITY):
                members.append(c)
                break
        else:
            clusters.append([c])

    # the canonical line of a recurring cluster is its member that most other candidates resemble
    # (a whole, legible footer), and the cluster is gathered again around it, so that both halves
    # of a footer split over two column chunks join it
    need = max(min(MIN_SEGMENTS, n_segments), int(min_share * n_segments + 0.999))
    kept: list[list[Candidate]] = []
    taken: set[int] = set()
    for members in sorted(clusters, key=lambda m: -len({c.segment for c in m})):
        if len({c.segment for c in members}) < need or any(m.index in taken for m in members):
            continue
        pool = [c for c in cands if c.index not in taken]

        def support(m: Candidate) -> int:
            return sum(1 for c in pool if fuzz.partial_ratio(c.norm, m.norm, score_cutoff=SIMILARITY))

        canonical = max(members, key=support)
        gathered = [canonical] + [
            c for c in pool
            if c is not canonical and fuzz.partial_ratio(c.norm, canonical.norm, score_cutoff=SIMILARITY)
        ]
        if len({c.segment for c in gathered}) >= need:
            kept.append(gathered)
            taken.update(c.index for c in gathered)
    found: list[FurnitureLine] = []
    for cluster, members in enumerate(kept):
        canonical = members[0].norm
        for m in members:
            al = fuzz.partial_ratio_alignment(m.norm, canonical)
            start, end = al.dest_start / len(canonical), al.dest_end / len(canonical)
            label = None
            if end >= 0.85:
                mt = _TRAILING_NUMBER.search(m.text)
                label = mt.group(1) if mt else None
            found.append(FurnitureLine(m.index, m.segment, m.text, cluster, canonical, start, end, label))
    return sorted(found, key=lambda f: f.index)


def resembles(text: str, canonical: str) -> bool:
    """Is `text` (anywhere on a page) a fragment of a known furniture line?"""
    norm = normalize(text)
    return len(norm) >= MIN_LEN and bool(fuzz.partial_ratio(norm, canonical, score_cutoff=SIMILARITY))
