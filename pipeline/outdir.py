"""The run's output folder (`--out`): one folder per report, named so that it cannot escape `--out`,
shadow a run-level file or collide with another report of the run; one run at a time (a lock);
each report's outputs written into a staging folder and swapped in whole.

Temp names, all hidden and all ending in `.tmp` (a staging folder too) or `.tmp-journal` (SQLite's
journal of a temp database), are removed at start-up by the run holding the lock, the only run
there can be.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pipeline.errors import OutputFolderBusy, OutputNotWritable
from pipeline.export import DIR_MODE

LOCK_NAME = ".ogp-run.lock"
CACHE_NAME = ".cache"
# names of the run's own files and folders in --out: no report folder may take one (compared
# case-insensitively, for case-insensitive file systems)
RUN_LEVEL_NAMES = frozenset({
    "errors.json", "summary.json", "catalog.csv", "catalog.sqlite", "irm.csv", "score.json", "score.md",
    "readme.md", "run.json", CACHE_NAME, LOCK_NAME,
})
TEMP_PATTERNS = (".*.tmp", ".*.tmp-journal")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_MAX_NAME_BYTES = 200  # a file name may hold 255; room for the suffix and the temp prefix


def discover(paths: list[Path]) -> list[Path]:
    """Report files in the given files and folders (recursively), sorted, each once; missing paths
    and broken symbolic links are kept so that they are reported as errors."""
    from pipeline.ingest import SUFFIXES

    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += [f for f in sorted(p.rglob("*"))
                      if f.suffix.lower() in SUFFIXES and (f.is_file() or (f.is_symlink() and not f.exists()))]
        else:
            found.append(p)
    return list(dict.fromkeys(found))


def _safe_stem(stem: str) -> str:
    """A folder name from a file's stem: control characters and separators replaced, leading dots
    dropped (no `.`, `..` or hidden names), cut to a length a suffix still fits after."""
    name = _UNSAFE.sub("_", stem).lstrip(".").strip()
    while len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        name = name[:-1]
    return name or "report"


def report_names(inputs: list[Path]) -> dict[Path, str]:
    """Each input's report folder name: its stem made safe, or, when that is a run-level name or
    another input of the run has it too (`a.txt` and `a.pdf`, `X.TXT` and `X.txt`, `sub1/dup.txt`
    and `sub2/dup.txt`), the stem plus a suffix hashed from the input's path as given — the same
    input gets the same name in every run, whatever else the run holds or in which order."""
    stems = {i: _safe_stem(i.stem) for i in inputs}
    counts: dict[str, int] = {}
    for stem in stems.values():
        counts[stem.casefold()] = counts.get(stem.casefold(), 0) + 1
    names = {i: s for i, s in stems.items() if counts[s.casefold()] == 1 and s.casefold() not in RUN_LEVEL_NAMES}
    taken = {n.casefold() for n in names.values()}
    for i in sorted(set(inputs) - set(names), key=lambda p: p.as_posix()):
        digest, size = hashlib.sha256(i.as_posix().encode("utf-8")).hexdigest(), 8
        while f"{stems[i]}-{digest[:size]}".casefold() in taken:  # taken by another input's own stem
            size += 8
        names[i] = f"{stems[i]}-{digest[:size]}"
        taken.add(names[i].casefold())
    return {i: names[i] for i in inputs}


def report_folder(out: Path, name: str) -> Path:
    """`out/name`, refusing any name that would leave `out` or take a run-level name."""
    folder = out / name
    safe = name and name == name.strip() and not name.startswith(".") and not _UNSAFE.search(name) \
        and len(name.encode("utf-8")) <= _MAX_NAME_BYTES + 80  # a suffix, and a temp name's prefix, still fit
    if not safe or name.casefold() in RUN_LEVEL_NAMES or folder.resolve().parent != out.resolve():
        raise ValueError(f"{name!r} is not a report folder name (see pipeline.outdir.report_names)")
    return folder


@contextmanager
def staged_report(out: Path, name: str) -> Iterator[Path]:
    """A fresh staging folder for one report's outputs, swapped in as `out/name` when the block
    ends normally; when it raises, the staging folder and the report's old folder are removed (a
    failed report has no folder, only its error), so `out/name` never mixes two runs' files. An
    interrupt (Ctrl-C) leaves the old folder as it was."""
    final = report_folder(out, name)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=f".{name}.", suffix=".tmp"))
    try:
        os.chmod(staging, DIR_MODE)
        yield staging
    except Exception:
        shutil.rmtree(staging, ignore_errors=True)
        _remove(final, out)
        raise
    except BaseException:  # interrupted: the old folder stays as it was, whole
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove(final, out)
    os.replace(staging, final)


def _remove(folder: Path, out: Path) -> None:
    """Remove a report folder: renamed to a temp name first (one atomic step), then deleted; a kill
    in between leaves only a temp folder, which the next run removes."""
    if not folder.exists() and not folder.is_symlink():
        return
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink()
        return
    trash = Path(tempfile.mkdtemp(dir=out, prefix=f".{folder.name}.old.", suffix=".tmp"))
    os.replace(folder, trash / folder.name)
    shutil.rmtree(trash, ignore_errors=True)


def remove_temp_files(out: Path) -> int:
    """Temp files and folders an interrupted run left in `out` and its report folders (never an
    output, never the task cache). Only safe under the run lock."""
    stale = [p for pattern in TEMP_PATTERNS for folder in [out, *_subfolders(out)] for p in folder.glob(pattern)]
    for p in stale:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return len(stale)


def _subfolders(out: Path) -> list[Path]:
    """The report folders (not the task cache, nor a temp folder: hidden names)."""
    return [d for d in out.iterdir() if d.is_dir() and not d.is_symlink() and not d.name.startswith(".")]


_HELD: set[Path] = set()  # the output folders this process holds the lock of


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold `out/.ogp-run.lock` for the block: a second run on the same folder gets
    `OutputFolderBusy`, naming the run that holds it. The lock is an flock: it dies with its
    process, so a killed run never blocks the next one. Re-entrant within the process (the CLI
    takes it before starting the flow, which takes it too)."""
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() in _HELD:
        yield
        return
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except PermissionError as exc:
        raise OutputNotWritable(str(out), f"cannot create {LOCK_NAME} here ({exc.strerror})") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputFolderBusy(str(out), f"another `ogp run` is writing here ({_holder(fd)})") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        _HELD.add(out.resolve())
        try:
            yield
        finally:
            _HELD.discard(out.resolve())
            os.ftruncate(fd, 0)  # no holder named once it is released
    finally:
        os.close(fd)  # releases the flock


def _holder(fd: int) -> str:
    try:
        who = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {who['pid']} on {who['host']}, started {who['started']}"
    except (ValueError, KeyError, TypeError):
        return "a run that is just starting"
