"""Word repair: candidates from the confusion table, scored by a Spanish lexicon (wordfreq Zipf
frequencies) and by the document's own vocabulary.

A word is changed only with evidence: an unknown word gets the best known candidate; a known word is
replaced only by a much more frequent variant (e.g. an accent the OCR dropped); close calls are
flagged for review, not applied.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from wordfreq import zipf_frequency

from pipeline.repair.rules import Rules, load_rules

KNOWN = 2.5  # Zipf frequency from which a word counts as known Spanish
UNKNOWN = 1.0  # below this a word is not Spanish as printed
APPLY_MARGIN = 1.2  # a known word yields to a variant this much more frequent (10^1.2 ≈ 16×) …
FLAG_MARGIN = 0.5  # … and a variant between these margins is flagged for review
MAX_EDITS = 2


@lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    return zipf_frequency(word.lower(), "es")


@dataclass(frozen=True)
class Choice:
    replacement: str
    confidence: float
    applied: bool
    rule: str


def _match_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def candidates(word: str, rules: Rules) -> dict[str, float]:
    """Variants reachable by up to MAX_EDITS confusion-table substitutions, with their edit cost."""
    lower = word.lower()
    sites = []
    for c in rules.confusions:
        start = lower.find(c.wrong)
        while start >= 0:
            sites.append((start, start + len(c.wrong), c.right, c.cost))
            start = lower.find(c.wrong, start + 1)
    out: dict[str, float] = {}
    for k in range(1, MAX_EDITS + 1):
        for combo in combinations(sites, k):
            spans = sorted(combo)
            if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
                continue  # overlapping substitutions
            s, pos, cost = [], 0, 0.0
            for a, b, right, c in spans:
                s.append(lower[pos:a] + right)
                pos, cost = b, cost + c
            s.append(lower[pos:])
            variant = "".join(s)
            if variant != lower and cost < out.get(variant, 9):
                out[variant] = cost
    return out


@lru_cache(maxsize=100_000)
def _choose(word: str) -> Choice | None:
    rules = load_rules()
    base = zipf(word)
    best, best_score, best_cost = None, float("-inf"), 0.0
    for variant, cost in candidates(word, rules).items():
        z = zipf(variant)
        if z < KNOWN:
            continue
        score = z - cost
        if score > best_score:
            best, best_score, best_cost = variant, score, cost
    if best is None:
        return None
    gain = zipf(best) - base
    replacement = _match_case(word, best)
    if base < UNKNOWN:
        confidence = min(0.99, 0.6 + 0.08 * zipf(best) - 0.2 * best_cost)
        return Choice(replacement, round(confidence, 2), confidence >= 0.6, "lexicon")
    if gain >= APPLY_MARGIN:
        return Choice(replacement, round(min(0.95, 0.5 + 0.15 * gain), 2), True, "accent-frequency")
    if gain >= FLAG_MARGIN:
        return Choice(replacement, round(0.3 + 0.2 * gain, 2), False, "accent-frequency")
    return None


def choose(word: str, rules: Rules, doc_vocab: dict[str, int] | None = None) -> Choice | None:
    """The repair of one word, or None to leave it. Protected names and acronyms (all caps) are
    left alone. A close call becomes a change when the document itself prints the variant more
    often than the word (its own vocabulary is context evidence); otherwise it is flagged."""
    if word in rules.protected or (word.isupper() and len(word) > 1) or len(word) < 2:
        return None
    if word in rules.tokens:
        return Choice(rules.tokens[word], 0.95, True, "short-word")
    if not any(ch.isalpha() for ch in word):
        return None
    choice = _choose(word)
    if choice and not choice.applied and doc_vocab:
        if doc_vocab.get(choice.replacement.lower(), 0) > doc_vocab.get(word.lower(), 0):
            return Choice(choice.replacement, round(choice.confidence + 0.3, 2), True, "document-vocabulary")
    return choice
