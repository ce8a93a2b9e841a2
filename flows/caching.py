"""Cache keys for the flows' tasks: a task's result is reused when the input file's content hash,
its settings and the version of the library code (and data files) that computes it are unchanged.
Changing a repair rule changes the repair version only, so OCR stays cached."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from prefect.cache_policies import TASK_SOURCE, Inputs

import pipeline

_ROOT = Path(pipeline.__file__).parent

# Inputs minus the file path (a moved or renamed file with the same bytes is the same report),
# plus the task's own source; the library's version comes in as a `code` input.
BY_CONTENT = TASK_SOURCE + Inputs(exclude=["path"])


@lru_cache(maxsize=None)
def code_version(*parts: str) -> str:
    """Hash of the library files (and data files) under the given paths of `pipeline/`."""
    h = hashlib.sha256()
    for part in parts:
        target = _ROOT / part
        files = sorted(target.rglob("*")) if target.is_dir() else [target]
        for f in files:
            if f.is_file() and f.suffix not in (".pyc",):
                h.update(str(f.relative_to(_ROOT)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def ingest_version() -> str:
    return code_version("models.py", "ingest", "furniture.py")


def repair_version() -> str:
    return code_version("models.py", "repair", "data/repair")


def extract_version() -> str:
    return code_version("models.py", "extract", "data/extract")
