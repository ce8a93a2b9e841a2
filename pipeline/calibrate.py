"""How each extraction rule fares on the gold set, beside the confidence it is given by hand
(`pipeline/extract/confidence.py`): a measurement for whoever revises those figures. It writes
nothing into `pipeline/data/` (gold is the answer key, not a source of rules).

    .venv/bin/ogp run GOLD-REPORTS... --out OUT
    .venv/bin/python -m pipeline.calibrate --gold gold --pred OUT

Every value of a prediction that has gold is judged confirmed or not and counted under the rule
that read it (`Evidence.rule`). Pairing is `pipeline.score`'s. A value is judged only where the gold
annotates its field (the gold commitment sets it: the seed's gold has no milestones or assessments,
so they are not judged there); a value of a commitment that pairs with no gold one (an extra) is not
confirmed.

| kind | confirmed when |
| --- | --- |
| `title.*` | its commitment pairs with a gold one and the titles' ratio reaches ``TITLE_OK_THRESHOLD`` |
| `status.*`, `section.*`, `url.*`, `progress.*`, `irm.*` | its commitment pairs and that field equals the gold's (URLs as normalized sets, % to 0.1, IRM both levels) |
| `assessment.*` | its commitment pairs and the gold commitment has an assessment of the same level, moment and % |
| `actor.*` | its commitment pairs and the actor pairs with a gold actor of it |
| `milestone.*` | its commitment pairs and the milestone pairs with a gold one whose text reaches ``TITLE_OK_THRESHOLD`` |
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

from pipeline.extract.confidence import confidence, smoothed
from pipeline.models import Assessment, Commitment, CommitmentReport, Evidence
from pipeline.score import (TITLE_OK_THRESHOLD, find_gold, gold_by_source, load_report, match_actors,
                            match_commitments, match_milestones, normalize_url, title_similarity)


def _pct(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def _irm(c: Commitment) -> tuple:
    return (c.irm.completion, c.irm.results) if c.irm is not None else (None, None)


def _same_assessment(a: Assessment, gold: Commitment) -> bool:
    return any((g.level, g.when, _pct(g.progress_pct)) == (a.level, a.when, _pct(a.progress_pct))
               for g in gold.assessments)


def judge(gold: CommitmentReport, pred: CommitmentReport) -> list[tuple[str, bool]]:
    """(rule, confirmed) for every value of `pred` that names its rule and whose field the gold annotates."""
    matches, _, _ = match_commitments(gold.commitments, pred.commitments)
    paired = {j: gold.commitments[i] for i, j, _, _ in matches}
    annotated = set().union(*(g.model_fields_set for g in gold.commitments)) if gold.commitments else set()
    out: list[tuple[str, bool]] = []

    def add(field: str, ev: Optional[Evidence], ok) -> None:
        if ev is not None and ev.rule and field in annotated:
            out.append((ev.rule, bool(ok)))

    for j, p in enumerate(pred.commitments):
        g = paired.get(j)
        ev = p.evidence
        add("title", ev.get("title"), g and title_similarity(g.title, p.title) >= TITLE_OK_THRESHOLD)
        add("status", ev.get("status"), g and g.status == p.status)
        add("section", ev.get("section"), g and g.section == p.section)
        add("urls", ev.get("urls"), g and {normalize_url(u) for u in g.urls} == {normalize_url(u) for u in p.urls})
        add("progress_pct", ev.get("progress_pct"), g and _pct(g.progress_pct) == _pct(p.progress_pct))
        add("irm", ev.get("irm"), g and _irm(g) == _irm(p))
        fields = [ev[k] for k in ("status", "progress_pct", "irm") if k in ev]
        for a in p.assessments:
            if a.evidence not in fields:  # not the status, the % or the IRM's level again
                add("assessments", a.evidence, g and _same_assessment(a, g))
        actors = {pj for _, pj, _, _ in match_actors(g.actors, p.actors)[0]} if g else set()
        for k, a in enumerate(p.actors):
            add("actors", a.evidence, k in actors)
        milestones = {pj for gi, pj in match_milestones(g.milestones, p.milestones)
                      if title_similarity(g.milestones[gi].text, p.milestones[pj].text) >= TITLE_OK_THRESHOLD} \
            if g else set()
        for k, m in enumerate(p.milestones):
            add("milestones", m.evidence, k in milestones)
    return out


def calibrate(gold_root: Path, pred_root: Path) -> dict[str, tuple[int, int]]:
    """rule → (confirmed, total) over every prediction in `pred_root` that has gold in `gold_root`."""
    index = gold_by_source(gold_root)
    correct: Counter = Counter()
    total: Counter = Counter()
    for pred_file in sorted(Path(pred_root).glob("*/commitments.json")):
        pred = load_report(pred_file)
        gold_file = find_gold(gold_root, pred.source_sha256, pred_file.parent.name, index)
        if gold_file is None:
            continue
        for rule, ok in judge(load_report(gold_file), pred):
            total[rule] += 1
            correct[rule] += ok
    return {rule: (correct[rule], total[rule]) for rule in sorted(total)}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Measure each extraction rule's confidence on the gold set.")
    parser.add_argument("--gold", type=Path, default=Path("gold"))
    parser.add_argument("--pred", type=Path, required=True, help="the output folder of `ogp run` over gold reports")
    args = parser.parse_args(argv)
    counts = calibrate(args.gold, args.pred)
    print("rule\tconfidence\tconfirmed\tmeasured")
    for rule, (ok, n) in counts.items():
        print(f"{rule}\t{confidence(rule)}\t{ok}/{n}\t{smoothed(ok, n)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
