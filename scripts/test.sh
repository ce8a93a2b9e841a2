#!/usr/bin/env bash
# Install (if needed), run the test suite, then the extraction regression gate: every gold report
# through the real flow, scored against its gold and held to the floors of gold/gates.toml (exit 4
# when one is not reached).
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false OMP_THREAD_LIMIT=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
# the gate: every report that has gold (the seed, and the real reports of other countries in
# ../shared/reports when that folder is present) through the real flow, each held to its floors
gate=$(mktemp -d)
trap 'rm -rf "$gate"' EXIT
reports=(corpus/000_5431f427d6bef971.txt)
for f in ../shared/reports/ec-plan-2019-2022/plan.pdf ../shared/reports/ec-progress-2021-10/report.pdf \
         ../shared/reports/ar-mendoza-plan-2021-2022/plan.pdf; do
  if [ -f "$f" ]; then reports+=("$f"); else echo "gate: $f absent, not scored"; fi
done
.venv/bin/ogp run "${reports[@]}" --out "$gate" > /dev/null
.venv/bin/ogp score --pred "$gate" --out "$gate" --gates gold/gates.toml
# and the seed scored with its own organisations left out of the gazetteer (the figure a new
# report, whose organisations the gazetteer does not know, can expect)
.venv/bin/python -m pipeline.evaluate_loo --gold gold/000_5431f427d6bef971 --report corpus/000_5431f427d6bef971.txt \
  --min-f1 0.90 | tail -1
