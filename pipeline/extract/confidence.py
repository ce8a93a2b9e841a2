"""How sure the extraction is of each value: a confidence per rule, measured on the gold set.

Every extracted value names the rule that read it (`Evidence.rule`, e.g. `actor.gazetteer`: an
actor whose name the gazetteer knows, found in prose) and carries that rule's confidence
(`Evidence.confidence`). A rule's confidence is the share of its values the gold set confirms,
smoothed by Laplace's rule of succession, ``(correct + 1) / (total + 2)``: a rule never checked
against gold gets 0.5, one right 9 times out of 9 gets 0.91, so a rule with few values is not
trusted as much as one with many. The counts are data (`pipeline/data/extract/confidence.tsv`,
one row per rule with what the rule is), rebuilt from a run over the gold reports by `pipeline/calibrate.py`:

    .venv/bin/python -m pipeline.calibrate --gold gold --pred OUT

Confidence only orders the review queue (least certain first); it never changes what is
extracted.
"""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from pathlib import Path
from typing import Optional

from pipeline.extract.gazetteer import DATA
from pipeline.models import Evidence

TABLE = DATA / "confidence.tsv"
HEADER = ("rule", "correct", "total", "what")
UNKNOWN = 0.5
"""The confidence of a rule with no row (never measured): Laplace's prior."""


def smoothed(correct: int, total: int) -> float:
    return round((correct + 1) / (total + 2), 3)


def rows(path: Path = TABLE) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    return list(csv.DictReader(io.StringIO(body), delimiter="\t"))


@lru_cache(maxsize=1)
def table() -> dict[str, float]:
    """rule → confidence, from `confidence.tsv`."""
    return {r["rule"]: smoothed(int(r["correct"]), int(r["total"])) for r in rows()}


def confidence(rule: str) -> float:
    return table().get(rule, UNKNOWN)


def evidence(rule: str, page: int, line: Optional[int], text: str) -> Evidence:
    """The provenance of a value read by `rule`, with the rule's confidence."""
    return Evidence(page=page, line=line, text=text, rule=rule, confidence=confidence(rule))
