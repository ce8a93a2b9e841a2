"""The values a reviewer checks, least certain first.

Each predicted commitment gives its title, section, status, URLs, printed % and each of its actors
and milestones as one value, with the evidence (page, line, rule, confidence) it was read with and,
when the report has gold, the gold value it is paired with (pairing as in `pipeline.score`). A
value is named by an id stable for one `commitments.json` (``c<j>.<kind>`` or ``c<j>.<kind>.<k>``,
j and k the positions in the prediction), so a decision names what it decides on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pipeline.extract.confidence import UNKNOWN
from pipeline.models import Actor, Commitment, CommitmentReport, Evidence, Milestone
from pipeline.score import (TITLE_OK_THRESHOLD, match_actors, match_commitments, match_milestones,
                            normalize_url, title_similarity)

SCALARS = ("title", "section", "status", "urls", "progress_pct")
"""The commitment-level values in the queue, in the order a reviewer reads them."""
LISTS = ("actor", "milestone")


@dataclass
class Value:
    id: str
    commitment: int  # index into the prediction's commitments
    kind: str  # one of SCALARS or LISTS
    index: Optional[int]  # the actor's or milestone's position, for LISTS
    shown: str  # the value as text
    evidence: Optional[Evidence]
    gold: Optional[str] = None  # the paired gold value as text; None without gold or pair
    verdict: Optional[str] = None  # "ok" | "wrong" | "not in gold" | None (no gold for the report)

    @property
    def confidence(self) -> float:
        ev = self.evidence
        return ev.confidence if ev is not None and ev.confidence is not None else UNKNOWN


def actor_text(a: Actor) -> str:
    name = a.name + (f" ({a.acronym})" if a.acronym else "")
    return f"{name} — {a.sector or 'sector?'}, {a.role}"


def milestone_text(m: Milestone) -> str:
    head = f"{m.number}. " if m.number else ""
    extra = [x for x in (m.start and f"from {m.start}", m.end and f"to {m.end}",
                         m.progress_pct is not None and f"{m.progress_pct:g}%") if x]
    return head + m.text + (f" ({', '.join(extra)})" if extra else "")


def scalar_text(c: Commitment, kind: str) -> str:
    value = getattr(c, kind)
    if kind == "urls":
        return " ".join(value)
    if kind == "progress_pct":
        return f"{value:g}%" if value is not None else ""
    return "" if value is None else str(value)


def _has(c: Commitment, kind: str) -> bool:
    value = getattr(c, kind)
    return bool(value) if kind == "urls" else value is not None


def _same(kind: str, g: Commitment, p: Commitment) -> bool:
    if kind == "title":
        return title_similarity(g.title, p.title) >= TITLE_OK_THRESHOLD
    if kind == "urls":
        return {normalize_url(u) for u in g.urls} == {normalize_url(u) for u in p.urls}
    return getattr(g, kind) == getattr(p, kind)


def _same_item(kind: str, g, p) -> bool:
    """As `ogp score` judges a paired actor (sector and role) or milestone (text, %, dates)."""
    if kind == "actor":
        return (g.sector, g.role) == (p.sector, p.role)
    return (title_similarity(g.text, p.text) >= TITLE_OK_THRESHOLD and g.progress_pct == p.progress_pct
            and (g.start, g.end) == (p.start, p.end))


def paired_commitments(gold: Optional[CommitmentReport], pred: CommitmentReport) -> dict[int, int]:
    """Predicted commitment index → gold commitment index."""
    if gold is None:
        return {}
    matches, _, _ = match_commitments(gold.commitments, pred.commitments)
    return {j: i for i, j, _, _ in matches}


def paired_items(kind: str, g: Commitment, p: Commitment) -> dict[int, int]:
    """Predicted actor (milestone) index → the paired gold actor (milestone) index."""
    if kind == "actor":
        return {pj: gi for gi, pj, _, _ in match_actors(g.actors, p.actors)[0]}
    return {pj: gi for gi, pj in match_milestones(g.milestones, p.milestones)}


def values(pred: CommitmentReport, gold: Optional[CommitmentReport]) -> list[Value]:
    """Every value of the prediction, in document order."""
    pairs = paired_commitments(gold, pred)
    out: list[Value] = []
    for j, p in enumerate(pred.commitments):
        g = gold.commitments[pairs[j]] if j in pairs else None

        def verdict(same: Optional[bool]) -> Optional[str]:
            if gold is None:
                return None
            return "not in gold" if same is None else "ok" if same else "wrong"

        for kind in SCALARS:
            if not _has(p, kind):
                continue
            out.append(Value(f"c{j}.{kind}", j, kind, None, scalar_text(p, kind), p.evidence.get(kind),
                             scalar_text(g, kind) if g is not None else None,
                             verdict(_same(kind, g, p) if g is not None else None)))
        for kind, items, text, gold_items in (
                ("actor", p.actors, actor_text, g.actors if g else []),
                ("milestone", p.milestones, milestone_text, g.milestones if g else [])):
            paired = paired_items(kind, g, p) if g is not None else {}
            for k, item in enumerate(items):
                gi = paired.get(k)
                gold_item = gold_items[gi] if gi is not None else None
                same = None if gold_item is None else _same_item(kind, gold_item, item)
                out.append(Value(f"c{j}.{kind}.{k}", j, kind, k, text(item), item.evidence,
                                 text(gold_item) if gold_item is not None else None, verdict(same)))
    return out


def queue(all_values: list[Value], decided: set[str]) -> list[Value]:
    """The values not decided yet, least certain first (then in document order)."""
    order = {v.id: n for n, v in enumerate(all_values)}
    return sorted((v for v in all_values if v.id not in decided), key=lambda v: (v.confidence, order[v.id]))
