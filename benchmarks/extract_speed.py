"""How long the extraction stage takes on the seed report once its pipeline is loaded.

    .venv/bin/python benchmarks/extract_speed.py [--runs 20] [REPORT]

Ingest, layout and repair run once, untimed; then the spaCy pipeline is built (timed: the one-off
load) and `extract_commitments` runs `--runs` times on the same repaired lines (timed: median, best
and worst). Not a test: the figure depends on the machine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.process import read_report, repair_document  # noqa: E402

SEED = Path(__file__).resolve().parent.parent / "corpus" / "000_5431f427d6bef971.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, default=SEED)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    doc = read_report(args.report)
    repaired = repair_document(doc)

    t0 = time.perf_counter()
    from pipeline.extract import build_pipeline, extract_commitments

    build_pipeline()
    load = time.perf_counter() - t0

    times = []
    for _ in range(args.runs):
        t = time.perf_counter()
        report = extract_commitments(repaired.lines, doc.name, doc.footnotes())
        times.append(time.perf_counter() - t)
    actors = sum(len(c.actors) for c in report.commitments)
    print(f"report       {args.report.name}: {len(repaired.lines)} body lines, {len(doc.pages)} pages")
    print(f"found        {len(report.commitments)} commitments, {actors} actors")
    print(f"load         {load:.3f} s (import, build the pipeline, read gazetteer and patterns; once)")
    print(f"extraction   median {statistics.median(times):.3f} s, best {min(times):.3f} s, "
          f"worst {max(times):.3f} s over {args.runs} runs")


if __name__ == "__main__":
    main()
