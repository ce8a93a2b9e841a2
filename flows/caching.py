"""Cache keys for the flows' tasks: a task's result is reused when the input file's content hash,
its settings and the version of the library code (and data files) that computes it are unchanged.
A task's code version is computed from what it runs: the import closure of the library functions it
calls (`pipeline/` files only) and the data folders of those modules' packages (`pipeline/data/X/`
for a module of `pipeline/X/`). Changing a repair rule changes the repair version only, so OCR
stays cached; changing the reading order (`pipeline/layout.py`, run by the page readers) changes
the page-reading version."""
from __future__ import annotations

import ast
import hashlib
import inspect
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import pydantic_core
from prefect.cache_policies import TASK_SOURCE, CachePolicy, Inputs

import pipeline
from pipeline.export import atomic_write_json
from pipeline.userdata import cache_dir

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


def module_file(module: str, root: Path = _ROOT) -> Path | None:
    """The file of a `pipeline.…` module (a package's `__init__.py`) under `root`, the `pipeline/`
    folder; None for anything else."""
    parts = module.split(".")
    if parts[0] != "pipeline":
        return None
    base = root.joinpath(*parts[1:])
    for f in ([base.with_suffix(".py")] if parts[1:] else []) + [base / "__init__.py"]:
        if f.is_file():
            return f
    return None


def _module_name(file: Path, root: Path) -> str:
    rel = file.relative_to(root).with_suffix("")
    parts = ["pipeline", *rel.parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _bindings(tree: ast.AST, module: str, root: Path) -> dict[str, tuple[str, str | None]]:
    """Name → (the `pipeline` module it comes from, the name imported from it or None for the
    module itself), for every import in `tree` (nested ones too): `from pipeline import ingest`
    binds `ingest` to (`pipeline.ingest`, None), `from pipeline.repair import repair_lines` binds
    `repair_lines` to (`pipeline.repair`, `repair_lines`)."""
    is_package = (module_file(module, root) or Path()).name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    found: dict[str, tuple[str, str | None]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = ".".join(filter(None, [anchor, node.module]))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found[alias.asname or alias.name] = (sub, None) if module_file(sub, root) else (base, alias.name)
    return {k: v for k, v in found.items() if module_file(v[0], root)}


def import_closure(modules: set[str], root: Path = _ROOT) -> set[Path]:
    """The files of `modules` and of every `pipeline` module they import, directly or not (the
    packages holding them too: importing `pipeline.a.b` runs `pipeline/a/__init__.py`)."""
    todo, files = list(modules), set()
    while todo:
        module = todo.pop()
        todo += [".".join(module.split(".")[:n]) for n in range(2, module.count(".") + 1)]
        f = module_file(module, root)
        if f is None or f in files:
            continue
        files.add(f)
        todo += [m for m, _ in _bindings(ast.parse(f.read_text(encoding="utf-8")), module, root).values()]
    return files


def _used_names(fn: ast.AST, tree: ast.Module) -> set[tuple[str, str | None]]:
    """(name, attribute read from it or None) for every name a top-level function uses, and those
    the module's own functions and classes it uses use (transitively)."""
    local = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    used, todo, seen = set(), [fn], set()
    while todo:
        node = todo.pop()
        bases = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name):
                used.add((sub.value.id, sub.attr))
                bases.add(id(sub.value))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and id(sub) not in bases:
                used.add((sub.id, None))
                if sub.id in local and sub.id not in seen:
                    seen.add(sub.id)
                    todo.append(local[sub.id])
    return used


def _top_level_functions(file: Path) -> frozenset[str]:
    tree = ast.parse(file.read_text(encoding="utf-8"))
    return frozenset(n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))


def _function_files(file: Path, module: str, function: str, root: Path, hops: int) -> set[Path]:
    """The library files a top-level function of `file` runs: the file itself (when in the
    library) and the import closure of the modules it uses. A library function it calls (as
    `module.function`, or imported by name) is followed `hops` more times at the function level:
    past composition modules such as `pipeline.process`, which import every stage."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function)
    bound = {**_bindings(tree, module, root), **_bindings(fn, module, root)}
    files = {file} if file.is_relative_to(root) else set()
    for name, attr in _used_names(fn, tree):
        if name not in bound:
            continue
        target, imported = bound[name]
        callee, target_file = imported or attr, module_file(target, root)
        if hops and callee and callee in _top_level_functions(target_file):
            files |= _function_files(target_file, target, callee, root, hops - 1)
        else:
            files |= import_closure({target}, root)
    return files


def task_files(*fns: Callable, root: Path = _ROOT) -> set[Path]:
    """The library files (and data files: `pipeline/data/X/` for a module of `pipeline/X/`) that
    running the tasks' functions executes, found from their import closure."""
    files: set[Path] = set()
    for fn in fns:
        fn = getattr(fn, "fn", fn)  # a Prefect task: its function
        source = Path(inspect.getsourcefile(fn))
        files |= _function_files(source, fn.__module__, fn.__name__, root, hops=1)
    data = {root / "data" / f.relative_to(root).parts[0] for f in files if len(f.relative_to(root).parts) > 1}
    return files | {f for d in data if d.is_dir() for f in d.rglob("*") if f.is_file()}


def code_version(*fns: Callable, root: Path = _ROOT) -> str:
    """Hash of the library files and data files the tasks' functions run and read."""
    h = hashlib.sha256()
    for f in sorted(task_files(*fns, root=root)):
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _stage_functions() -> dict[str, tuple[Callable, ...]]:
    from flows import tasks

    return {"ingest": (tasks.plan_pdf, tasks.read_page, tasks.read_text_file), "repair": (tasks.repair,),
            "extract": (tasks.extract,)}


@lru_cache(maxsize=None)
def stage_versions() -> dict[str, str]:
    """`code_version` of each stage's tasks (ingest, repair, extract). Finding import closures
    parses the library's sources (1.8 s here), so the versions are kept in the user's cache folder
    (`pipeline.userdata.cache_dir()`: they depend on the code only, not on a run's inputs or task
    cache), keyed on `flows.reuse.code_fingerprint()`, the hash of every file of `pipeline/` and
    `flows/`: a version is recomputed whenever any file it could depend on changed, and read back
    (in milliseconds) otherwise."""
    from flows.reuse import code_fingerprint

    fingerprint = code_fingerprint()
    file = cache_dir() / "code-versions.json"
    try:
        stored = json.loads(file.read_text(encoding="utf-8")) if file.is_file() else {}
    except (OSError, ValueError):
        stored = {}
    if stored.get("fingerprint") == fingerprint and isinstance(stored.get("versions"), dict):
        return stored["versions"]
    versions = {stage: code_version(*fns) for stage, fns in _stage_functions().items()}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(file, {"fingerprint": fingerprint, "versions": versions})
    except OSError:  # a read-only cache folder: the versions are computed again next run
        pass
    return versions


def ingest_version() -> str:
    return stage_versions()["ingest"]


def repair_version() -> str:
    return stage_versions()["repair"]


def extract_version() -> str:
    return stage_versions()["extract"]
