"""Writing outputs atomically: a temp file in the same folder, fsync'd, then renamed over the
target, so an interrupted run never leaves a half-written file."""
from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from pipeline.models import CommitmentReport, Correction, Document


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()
DIR_MODE = 0o777 & ~_umask()  # an ordinary folder's mode (mkdtemp makes 0700 ones)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp file's path beside `path`, for a writer that writes a file by its name (a library that
    writes the file itself): fsync'd and renamed over `path` when the block ends, removed if it raises."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _MODE)  # mkstemp makes 0600 files; outputs are ordinary files
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def write_document(doc: Document, report_dir: Path) -> list[Path]:
    """document.json, text.txt (body in reading order, pages split by form feeds), footnotes.json
    and source.json (the input file and its sha256, to pair the folder with its input)."""
    files = {
        "source.json": lambda p: atomic_write_json(p, {"file": doc.path, "sha256": doc.sha256}),
        "document.json": lambda p: atomic_write_text(p, doc.model_dump_json(indent=1, exclude_none=True) + "\n"),
        "text.txt": lambda p: atomic_write_text(p, doc.body_text() + "\n"),
        "footnotes.json": lambda p: atomic_write_json(p, [f.model_dump() for f in doc.footnotes()]),
    }
    written = []
    for name, write in files.items():
        write(report_dir / name)
        written.append(report_dir / name)
    return written


# a cell a spreadsheet would read as a formula (or a DDE call) starts with one of these
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: Any) -> Any:
    """A CSV cell that a spreadsheet reads as text: a string starting with a formula prefix gets a
    single quote in front (OWASP, "CSV Injection"); other values are left as they are."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value


def atomic_write_csv(path: Path, rows: list[dict], columns: list[str] | None = None) -> None:
    """Every CSV the pipeline writes from named columns: a header, then the rows."""
    columns = columns or (list(rows[0]) if rows else [])
    atomic_write_table(path, columns, [[row.get(c, "") for c in columns] for row in rows])


def atomic_write_table(path: Path, header: list[str], rows: list[list]) -> None:
    """A CSV of a header and rows given as lists (columns may repeat a name, or have none), each
    cell through `spreadsheet_text`."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([spreadsheet_text(h) for h in header])
    writer.writerows([spreadsheet_text(v) for v in row] for row in rows)
    atomic_write_text(path, buf.getvalue())


def write_repair(clean_text: str, corrections: list[Correction], report_dir: Path) -> None:
    """clean.txt (repaired body, pages split by form feeds) and corrections.jsonl (one change or
    flagged candidate a line)."""
    atomic_write_text(report_dir / "clean.txt", clean_text + "\n")
    atomic_write_text(
        report_dir / "corrections.jsonl",
        "".join(c.model_dump_json() + "\n" for c in corrections),
    )


def write_commitments(
    report: CommitmentReport, commitment_rows: list[dict], actor_rows: list[dict], report_dir: Path
) -> None:
    """commitments.json (schema: pipeline/schema/commitments.schema.json), commitments.csv (a row
    per commitment) and actors.csv (a row per commitment × actor)."""
    atomic_write_text(report_dir / "commitments.json", report.model_dump_json(indent=1) + "\n")
    atomic_write_csv(report_dir / "commitments.csv", commitment_rows)
    atomic_write_csv(report_dir / "actors.csv", actor_rows)
