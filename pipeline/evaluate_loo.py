"""Leave-own-organisations-out: a report's actors scored with every gazetteer row that names one of
its gold actors left out of the gazetteer, i.e. as a report whose organisations the gazetteer does
not know would be read.

A row is left out when any of its forms (name, aliases) has `pipeline.score.name_similarity` >= the
scorer's `ACTOR_THRESHOLD` (90) with a gold actor's name, or its acronym equals a gold actor's
acronym (case, accents and dots ignored), the scorer's two ways of matching actors. The gold is read
here only, at evaluation time; the pipeline is built from its usual config with the rows passed to
the `ogp_orgs` component as `exclude` (a config override, `components.ogp_orgs.exclude`).

    python -m pipeline.evaluate_loo --gold gold/000_5431f427d6bef971 --report corpus/000_5431f427d6bef971.txt
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import spacy

from pipeline.extract import CONFIG, extract_commitments, load_pipeline
from pipeline.extract.gazetteer import Gazetteer, Organization, data_path
from pipeline.models import CommitmentReport
from pipeline.score import ACTOR_THRESHOLD, _acronym_key, load_report, name_similarity, score_report


def own_rows(gaz: Gazetteer, gold: CommitmentReport) -> list[Organization]:
    """The gazetteer rows that name one of the gold report's actors."""
    actors = {(a.name, _acronym_key(a.acronym) if a.acronym else None) for c in gold.commitments for a in c.actors}
    out = []
    for org in gaz.orgs:
        forms = (org.name, *org.aliases)
        acronyms = {_acronym_key(f) for f in (org.acronym, *org.aliases) if f and f.isupper() and " " not in f}
        if any((acr and acr in acronyms) or any(name_similarity(name, f) >= ACTOR_THRESHOLD for f in forms)
               for name, acr in actors):
            out.append(org)
    return out


def leave_own_out(gold_dir: Path, report: Path) -> dict:
    """{"left_out": [row names], "actors": the scorer's micro_all P/R/F1, "score": the whole score}."""
    from pipeline.process import read_report, repair_document

    gold = load_report(gold_dir / "commitments.json")
    config = spacy.util.load_config(CONFIG)
    gaz = Gazetteer.load(data_path(config["components"]["ogp_orgs"].get("gazetteer", "organizations.tsv")))
    left_out = [org.name for org in own_rows(gaz, gold)]
    doc = read_report(report)
    pred = extract_commitments(repair_document(doc).lines, doc.name,
                               nlp=load_pipeline({"components.ogp_orgs.exclude": left_out}))
    score = score_report(gold, pred)
    return {"left_out": left_out, "actors": score["actors"]["micro_all"], "score": score}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, required=True, help="the report's gold folder (commitments.json)")
    parser.add_argument("--report", type=Path, required=True, help="the report (.txt OCR dump or .pdf)")
    parser.add_argument("--min-f1", type=float, help="exit 4 if the actor F1 is below this")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    result = leave_own_out(args.gold, args.report)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        a = result["actors"]
        print(f"{len(result['left_out'])} gazetteer rows left out: {'; '.join(result['left_out'])}")
        print(f"actors P {a['precision']:.4f}  R {a['recall']:.4f}  F1 {a['f1']:.4f}  (tp {a['tp']}, "
              f"predicted {a['pred']}, gold {a['gold']})")
    f1 = result["actors"]["f1"]
    return 4 if args.min_f1 is not None and (f1 is None or f1 < args.min_f1) else 0


if __name__ == "__main__":
    raise SystemExit(main())
