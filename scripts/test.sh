#!/usr/bin/env bash
# Install (if needed) and run the test suite. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PREFECT_SERVER_ANALYTICS_ENABLED=false OMP_THREAD_LIMIT=1
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
