"""Word repair as a noisy channel: for an OCR token, the Spanish forms it may stand for (confusion-table
substitutions, then accents and ñ restored through the lexicon), each scored as

    score = Zipf frequency of the form − cost of reading the form as the token

where costs are log10 units. Accent drops are priced from *this document's* OCR: how often its
unambiguous words (`información`, never `informacion` in Spanish) come out without their accent. On
clean text that rate is near zero, so a correct word (`publica`, a verb) is not turned into another
(`pública`) without evidence; on an OCR that drops most accents the more common reading wins, and a
close call is flagged for review instead of applied. A confusion (`é` read for `ó`) may turn one valid
word into another (`revisé` → `revisó`) only when the document shows that confusion on words where it
is unambiguous.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from pipeline.repair.lexicon import Lexicon, fold, load
from pipeline.repair.rules import Rules, load_rules

MAX_EDITS = 2
SPURIOUS_ACCENT = 2.0  # cost of an accent the OCR added where the form has none
APPLY_INVALID = 0.35  # an unknown token takes the best form when it beats the next by this much …
APPLY_VALID = 0.6  # … a valid word yields to another form only by this much (and with evidence)
POOL = 3  # weight (in words) of the all-letters drop rate in each letter's rate
EVIDENCE = 2  # document occurrences of a confusion before it may change a valid word
EVIDENCE_ZIPF = 2.5  # how common a word must be for its accents (kept or dropped) to price accent drops
_ACCENTED = "áéíóúñü"
_BASE = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ü": "u"}


@dataclass(frozen=True)
class Choice:
    replacement: str
    confidence: float
    applied: bool
    rule: str


@dataclass(frozen=True)
class Reading:
    form: str  # lower case
    cost: float  # channel cost without the document's accent-drop part
    drops: tuple[str, ...]  # accented letters of the form the token shows without accent
    confusions: tuple[str, ...]  # confusion-table substitutions used (`é>ó`)


def _match_case(template: str, word: str) -> str:
    letters = [ch for ch in template if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return word.upper()
    if letters and letters[0].isupper():
        return word[:1].upper() + word[1:]
    return word


def _variants(lower: str, rules: Rules) -> dict[str, tuple[float, tuple[str, ...]]]:
    """The token and what up to MAX_EDITS confusion substitutions make of it: variant → (cost, used)."""
    sites = []
    for c in rules.confusions:
        start = lower.find(c.wrong)
        while start >= 0:
            sites.append((start, start + len(c.wrong), c.right, c.cost, f"{c.wrong}>{c.right}"))
            start = lower.find(c.wrong, start + 1)
    out = {lower: (0.0, ())}
    for k in range(1, min(MAX_EDITS, len(sites)) + 1):
        for combo in combinations(sites, k):
            spans = sorted(combo)
            if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
                continue
            parts, pos, cost = [], 0, 0.0
            for a, b, right, c, _ in spans:
                parts.append(lower[pos:a] + right)
                pos, cost = b, cost + c
            parts.append(lower[pos:])
            variant = "".join(parts)
            if variant not in out or cost < out[variant][0]:
                out[variant] = (cost, tuple(s[4] for s in spans))
    return out


def _accent_cost(seen: str, form: str) -> tuple[float, tuple[str, ...]] | None:
    """How `form` reads as `seen` (same letters up to accents): the accents the OCR dropped, and the
    cost of any it added."""
    drops, cost = [], 0.0
    for s, f in zip(seen, form):
        if s == f:
            continue
        if f in _ACCENTED and _BASE[f] == s:
            drops.append(f)
        elif s in _ACCENTED and _BASE.get(s) == f:
            cost += SPURIOUS_ACCENT
        else:
            return None
    return cost, tuple(drops)


@lru_cache(maxsize=200_000)
def readings(lower: str) -> tuple[Reading, ...]:
    """Every Spanish form the lower-case token may stand for, with its channel cost."""
    lexicon, rules = load(), load_rules()
    out: dict[str, Reading] = {}
    for variant, (cost, used) in _variants(lower, rules).items():
        if not variant.isalpha():
            continue
        for form in lexicon.spellings(variant):
            how = _accent_cost(variant, form)
            if how is None:
                continue
            r = Reading(form, cost + how[0], how[1], used)
            if form not in out or r.cost + 0.3 * len(r.drops) < out[form].cost + 0.3 * len(out[form].drops):
                out[form] = r
    return tuple(out.values())


class DocumentModel:
    """What this document's OCR does to Spanish letters, learnt from its own unambiguous words."""

    def __init__(self, vocab: Counter, lexicon: Lexicon | None = None):
        self.lexicon = lexicon or load()
        intact: Counter = Counter()
        dropped: Counter = Counter()
        self.confusions: Counter = Counter()
        for token, n in vocab.items():
            if not token.isalpha() or len(token) < 3:
                continue
            forms = self.lexicon.spellings(token)
            # one spelling, and it has accents; a common word (a rare one, often a name such as
            # "Aurelia" whose only listed spelling is another language's "Aurélia", is no evidence)
            if len(forms) == 1 and forms[0] != fold(token) and self.lexicon.zipf(forms[0]) >= EVIDENCE_ZIPF:
                how = _accent_cost(token, forms[0])
                if how is not None and how[0] == 0:
                    for ch in forms[0]:
                        if ch in _ACCENTED:
                            (dropped if ch in how[1] else intact)[ch] += n
        for token, n in vocab.items():
            if self.lexicon.valid(token):
                continue
            found = [r for r in readings(token) if not r.drops and r.confusions]
            if len(found) == 1:
                self.confusions.update({c: n for c in found[0].confusions})
        # per letter, shrunk towards the rate over all letters when the letter is seen rarely
        pooled = (sum(dropped.values()) + 0.5) / (sum(dropped.values()) + sum(intact.values()) + 2.5)
        self.drop_cost = {ch: -math.log10((dropped[ch] + POOL * pooled) / (dropped[ch] + intact[ch] + POOL))
                          for ch in _ACCENTED}
        self._options: dict[str, list[tuple[float, Reading]]] = {}

    def readable(self, word: str) -> bool:
        """A Spanish word as printed, or one with its accents or ñ lost."""
        return len(word) > 1 and bool(self.lexicon.spellings(word))

    def keep_score(self, lower: str) -> float | None:
        """The token's own score when it is a valid word, else None."""
        return self.lexicon.zipf(lower) if lower.isalpha() and self.lexicon.valid(lower) else None

    def options(self, lower: str) -> list[tuple[float, Reading]]:
        """Readings other than the token itself, best first, each with its score; for a valid word
        only readings whose confusions this document shows elsewhere."""
        found = self._options.get(lower)
        if found is None:
            valid = self.keep_score(lower) is not None
            found = sorted(((self.lexicon.zipf(r.form) - self.cost(r), r) for r in readings(lower)
                            if r.form != lower and (not valid or self.evidenced(r))), key=lambda o: -o[0])
            self._options[lower] = found
        return found

    def cost(self, r: Reading) -> float:
        return r.cost + sum(self.drop_cost[ch] for ch in r.drops)

    def evidenced(self, r: Reading) -> bool:
        return all(self.confusions[c] >= EVIDENCE for c in r.confusions)


def choose(word: str, model: DocumentModel, rules: Rules | None = None, prev: str = "", nxt: str = "") -> Choice | None:
    """The repair of one word (letters, possibly with OCR digits or symbols inside), or None to leave
    it, given the words before and after it (lower case, as printed; `¿` when a question opens
    on the word). Protected names and acronyms in capitals are left alone."""
    rules = rules or load_rules()
    if len(word) < 2 or word in rules.protected or (word.isupper() and word.isalpha()):
        return None
    lower = word.lower()
    options = model.options(lower)
    if not options:
        return None
    keep = model.keep_score(lower)
    folded = fold(lower)
    rules_here = [c for c in rules.context if c.word.fullmatch(folded)]
    if rules_here:
        capitalized = word[:1].isupper()

        def bonus(form: str) -> float:
            return sum(c.bonus_for(folded, capitalized, prev, nxt, form) for c in rules_here)

        options = sorted(((score + bonus(r.form), r) for score, r in options), key=lambda o: -o[0])
        if keep is not None:
            keep += bonus(lower)
    best_score, best = options[0]
    rule = "accent" if best.drops and not best.confusions else "confusion"
    if keep is not None:  # a valid word: only a clearly better reading, flagged when close
        gain = best_score - keep
        if gain < 0:
            return None
        return Choice(_match_case(word, best.form), round(min(0.95, 0.5 + 0.3 * gain), 2), gain >= APPLY_VALID,
                      rule + "-context" if rules_here else rule)
    runner_up = options[1][0] if len(options) > 1 else best_score - 3
    margin = best_score - runner_up
    confidence = round(min(0.99, 0.55 + 0.15 * margin + 0.03 * model.lexicon.zipf(best.form)), 2)
    return Choice(_match_case(word, best.form), confidence, margin >= APPLY_INVALID and best_score > 0, rule)
