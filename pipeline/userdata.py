"""Where the pipeline keeps what it builds once per machine and reuses across runs (the lexicon's
fast form, the stages' code versions): `OGP_CACHE_DIR` when set, else `$XDG_CACHE_HOME/ogp-pipeline`,
else `~/.cache/ogp-pipeline`. Nothing kept there is a result of a report: deleting the folder only
costs the next process the time to build it again."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    if os.environ.get("OGP_CACHE_DIR"):
        return Path(os.environ["OGP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ogp-pipeline"
