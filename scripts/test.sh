#!/usr/bin/env bash
# Install (if needed), run the test suite, then the extraction regression gate: the seed report
# through the real flow, scored against the gold set (exit 4 if the actor F1 falls under 0.95).
# CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false OMP_THREAD_LIMIT=1
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
gate=$(mktemp -d)
trap 'rm -rf "$gate"' EXIT
.venv/bin/ogp run corpus/000_5431f427d6bef971.txt --out "$gate" > /dev/null
.venv/bin/ogp score --pred "$gate" --out "$gate" --min-f1 0.95
