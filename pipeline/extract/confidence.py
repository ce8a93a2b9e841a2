"""How sure the extraction is of each value: a confidence per rule.

Every extracted value names the rule that read it (`Evidence.rule`, e.g. `actor.gazetteer`: an
actor whose name the gazetteer knows, found in prose) and carries that rule's confidence
(`Evidence.confidence`). Each rule's confidence is data (`pipeline/data/extract/confidence.tsv`, one row per rule
with what the rule is), set by hand from what the rule relies on, never counted from gold;
`pipeline/calibrate.py` measures how each rule fares on the gold reports, for whoever revises them:

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
UNKNOWN = 0.5
"""The confidence of a rule with no row: as likely right as wrong."""


def smoothed(correct: int, total: int) -> float:
    """Laplace's rule of succession: the share of `total` values confirmed, pulled toward 0.5 when
    there are few (the measured figure `pipeline.calibrate` prints beside each rule's own)."""
    return round((correct + 1) / (total + 2), 3)


def rows(path: Path = TABLE) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))
    return list(csv.DictReader(io.StringIO(body), delimiter="\t"))


@lru_cache(maxsize=1)
def table() -> dict[str, float]:
    """rule → confidence, from `confidence.tsv`."""
    return {r["rule"]: float(r["confidence"]) for r in rows()}


def confidence(rule: str) -> float:
    return table().get(rule, UNKNOWN)


def evidence(rule: str, page: int, line: Optional[int], text: str) -> Evidence:
    """The provenance of a value read by `rule`, with the rule's confidence."""
    return Evidence(page=page, line=line, text=text, rule=rule, confidence=confidence(rule))
