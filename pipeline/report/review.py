"""`review.html`: one self-contained static page per report for a human reviewer.

Per commitment it shows the extracted fields beside the gold ones (when a gold exists), with wrong
values, missed and extra actors marked in words and in colour; the page, line and raw text each
value was read from; and the OCR corrections made inside that commitment's section, flagged
(not applied) and low-confidence ones first. An overview table gives the scores.

The page has no script, loads nothing (inline CSS, no images, no fonts) and forbids both with a
Content-Security-Policy. Everything that comes from the PDF is HTML-escaped by Jinja2's autoescape.
Links are made only for http(s) URLs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.export import atomic_write_text
from pipeline.models import Actor, Assessment, Commitment, CommitmentReport, Correction, Evidence, Milestone
from pipeline.score import (
    TITLE_OK_THRESHOLD,
    match_actors,
    match_commitments,
    normalize_url,
    score_report,
    title_similarity,
)

LOW_CONFIDENCE = 0.7
"""Applied corrections below this confidence are listed first, with the flagged ones."""

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class FieldRow:
    name: str
    pred: Any
    gold: Any = None
    state: Optional[str] = None  # "ok" | "wrong" | None (not scored or no gold)
    evidence: Optional[Evidence] = None
    gold_evidence: Optional[Evidence] = None


@dataclass
class ActorRow:
    state: str  # "ok" | "missed" | "extra" | "unscored"
    pred: Optional[Actor] = None
    gold: Optional[Actor] = None
    matched_by: Optional[str] = None
    similarity: Optional[float] = None

    @property
    def sector_wrong(self) -> bool:
        return self.state == "ok" and self.pred.sector != self.gold.sector

    @property
    def role_wrong(self) -> bool:
        return self.state == "ok" and self.pred.role != self.gold.role


@dataclass
class CommitmentView:
    anchor: str
    kind: str  # "matched" | "extra" | "missed" | "no-gold"
    number: int
    title: str
    fields: list[FieldRow]
    actors: list[ActorRow]
    flags: list[str]
    gold_flags: list[str] = field(default_factory=list)
    attention: list[Correction] = field(default_factory=list)
    other_corrections: list[Correction] = field(default_factory=list)

    @property
    def problems(self) -> int:
        wrong = sum(f.state == "wrong" for f in self.fields)
        actors = sum(a.state in ("missed", "extra") or a.sector_wrong or a.role_wrong for a in self.actors)
        return wrong + actors + (self.kind in ("missed", "extra"))

    @property
    def status_row(self) -> FieldRow:
        return next(f for f in self.fields if f.name == "status")

    @property
    def status_wrong(self) -> bool:
        return self.status_row.state == "wrong"


def _irm(c: Optional[Commitment], level: str) -> Optional[str]:
    return getattr(c.irm, level) if c is not None and c.irm else None


def _fields(pred: Optional[Commitment], gold: Optional[Commitment]) -> list[FieldRow]:
    """Rows for the fields a reviewer checks; `state` only for the scored ones, and only with a gold."""
    has_both = pred is not None and gold is not None

    def ev(c: Optional[Commitment], key: str) -> Optional[Evidence]:
        if c is None:
            return None
        if key == "irm" and c.irm and c.irm.evidence:
            return c.irm.evidence
        return c.evidence.get(key)

    def row(name: str, get, evidence_key: Optional[str], same=None) -> FieldRow:
        p = get(pred) if pred is not None else None
        g = get(gold) if gold is not None else None
        state = None
        if has_both and same is not None:
            state = "ok" if same(p, g) else "wrong"
        return FieldRow(name, p, g, state, ev(pred, evidence_key) if evidence_key else None,
                        ev(gold, evidence_key) if evidence_key else None)

    eq = lambda a, b: a == b  # noqa: E731
    return [
        row("title", lambda c: c.title, "title", lambda a, b: title_similarity(a, b) >= TITLE_OK_THRESHOLD),
        row("section", lambda c: c.section, "section", eq),
        row("status", lambda c: c.status, "status", eq),
        row("status text", lambda c: c.status_text, "status"),
        row("status page", lambda c: c.status_page, None),
        row("URLs", lambda c: c.urls, "urls",
            lambda a, b: {normalize_url(u) for u in a} == {normalize_url(u) for u in b}),
        row("IRM completion", lambda c: _irm(c, "completion"), "irm", eq),
        row("IRM results", lambda c: _irm(c, "results"), "irm", eq),
        row("IRM text", lambda c: c.irm.text if c.irm else None, "irm"),
        row("progress %", lambda c: c.progress_pct, "progress_pct", eq),
        row("assessments", lambda c: [_assessment(a) for a in c.assessments] or None, None),
        row("milestones", lambda c: [_milestone(m) for m in c.milestones] or None, None,
            lambda a, b: (a or []) == (b or [])),
        row("reasons", lambda c: c.reasons, "reasons"),
        row("next steps", lambda c: c.next_steps, "next_steps"),
        row("pages", lambda c: ", ".join(map(str, c.pages)) or None, None),
    ]


def _assessment(a: Assessment) -> str:
    """"limitado · mid_term · irm · “Limitado”" — the level on the OGP scale, when, by whom, as printed."""
    level = a.level or (f"{a.progress_pct:g}%" if a.progress_pct is not None else "–")
    return " · ".join(x for x in (level, a.when, a.by, f"“{a.text}”" if a.text else None) if x)


def _milestone(m: Milestone) -> str:
    parts = [f"{m.number}." if m.number else "–", m.text]
    if m.start or m.end:
        parts.append(f"({m.start or '?'} – {m.end or '?'})")
    if m.progress_pct is not None:
        parts.append(f"{m.progress_pct:g}%")
    return " ".join(parts)


def _actor_rows(pred: Optional[Commitment], gold: Optional[Commitment]) -> list[ActorRow]:
    if gold is None:
        return [ActorRow("unscored", pred=a) for a in pred.actors]
    if pred is None:
        return [ActorRow("missed", gold=a) for a in gold.actors]
    pairs, missed, extra = match_actors(gold.actors, pred.actors)
    by_pred = {j: (i, by, sim) for i, j, by, sim in pairs}
    rows = []
    for j, a in enumerate(pred.actors):
        if j in by_pred:
            i, by, sim = by_pred[j]
            rows.append(ActorRow("ok", pred=a, gold=gold.actors[i], matched_by=by, similarity=sim))
        else:
            rows.append(ActorRow("extra", pred=a))
    rows += [ActorRow("missed", gold=gold.actors[i]) for i in missed]
    return rows


def _start(c: Commitment) -> Optional[tuple[int, int]]:
    """Where the commitment's section starts: its title's evidence when that lies on the section's
    pages (a title can be read elsewhere, e.g. from a summary table), else the top of its first page,
    else its earliest evidence other than the chapter heading (`section`)."""
    title = c.evidence.get("title")
    if title is not None and (not c.pages or title.page in c.pages):
        return (title.page, title.line or 0)
    if c.pages:
        return (min(c.pages), 0)
    spots = [(e.page, e.line or 0) for k, e in c.evidence.items() if k != "section"]
    return min(spots) if spots else None


def _section_corrections(
    commitments: list[Commitment], corrections: Iterable[Correction]
) -> tuple[dict[int, list[Correction]], list[Correction]]:
    """Corrections by commitment index (a section runs from its start to the next section's start,
    and no further than its last page), and those outside every section."""
    starts = sorted((s, k) for k, c in enumerate(commitments) if (s := _start(c)) is not None)
    bounds = []
    for n, (s, k) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else (float("inf"), 0)
        if commitments[k].pages:
            end = min(end, (max(commitments[k].pages) + 1, 0))
        bounds.append((s, end, k))
    inside: dict[int, list[Correction]] = {}
    outside = []
    for corr in corrections:
        spot = (corr.page, corr.line)
        k = next((k for s, e, k in bounds if s <= spot < e), None)
        if k is None:
            outside.append(corr)
        else:
            inside.setdefault(k, []).append(corr)
    return inside, outside


def _needs_attention(c: Correction) -> bool:
    return not c.applied or c.confidence < LOW_CONFIDENCE


def _ordered(corrections: list[Correction]) -> tuple[list[Correction], list[Correction]]:
    """(flagged and low-confidence first, least confident first; the rest in page order)."""
    attention = sorted((c for c in corrections if _needs_attention(c)),
                       key=lambda c: (c.applied, c.confidence, c.page, c.line, c.offset))
    rest = sorted((c for c in corrections if not _needs_attention(c)), key=lambda c: (c.page, c.line, c.offset))
    return attention, rest


def _views(pred: CommitmentReport, gold: Optional[CommitmentReport], corrections: list[Correction]) -> tuple[list[CommitmentView], list[Correction]]:
    inside, outside = _section_corrections(pred.commitments, corrections)
    pairs: dict[int, Commitment] = {}
    missed: list[int] = []
    if gold is not None:
        matches, missed, _ = match_commitments(gold.commitments, pred.commitments)
        pairs = {j: gold.commitments[i] for i, j, _, _ in matches}
    views = []
    for k, c in enumerate(pred.commitments):
        g = pairs.get(k)
        kind = "no-gold" if gold is None else ("matched" if g is not None else "extra")
        attention, rest = _ordered(inside.get(k, []))
        views.append(CommitmentView(f"c{k + 1}", kind, c.number, c.title, _fields(c, g), _actor_rows(c, g),
                                    c.flags, g.flags if g else [], attention, rest))
    for i in missed:
        g = gold.commitments[i]
        views.append(CommitmentView(f"missed{i + 1}", "missed", g.number, g.title, _fields(None, g),
                                    _actor_rows(None, g), [], g.flags))
    return views, outside


def render_review(
    pred: CommitmentReport,
    gold: Optional[CommitmentReport],
    corrections: list[Correction],
    score: Optional[dict],
) -> str:
    """The review page as a string. `score` is `pipeline.score.score_report`'s dict (with `text` when
    `score_corpus` made it); with a gold and no score, the report is scored here (without text)."""
    if score is None and gold is not None:
        score = score_report(gold, pred)
    views, outside = _views(pred, gold, corrections)
    attention, rest = _ordered(outside)
    return _ENV.get_template("review.html.j2").render(
        report=pred,
        has_gold=gold is not None,
        score=score,
        status_columns=sorted({k for row in (score or {}).get("status", {}).get("confusion", {}).values() for k in row}),
        views=views,
        outside_attention=attention,
        outside_rest=rest,
        n_corrections=len(corrections),
        n_applied=sum(c.applied for c in corrections),
        n_flagged=sum(not c.applied for c in corrections),
        low_confidence=LOW_CONFIDENCE,
        title_ok=TITLE_OK_THRESHOLD,
    )


def write_review(
    report_dir: Path,
    pred: CommitmentReport,
    gold: Optional[CommitmentReport] = None,
    corrections: Iterable[Correction] = (),
    score: Optional[dict] = None,
) -> Path:
    """Write `report_dir/review.html` atomically and return its path."""
    path = Path(report_dir) / "review.html"
    atomic_write_text(path, render_review(pred, gold, list(corrections), score))
    return path


def load_corrections(path: Path) -> list[Correction]:
    """`corrections.jsonl`, one `Correction` a line; ValueError naming the file and line if one is bad."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Correction.model_validate(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}, line {n}: not a Correction ({exc})") from exc
    return out
