"""Text accuracy against hand-corrected gold, line by line.

What is compared, and what is left out (each exclusion is counted, never silent):
- footnote markers `[^N]` are removed from both sides, quotes are folded (`“”„` → `"`, `‘’` → `'`),
  the table-cell separator ` | ` of the gold is dropped, whitespace is folded;
- `⟦ilegible⟧` in the gold stands for text nobody can read (a stamp over the words, garble): it
  absorbs, at no cost, the raw words that sit in its place, so a line is scored on its legible part;
- every non-blank raw line is matched to the gold line it transcribes (accent- and case-folded
  fuzzy match, preferring the gold line next to the previous match, so a reading-order slip costs
  nothing); raw lines that match no gold line (footnote text or stamp fragments the layout left in
  the body) and gold lines no raw line transcribes (text the layout put elsewhere, lines the OCR lost)
  are left out and counted;
- a table row of the gold (cells separated by ` | `) is compared without word order, since the OCR
  reads a table's cells in no defined order: word errors are the words that the row and its raw lines
  do not share (max of the two counts minus the shared multiset), characters are compared on the
  words sorted.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

_MARKER = re.compile(r"\[\^\d+\]")
ILLEGIBLE = "⟦ilegible⟧"
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
MATCH = 62  # fuzzy score (0-100) from which a raw line transcribes a gold line
SHORT = 12  # folded raw lines shorter than this only match near the expected gold line


def normalize(text: str) -> str:
    """Markers out, quotes folded, table separators out, `⟦ilegible⟧` a token of its own,
    whitespace folded."""
    text = _MARKER.sub("", text).translate(_QUOTES).replace(ILLEGIBLE, f" {ILLEGIBLE} ")
    return " ".join(t for t in text.split() if t != "|")


def words(text: str) -> list[str]:
    return normalize(text).split()


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", normalize(text).replace(ILLEGIBLE, " ").lower())
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch)).split())


def align_words(ref: list[str], hyp: list[str]) -> tuple[int, list[str]]:
    """Word edit distance of `hyp` to `ref` where a `⟦ilegible⟧` in `ref` absorbs any run of `hyp`
    words for free; returns the distance and the `hyp` words left after removing the absorbed ones."""
    if ILLEGIBLE not in ref:
        return Levenshtein.distance(ref, hyp), hyp
    n, m = len(ref), len(hyp)
    inf = n + m + 1
    d = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int, bool]]] = [[(0, 0, False)] * (m + 1) for _ in range(n + 1)]
    d[0][0] = 0
    for i in range(n + 1):
        wild = i > 0 and ref[i - 1] == ILLEGIBLE
        for j in range(m + 1):
            if i == j == 0:
                continue
            options = []
            if i > 0:
                options.append((d[i - 1][j] + (0 if wild else 1), (i - 1, j, False)))
            if j > 0:  # a hyp word inserted, or eaten by the wildcard
                options.append((d[i][j - 1] + (0 if wild else 1), (i, j - 1, not wild)))
            if i > 0 and j > 0:
                cost = 0 if wild or ref[i - 1] == hyp[j - 1] else 1
                options.append((d[i - 1][j - 1] + cost, (i - 1, j - 1, not wild)))
            d[i][j], back[i][j] = min(options)
    kept, i, j = [], n, m
    while i or j:
        pi, pj, keep = back[i][j]
        if keep and pj < j:
            kept.append(hyp[j - 1])
        i, j = pi, pj
    return d[n][m], kept[::-1]


def match_lines(gold_lines: list[str], raw_lines: list[str]) -> list[int | None]:
    """For each raw line, the index of the gold line it transcribes, or None. Chosen by fuzzy score
    on folded text, with a small penalty for distance from the gold line after the previous match."""
    folded_gold = [_fold(g) for g in gold_lines]
    folded_cells = [[_fold(c) for c in g.split(" | ")] if " | " in g else [] for g in gold_lines]
    out: list[int | None] = []
    expected = 0
    for raw in raw_lines:
        r = _fold(raw)
        if not r:
            out.append(None)
            continue
        best, best_score = None, float("-inf")
        for j, g in enumerate(folded_gold):
            if not g:
                continue
            distance = min(abs(j - expected), abs(j - expected - 1))
            if len(r) < SHORT and distance > 2:
                continue
            if len(r) < SHORT:  # a fragment: the whole gold line, or a cell's or line's start or end
                score = max(fuzz.ratio(r, piece[:len(r)]) if side == 0 else fuzz.ratio(r, piece[-len(r):])
                            for piece in [g, *folded_cells[j]] for side in (0, 1))
            else:
                score = fuzz.partial_ratio(r, g) if len(r) <= len(g) else fuzz.ratio(r, g)
            if score < MATCH:
                continue
            score -= min(distance, 15)
            if score > best_score:
                best, best_score = j, score
        out.append(best)
        if best is not None:
            expected = best
    return out


@dataclass
class PageScore:
    """Edit counts of one page: raw and repaired against the gold, over the matched lines."""
    ref_words: int = 0
    ref_chars: int = 0
    raw_word_errors: int = 0
    raw_char_errors: int = 0
    rep_word_errors: int = 0
    rep_char_errors: int = 0
    correct_in_raw: int = 0
    correct_made_wrong: int = 0
    unmatched_raw_lines: list[str] = field(default_factory=list)
    unmatched_gold_words: int = 0
    illegible_spans: int = 0

    def add(self, other: "PageScore") -> None:
        for name in self.__dataclass_fields__:
            value = getattr(other, name)
            setattr(self, name, getattr(self, name) + value)

    def rates(self) -> dict:
        w, c = max(self.ref_words, 1), max(self.ref_chars, 1)
        return {"raw_cer": self.raw_char_errors / c, "raw_wer": self.raw_word_errors / w,
                "repaired_cer": self.rep_char_errors / c, "repaired_wer": self.rep_word_errors / w,
                "correct_made_wrong": self.correct_made_wrong / max(self.correct_in_raw, 1)}


def _right_words(ref: list[str], hyp: list[str]) -> dict[int, bool]:
    """Reference positions aligned one-to-one with a hypothesis word → whether that word is right."""
    out = {}
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(ref, hyp).as_list():
        if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
            for k in range(i2 - i1):
                out[i1 + k] = ref[i1 + k] == hyp[j1 + k]
    return out


def correct_made_wrong(ref: list[str], raw: list[str], repaired: list[str]) -> tuple[int, int]:
    """(reference words the raw text had right and the repair made wrong, reference words the raw
    text had right)."""
    right_raw, right_rep = _right_words(ref, raw), _right_words(ref, repaired)
    right = [k for k, ok in right_raw.items() if ok]
    return sum(1 for k in right if right_rep.get(k) is False), len(right)


def _bag_order(ref: list[str], hyp: list[str]) -> list[str]:
    """`hyp` reordered so that the words it shares with `ref` line up with them (ref sorted), the
    others after: the order-free comparison of a table row."""
    left = sorted(ref)
    pool = list(hyp)
    shared = []
    for w in left:
        if w in pool:
            pool.remove(w)
            shared.append(w)
    out, k = [], 0
    extra = sorted(pool)
    for w in left:
        if k < len(shared) and shared[k] == w:
            out.append(w)
            k += 1
        elif extra:
            out.append(extra.pop(0))
    return out + extra


def score_page(gold: str, raw_lines: list[str], repaired_lines: list[str]) -> PageScore:
    """Score raw and repaired lines (parallel lists: repaired_lines[i] is the repair of raw_lines[i])
    against the gold page, line by line; the line matching uses the raw text only, so raw and
    repaired are measured over exactly the same lines."""
    gold_lines = [g for g in gold.splitlines() if g.strip()]
    matches = match_lines(gold_lines, raw_lines)
    groups: dict[int, list[int]] = {}
    score = PageScore()
    for i, j in enumerate(matches):
        if j is None:
            if _fold(raw_lines[i]):
                score.unmatched_raw_lines.append(raw_lines[i])
        else:
            groups.setdefault(j, []).append(i)
    for j, g in enumerate(gold_lines):
        ref = words(g)
        if j not in groups:
            score.unmatched_gold_words += sum(w != ILLEGIBLE for w in ref)
            continue
        score.illegible_spans += ref.count(ILLEGIBLE)
        raw = [w for i in groups[j] for w in words(raw_lines[i])]
        rep = [w for i in groups[j] for w in words(repaired_lines[i])]
        if " | " in g:
            ref, raw, rep = sorted(ref), _bag_order(ref, raw), _bag_order(ref, rep)
        d_raw, raw_kept = align_words(ref, raw)
        d_rep, rep_kept = align_words(ref, rep)
        legible = [w for w in ref if w != ILLEGIBLE]
        score.ref_words += len(legible)
        score.raw_word_errors += d_raw
        score.rep_word_errors += d_rep
        ref_text = " ".join(legible)
        score.ref_chars += len(ref_text)
        score.raw_char_errors += Levenshtein.distance(ref_text, " ".join(raw_kept))
        score.rep_char_errors += Levenshtein.distance(ref_text, " ".join(rep_kept))
        broken, right = correct_made_wrong(legible, raw_kept, rep_kept)
        score.correct_in_raw += right
        score.correct_made_wrong += broken
    return score


def score_text(reference: str, hypothesis: str) -> tuple[float, float]:
    """(CER, WER) of a whole hypothesis text against a reference, whitespace folded: for texts that
    correspond as a whole (e.g. clean text fed back through the repair)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    return (Levenshtein.distance(ref, hyp) / max(len(ref), 1),
            Levenshtein.distance(ref.split(), hyp.split()) / max(len(ref.split()), 1))
