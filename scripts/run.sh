#!/usr/bin/env bash
# Install (if needed) and run the main job: every report in corpus/ → outputs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/ogp run corpus --out outputs "$@"
