"""Regression gates: the least figures each gold report must reach (`gold/gates.toml`).

A gate file names, per gold report, the figures of its `pipeline.score.score_report` entry that
must reach a floor, as dotted paths into that entry::

    [reports."ec-plan-2019-2022"]
    required = false                  # not scored (its input was not run): reported, not failed
    "commitments.found" = 10
    "actors.micro_all.f1" = 0.90

`check` returns one line per figure and the failures; a report marked `required` that was not
scored is a failure.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class GateResult:
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def load(path: Path) -> dict:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: not a readable gate file ({exc})") from exc
    reports = data.get("reports")
    if not isinstance(reports, dict) or not all(isinstance(v, dict) for v in reports.values()):
        raise ValueError(f'{path}: needs [reports."NAME"] tables of floors')
    return reports


def _get(entry: dict, dotted: str):
    value = entry
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


def check(result: dict, gates: dict) -> GateResult:
    """Every floor of `gates` against the per-report entries of a `score_corpus` result."""
    out = GateResult()
    by_name = {r["report"]: r for r in result["reports"]}
    for name, floors in gates.items():
        entry = by_name.get(name)
        required = bool(floors.get("required", False))
        if entry is None or "error" in entry:
            why = entry["error"] if entry else "no gold of that name"
            line = f"{name}: not scored ({why})"
            out.lines.append(line)
            if required:
                out.failures.append(line)
            continue
        for dotted, floor in floors.items():
            if dotted == "required":
                continue
            try:
                value = _get(entry, dotted)
            except KeyError:
                line = f"{name}: {dotted}: no such figure in the score"
                out.lines.append(line)
                out.failures.append(line)
                continue
            ok = value is not None and value >= floor
            line = f"{name}: {dotted} = {value if not isinstance(value, float) else round(value, 4)} (floor {floor}) {'ok' if ok else 'BELOW'}"
            out.lines.append(line)
            if not ok:
                out.failures.append(line)
    return out
