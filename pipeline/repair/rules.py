"""The repair rules, loaded once from the data files in `pipeline/data/repair/`."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "repair"


@dataclass(frozen=True)
class Confusion:
    wrong: str
    right: str
    cost: float


@dataclass(frozen=True)
class ContextRule:
    """A word-context preference: when the token (folded) matches `word`, its case matches `case`
    (`Cap`, or any), and its neighbours match `prev`/`next` (lower case, as printed), a reading whose
    form matches `prefer` gains `bonus` (log10 units)."""
    rule: str
    word: re.Pattern
    case: str
    prev: re.Pattern | None
    next: re.Pattern | None
    prefer: re.Pattern
    bonus: float

    def bonus_for(self, folded: str, capitalized: bool, prev: str, nxt: str, form: str) -> float:
        if not self.word.fullmatch(folded) or (self.case == "Cap" and not capitalized):
            return 0.0
        if (self.prev and not self.prev.fullmatch(prev)) or (self.next and not self.next.fullmatch(nxt)):
            return 0.0
        return self.bonus if self.prefer.fullmatch(form) else 0.0


@dataclass(frozen=True)
class LinePattern:
    """A line-level rewrite. With `after` or `before` it applies only where the page's lines before
    the line (joined with newlines) match `after`, or the lines after it match `before`: a line-start
    `e` is a bullet after a finished sentence or before another item, not a wrapped conjunction."""
    rule: str
    pattern: re.Pattern
    replacement: str
    after: re.Pattern | None = None
    before: re.Pattern | None = None

    def fits(self, preceding: str, following: str) -> bool:
        if self.after is None and self.before is None:
            return True
        return bool((self.after and self.after.search(preceding)) or (self.before and self.before.search(following)))


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@dataclass(frozen=True)
class Rules:
    confusions: tuple[Confusion, ...]
    tokens: dict[str, str]
    line_patterns: tuple[LinePattern, ...]
    protected: frozenset[str]
    domains: tuple[str, ...]
    context: tuple[ContextRule, ...]
    question_words: frozenset[str]
    address: re.Pattern  # a token that is a web address by its domain label (`datos.gob.mx`)


@lru_cache(maxsize=1)
def load_rules() -> Rules:
    def lines(name: str) -> list[str]:
        return [
            ln.strip() for ln in (DATA / name).read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")
        ]

    return Rules(
        confusions=tuple(Confusion(r["wrong"], r["right"], float(r["cost"])) for r in _rows("confusions.tsv")),
        tokens={r["wrong"]: r["right"] for r in _rows("tokens.tsv")},
        line_patterns=tuple(
            LinePattern(r["rule"], re.compile(r["pattern"]), r["replacement"],
                        re.compile(r["after"]) if r["after"] else None,
                        re.compile(r["before"]) if r["before"] else None)
            for r in _rows("line_patterns.tsv")
        ),
        protected=frozenset(lines("protected.txt")),
        domains=tuple(lines("known_domains.txt")),
        context=tuple(
            ContextRule(r["rule"], re.compile(r["word"]), r["case"], re.compile(r["prev"]) if r["prev"] else None,
                        re.compile(r["next"]) if r["next"] else None, re.compile(r["prefer"]), float(r["bonus"]))
            for r in _rows("context.tsv")
        ),
        question_words=frozenset(lines("question_words.txt")),
        address=re.compile(r"\w\.(?:" + "|".join(map(re.escape, lines("domain_suffixes.txt"))) + r")\b"),
    )
