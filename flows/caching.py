"""Cache keys for the flows' tasks: a task's result is reused when the input file's content hash,
its settings and the version of the library code (and data files) that computes it are unchanged.
Changing a repair rule changes the repair version only, so OCR stays cached."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydantic_core
from prefect.cache_policies import TASK_SOURCE, CachePolicy, Inputs

import pipeline

_ROOT = Path(pipeline.__file__).parent


@dataclass
class ContentInputs(CachePolicy):
    """Prefect's `Inputs` policy with the inputs hashed from pydantic-core's JSON of them (models,
    dataclasses, lists, paths): Prefect's own JSON hashing walks a model in Python, 0.12 s for a
    20-page Document, paid twice per report (repair and extract) after its last page is read.
    Inputs pydantic-core cannot serialize are hashed as `Inputs` does."""

    exclude: list[str] = field(default_factory=list)

    def compute_key(self, task_ctx: Any, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> str | None:
        kept = {k: v for k, v in (inputs or {}).items() if k not in self.exclude}
        if not kept:
            return None
        try:
            return hashlib.sha256(pydantic_core.to_json(kept)).hexdigest()
        except pydantic_core.PydanticSerializationError:
            return Inputs(exclude=self.exclude).compute_key(task_ctx, inputs, flow_parameters, **kwargs)


# Inputs minus the file path (a moved or renamed file with the same bytes is the same report),
# plus the task's own source; the library's version comes in as a `code` input.
BY_CONTENT = TASK_SOURCE + ContentInputs(exclude=["path"])


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
    # layout.py: the page tasks order a page's lines with it (pipeline.layout.order_lines)
    return code_version("models.py", "ingest", "furniture.py", "layout.py")


def repair_version() -> str:
    return code_version("models.py", "repair", "data/repair")


def extract_version() -> str:
    return code_version("models.py", "extract", "data/extract")
