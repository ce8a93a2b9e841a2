"""The corpus-wide catalog for archivists: `OUT/catalog.csv` (a row per commitment) and
`OUT/catalog.sqlite`, rebuilt from the per-report outputs after every run.

Sources: `OUT/summary.json` (the latest run's verdict per report; a report that failed has no
folder, only its error) names the reports; for each one that succeeded, its folder `OUT/X/`:
`commitments.json` (a CommitmentReport, with the report's `country` and `plan`) and
`corrections.jsonl` (one Correction a line). A folder the latest run did not write (an input
renamed or left out since) is not listed; without a summary, every report folder is.

SQLite tables (every text column as printed in the report; `*_key` columns are lower case,
accents and punctuation removed, for matching — see `key()`):

    reports(report PK, file, ok, outcome, error, source, pages, ocr_pages, country, plan,
            commitments, corrections)                 ok, outcome NULL: no run summary in OUT;
                                                      outcome: success | partial | failure
    commitments(id PK, report, number, title, section, status, status_text, status_page,
                irm_completion, irm_results, pages, urls, flags)
    actors(commitment_id → commitments.id, report, commitment, name, acronym, sector, role,
           page, line, name_key, acronym_key)
    corrections(report, page, line, offset, original, replacement, rule, confidence, applied)

Which commitments did SEDENA take part in, in which plans, with what status? One query, matching
the acronym or (as whole words) the name; `:acronym` and `:name` are `key()` of what is asked
('sedena', 'defensa nacional'), so that "Secretaría" and "SECRETARIA" match alike; a NULL one
matches nothing:

    SELECT DISTINCT r.country, r.plan, c.report, c.number, c.title, c.status, a.role
    FROM actors AS a
    JOIN commitments AS c ON c.id = a.commitment_id
    JOIN reports AS r ON r.report = c.report
    WHERE a.acronym_key = :acronym OR ' ' || a.name_key || ' ' LIKE '% ' || :name || ' %'
    ORDER BY r.plan, c.report, c.id

In the sqlite3 shell: `.param set :acronym 'sedena'` and `.param set :name 'defensa nacional'`,
then the query.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import unicodedata
from pathlib import Path

from pipeline import irm_export
from pipeline.export import atomic_write_csv, atomic_write_table
from pipeline.models import CommitmentReport, Correction

CSV_NAME = "catalog.csv"
SQLITE_NAME = "catalog.sqlite"
IRM_CSV_NAME = "irm.csv"
CSV_COLUMNS = [
    "report", "kind", "country", "plan", "commitment", "title", "section", "status", "progress_pct",
    "irm_completion", "irm_results", "open_gov", "actors", "milestones", "pages", "urls", "flags",
]

_SCHEMA = """
CREATE TABLE reports (
    report TEXT PRIMARY KEY, file TEXT, ok INTEGER, outcome TEXT, error TEXT, source TEXT, pages INTEGER,
    ocr_pages INTEGER, kind TEXT, country TEXT, plan TEXT, commitments INTEGER, corrections INTEGER
);
CREATE TABLE commitments (
    id INTEGER PRIMARY KEY, report TEXT NOT NULL REFERENCES reports(report), number TEXT,
    title TEXT, section TEXT, status TEXT, status_text TEXT, status_page INTEGER, progress_pct REAL,
    irm_completion TEXT, irm_results TEXT, open_gov TEXT, milestones INTEGER, pages TEXT, urls TEXT, flags TEXT
);
CREATE TABLE actors (
    commitment_id INTEGER NOT NULL REFERENCES commitments(id), report TEXT NOT NULL,
    commitment INTEGER, name TEXT, acronym TEXT, sector TEXT, role TEXT, page INTEGER,
    line INTEGER, name_key TEXT, acronym_key TEXT
);
CREATE TABLE corrections (
    report TEXT NOT NULL REFERENCES reports(report), page INTEGER, line INTEGER, offset INTEGER,
    original TEXT, replacement TEXT, rule TEXT, confidence REAL, applied INTEGER
);
CREATE INDEX commitments_report ON commitments(report, number);
CREATE INDEX actors_name ON actors(name_key);
CREATE INDEX actors_acronym ON actors(acronym_key);
CREATE INDEX corrections_report ON corrections(report, page, line);
"""


class CatalogError(Exception):
    """A per-report output the catalog cannot read; the message names the file."""


def key(text: str | None) -> str:
    """Lower case, accents and punctuation removed, single spaces: 'Secretaría de la Defensa
    Nacional (SEDENA)' → 'secretaria de la defensa nacional sedena'."""
    if not text:
        return ""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain.casefold()).split())


def _report_dirs(out: Path) -> list[Path]:
    """Report folders: the non-hidden subfolders holding outputs (the cache lives in `.cache`)."""
    return sorted(
        d for d in out.iterdir()
        if d.is_dir() and not d.name.startswith(".") and any(f.is_file() for f in d.iterdir())
    )


def _read_summary(out: Path) -> dict[str, dict] | None:
    path = out / "summary.json"
    if not path.exists():
        return None
    try:
        return {s["report"]: s for s in json.loads(path.read_text(encoding="utf-8"))}
    except (ValueError, KeyError, TypeError) as exc:
        raise CatalogError(f"{path}: not a run summary ({exc}); re-run `ogp run` to rewrite it") from exc


def _read_commitments(path: Path) -> CommitmentReport | None:
    if not path.exists():
        return None
    try:
        return CommitmentReport.model_validate_json(path.read_bytes())
    except ValueError as exc:
        raise CatalogError(f"{path}: not a CommitmentReport ({exc}); re-run with --force") from exc


def _read_corrections(path: Path) -> list[Correction]:
    if not path.exists():
        return []
    found = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    found.append(Correction.model_validate_json(line))
                except ValueError as exc:
                    raise CatalogError(f"{path}, line {n}: not a Correction ({exc}); re-run with --force") from exc
    return found


def _actor_label(name: str, acronym: str | None, role: str) -> str:
    return f"{name}{f' ({acronym})' if acronym else ''} [{role}]"


def _fill(db: sqlite3.Connection, out: Path) -> tuple[list[dict], list[CommitmentReport]]:
    """Insert every report's rows; return the CSV rows (one per commitment) and the reports read."""
    summary = _read_summary(out)
    dirs = {d.name: d for d in _report_dirs(out)}
    csv_rows: list[dict] = []
    reports: list[CommitmentReport] = []
    for name in sorted(summary if summary is not None else dirs):
        s = (summary or {}).get(name, {})
        folder = dirs.get(name) if s.get("ok", True) else None  # a failed report's old folder is not its result
        report = _read_commitments(folder / "commitments.json") if folder else None
        corrections = _read_corrections(folder / "corrections.jsonl") if folder else []
        error = s.get("error")
        db.execute(
            "INSERT INTO reports VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (name, s.get("file"), None if "ok" not in s else int(bool(s["ok"])), s.get("outcome"),
             json.dumps(error, ensure_ascii=False) if error else None, s.get("source"), s.get("pages"),
             s.get("ocr_pages"), report.kind if report else None, report.country if report else None,
             report.plan if report else None,
             len(report.commitments) if report else None, len(corrections) if folder else None),
        )
        db.executemany(
            "INSERT INTO corrections VALUES (?,?,?,?,?,?,?,?,?)",
            [(name, c.page, c.line, c.offset, c.original, c.replacement, c.rule, c.confidence, int(c.applied))
             for c in corrections],
        )
        if report:
            reports.append(report)
        for c in report.commitments if report else []:
            irm = c.irm
            cur = db.execute(
                "INSERT INTO commitments (report, number, title, section, status, status_text, status_page,"
                " progress_pct, irm_completion, irm_results, open_gov, milestones, pages, urls, flags)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (name, c.number, c.title, c.section, c.status, c.status_text, c.status_page, c.progress_pct,
                 irm.completion if irm else None, irm.results if irm else None, c.open_gov, len(c.milestones),
                 " ".join(map(str, c.pages)), " ".join(c.urls), "; ".join(c.flags)),
            )
            db.executemany(
                "INSERT INTO actors VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(cur.lastrowid, name, c.number, a.name, a.acronym, a.sector, a.role,
                  a.evidence.page if a.evidence else None, a.evidence.line if a.evidence else None,
                  key(a.name), key(a.acronym)) for a in c.actors],
            )
            csv_rows.append({
                "report": name, "kind": report.kind or "", "country": report.country or "", "plan": report.plan or "",
                "commitment": c.number, "title": c.title, "section": c.section or "", "status": c.status or "",
                "progress_pct": "" if c.progress_pct is None else c.progress_pct,
                "irm_completion": (irm.completion if irm else None) or "",
                "irm_results": (irm.results if irm else None) or "", "open_gov": c.open_gov or "",
                "actors": "; ".join(_actor_label(a.name, a.acronym, a.role) for a in c.actors),
                "milestones": len(c.milestones),
                "pages": " ".join(map(str, c.pages)), "urls": " ".join(c.urls), "flags": "; ".join(c.flags),
            })
    return csv_rows, reports


def _counts(db: sqlite3.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("reports", "commitments", "actors", "corrections")}


def build_catalog(out: Path) -> dict:
    """Rebuild OUT/catalog.sqlite, OUT/catalog.csv and OUT/irm.csv (the commitments in the OGP IRM
    data's columns, `pipeline.irm_export`) from OUT's per-report outputs. Each is replaced
    atomically (built in a temp file beside it, then renamed). Returns their paths and
    the row count of each table."""
    out = Path(out)
    sqlite_path, csv_path = out / SQLITE_NAME, out / CSV_NAME
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{SQLITE_NAME}.", suffix=".tmp")
    os.close(fd)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600 files; the catalog is an ordinary file
        db = sqlite3.connect(tmp)
        try:
            db.executescript(_SCHEMA)
            csv_rows, reports = _fill(db, out)
            db.commit()  # synchronous=FULL: on disk before the rename
            counts = _counts(db)
        finally:
            db.close()
        atomic_write_csv(csv_path, csv_rows, CSV_COLUMNS)
        atomic_write_table(out / IRM_CSV_NAME, *irm_export.rows(reports))
        os.replace(tmp, sqlite_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + "-journal").unlink(missing_ok=True)
        raise
    return {"sqlite": sqlite_path, "csv": csv_path, **counts}
