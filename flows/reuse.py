"""Decide early, do little: which reports of a run are unchanged since the run that wrote their
folder, decided before anything heavy starts (no Prefect, no spaCy, no OCR), so that their outputs
are kept as they are instead of going through the flow again.

A report is unchanged when its folder's `run.json` holds the same **run key**: the input's
content hash, the run's settings, the fingerprint of the code (every file of `pipeline/` and
`flows/`, their data files included, the versions of the libraries that compute results and the
Tesseract binary) and the content of the report's gold file (its review page is made beside it),
and every output file that run wrote is still there. The fingerprint covers every stage a result
went through, and more: a change anywhere in the code sends the report through the flow again,
where each task's own cache (flows/caching.py) still reuses what that change did not touch.

A run where every report is unchanged, and whose run-level files were written for the same
reports, the same keys and the same gold set (`out/run.json`), starts no flow at all
(`unchanged_run`): `ogp run` then costs about a second. `--force` decides nothing here.
Failed reports are never reused: a failure may be the machine's (a missing Tesseract), not the
input's.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Optional

import pipeline
from pipeline import outdir
from pipeline.export import atomic_write_json
from pipeline.ingest.pdf import DEFAULT_DPI, DEFAULT_LANG, DEFAULT_MIN_QUALITY, sha256_file
from pipeline.score import find_gold, gold_by_source

RUN_FILE = "run.json"  # in a report folder (its key, files and summary) and in --out (the run's)
_ROOTS = (Path(pipeline.__file__).parent, Path(__file__).parent)
# the libraries whose version can change a result (reading, OCR, tokenizing, matching, models)
_LIBRARIES = ("pypdfium2", "pdfplumber", "pytesseract", "Pillow", "numpy", "spacy", "rapidfuzz", "pydantic",
              "jinja2")


@lru_cache(maxsize=None)
def code_fingerprint() -> str:
    """Hash of every file of `pipeline/` and `flows/` (sources and data files), the versions of
    the libraries in `_LIBRARIES` and the Tesseract binary on PATH (path, size, time)."""
    h = hashlib.sha256()
    for root in _ROOTS:
        _hash_tree(h, root, root.name)
    for lib in _LIBRARIES:
        try:
            h.update(f"{lib}={metadata.version(lib)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{lib}=none\0".encode())
    tesseract = shutil.which("tesseract")
    if tesseract:
        st = os.stat(tesseract)
        h.update(f"{os.path.realpath(tesseract)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _hash_tree(h, root: Path, label: str) -> None:
    """Feed every file under `root` (its path relative to `root`, then its bytes) into `h`."""
    for f in sorted(root.rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(f"{label}/{f.relative_to(root)}\0".encode())
            h.update(f.read_bytes())


def _file_hash(path: Optional[Path]) -> Optional[str]:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() if path else None
    except OSError:
        return None


def run_settings(dpi: int = DEFAULT_DPI, lang: str = DEFAULT_LANG,
                 min_quality: float = DEFAULT_MIN_QUALITY, pdf: bool = True) -> dict:
    """The options of a run that change its outputs: part of every report's run key."""
    return {"dpi": dpi, "lang": lang, "min_quality": min_quality, "pdf": pdf}


def report_key(sha256: str, settings: dict, gold_file: Optional[Path]) -> str:
    """The run key of one report (see the module's docstring)."""
    parts = {"sha256": sha256, "settings": settings, "code": code_fingerprint(), "gold": _file_hash(gold_file)}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def stored_summary(folder: Path, key: str) -> Optional[dict]:
    """The summary of the run that wrote `folder`, when it was made under `key` and every file it
    wrote is still there; None otherwise (a folder from an older version, a deleted output, …)."""
    try:
        record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        if record.get("key") != key or not all((folder / f).is_file() for f in record["files"]):
            return None
        summary = dict(record["summary"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return {**summary, "reused": True}


def record_report(folder: Path, key: str, summary: dict) -> None:
    """Write `run.json` into a report's (staging) folder: its key, the files in it, the summary."""
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != RUN_FILE)
    atomic_write_json(folder / RUN_FILE, {"key": key, "files": files, "summary": summary})


@dataclass
class RunPlan:
    """Each input of a run with its folder name and run key, and the stored summaries of those
    that are unchanged."""

    inputs: list[Path]
    names: dict[Path, str]
    keys: dict[Path, Optional[str]]  # None: the input cannot be read (it will fail as it should)
    reused: dict[Path, dict] = field(default_factory=dict)
    gold: Optional[str] = None  # fingerprint of the gold set the run's score is made from

    @property
    def key(self) -> str:
        """The run-level key: every report's name and key, in order, and the gold set."""
        parts = [[self.names[p], self.keys[p]] for p in self.inputs]
        return hashlib.sha256(json.dumps([parts, self.gold]).encode()).hexdigest()


def _gold_fingerprint(gold_root: Optional[Path]) -> Optional[str]:
    if not gold_root:
        return None
    h = hashlib.sha256()
    _hash_tree(h, Path(gold_root), "gold")
    return h.hexdigest()


def plan_run(inputs: list[Path], out: Path, settings: dict, gold_root: Optional[Path] = None,
             force: bool = False) -> RunPlan:
    """The run key of every input and, unless `force`, the summaries of the unchanged ones."""
    names = outdir.report_names(inputs)
    index = gold_by_source(gold_root) if gold_root else {}
    plan = RunPlan(inputs, names, {}, gold=_gold_fingerprint(gold_root))
    for p in inputs:
        try:
            sha = sha256_file(p)
        except OSError:
            plan.keys[p] = None
            continue
        gold_file = find_gold(gold_root, sha, names[p], index) if gold_root else None
        plan.keys[p] = key = report_key(sha, settings, gold_file)
        stored = None if force else stored_summary(out / names[p], key)
        if stored is not None:
            plan.reused[p] = {**stored, "file": str(p)}  # the same content may have moved
    return plan


_RUN_LEVEL_FILES = ("summary.json", "errors.json", "catalog.csv", "catalog.sqlite", "irm.csv", "score.json", "score.md")


def record_run(out: Path, plan: RunPlan) -> None:
    """`out/run.json`: the key the run-level files (summary, errors, catalog, score) were made
    for, and which of them the run wrote."""
    files = [f for f in _RUN_LEVEL_FILES if (out / f).is_file()]
    atomic_write_json(out / RUN_FILE, {"key": plan.key, "files": files})


def unchanged_run(paths: list[Path], out: Path, settings: dict, gold_root: Optional[Path] = None) -> Optional[list[dict]]:
    """The summaries of the previous run on `out`, when nothing it would do has changed: every
    input unchanged (see `plan_run`), and the run-level files made for these very reports, keys and
    gold set. None when anything is to be done."""
    if not out.is_dir():
        return None
    with outdir.run_lock(out):
        inputs = outdir.discover(paths)
        plan = plan_run(inputs, out, settings, gold_root)
        if not inputs or len(plan.reused) != len(inputs):
            return None
        try:
            record = json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
            if record["key"] != plan.key or not all((out / f).is_file() for f in record["files"]):
                return None
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return [plan.reused[p] for p in inputs]
