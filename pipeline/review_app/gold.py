"""A reviewer's decisions written into the gold set: `GOLD/X/commitments.json` and its review log.

The gold file is the format `pipeline.score` reads (a `CommitmentReport` naming its input by
`source_sha256`). Each decision reads it, changes what was decided and nothing else, validates the
result as a `CommitmentReport` and writes it atomically (temp file, fsync, rename), then appends one
line to `GOLD/X/review-log.jsonl`: who, when, what value, the action, the value before and after.
The log file is also the lock (an flock held over read, change and write), so two review apps on
one gold set cannot lose each other's decisions.

For a report without gold, the first decision creates `GOLD/X/commitments.json` (X the report's
output folder name) holding the report's name and `source_sha256` and then only what reviewers
decided: a commitment enters it, with its printed number and extracted title (what `ogp score`
pairs commitments by), when a value of it is first decided; its other fields stay empty until
decided. Decisions on a value:

| value | accept | correct | delete |
| --- | --- | --- | --- |
| title | the gold title := the extracted one | := the reviewer's | the commitment is not one: removed from gold |
| section, status, URLs, % | gold := the extracted value | := the reviewer's | gold := empty (none printed) |
| actor, milestone | the paired gold item := the extracted one (added when none pairs) | := the reviewer's | the paired gold item removed |

and two additions: a missed actor of a commitment, and a missed commitment (number and title).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, get_args

from pipeline.export import atomic_write_text
from pipeline.models import Actor, Commitment, CommitmentReport, Evidence, Milestone, Role, Sector, Status
from pipeline.outdir import report_folder
from pipeline.review_app.values import paired_commitments, paired_items
from pipeline.score import find_gold, gold_by_source

LOG_NAME = "review-log.jsonl"
ACTIONS = ("accept", "correct", "delete")
STATUSES = get_args(Status)
SECTORS = get_args(Sector)
ROLES = get_args(Role)
SECTIONS = ("activos", "inactivos")


class DecisionError(ValueError):
    """A decision that cannot be applied (a bad value, a stale page, a gold of another file)."""


@dataclass
class GoldFile:
    folder: Path
    exists: bool

    @property
    def path(self) -> Path:
        return self.folder / "commitments.json"

    @property
    def log(self) -> Path:
        return self.folder / LOG_NAME


def locate(gold_root: Path, name: str, sha256: Optional[str]) -> GoldFile:
    """The gold of report `name`: the file naming its input by content, else `gold_root/name`
    (refused when that one describes another input); `name` must be a safe folder name."""
    found = find_gold(gold_root, sha256, name, gold_by_source(gold_root)) if gold_root.is_dir() else None
    if found is not None:
        other = json.loads(found.read_text(encoding="utf-8")).get("source_sha256")
        if other and sha256 and other != sha256:
            raise DecisionError(f"{found} describes another input file (source_sha256 {other[:12]}…)")
        return GoldFile(found.parent, True)
    return GoldFile(report_folder(gold_root, name), False)


def load(gold: GoldFile) -> Optional[CommitmentReport]:
    return CommitmentReport.model_validate_json(gold.path.read_bytes()) if gold.exists else None


def decided_ids(gold: GoldFile, pred_sha: str) -> set[str]:
    """The values decided on this prediction (`commitments.json` of sha256 `pred_sha`)."""
    if not gold.log.is_file():
        return set()
    out = set()
    for line in gold.log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash: the decision before it stands
        if isinstance(entry, dict) and entry.get("prediction_sha256") == pred_sha:
            out.add(entry.get("value"))
    return out


def log_entries(gold: GoldFile) -> list[dict]:
    if not gold.log.is_file():
        return []
    entries = []
    for line in gold.log.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


@contextmanager
def _locked(gold: GoldFile) -> Iterator[Any]:
    gold.folder.mkdir(parents=True, exist_ok=True)
    with open(gold.log, "a", encoding="utf-8") as log:
        fcntl.flock(log.fileno(), fcntl.LOCK_EX)
        try:
            yield log
        finally:
            fcntl.flock(log.fileno(), fcntl.LOCK_UN)


def _indent(text: str) -> int:
    """The indent the gold file is written with (kept, so a decision's diff is only the decision)."""
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" ")
        if stripped:
            return max(1, len(line) - len(stripped))
    return 1


_MACHINE = {"rule", "confidence"}


def _plain(item: Actor | Milestone) -> dict:
    """An actor or milestone as gold holds it: its evidence without the extraction rule and its
    confidence (a person decided it)."""
    return item.model_dump(mode="json", exclude={"evidence": _MACHINE})


def _choice(value: str, allowed: tuple, what: str, empty_ok: bool = False) -> Optional[str]:
    value = (value or "").strip()
    if not value and empty_ok:
        return None
    if value not in allowed:
        raise DecisionError(f"{what} must be one of {', '.join(allowed)}")
    return value


def _text(value: str, what: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise DecisionError(f"{what} is empty")
    return value


def _pct(value: str) -> Optional[float]:
    value = (value or "").strip().rstrip("%").replace(",", ".")
    if not value:
        return None
    try:
        pct = float(value)
    except ValueError:
        raise DecisionError(f"{value!r} is not a percentage") from None
    if not 0 <= pct <= 100:
        raise DecisionError("a percentage is between 0 and 100")
    return pct


def actor_from_form(form: dict[str, str], evidence: Optional[Evidence] = None) -> Actor:
    return Actor(name=_text(form.get("name", ""), "the name"), acronym=(form.get("acronym") or "").strip() or None,
                 sector=_choice(form.get("sector", ""), SECTORS, "sector", empty_ok=True),
                 role=_choice(form.get("role", ""), ROLES, "role"), evidence=evidence)


def milestone_from_form(form: dict[str, str], evidence: Optional[Evidence] = None) -> Milestone:
    return Milestone(number=(form.get("number") or "").strip() or None, text=_text(form.get("text", ""), "the text"),
                     start=(form.get("start") or "").strip() or None, end=(form.get("end") or "").strip() or None,
                     progress_pct=_pct(form.get("progress_pct", "")), evidence=evidence)


def _scalar_from_form(kind: str, form: dict[str, str]) -> Any:
    value = form.get("new", "")
    if kind == "title":
        return _text(value, "the title")
    if kind == "status":
        return _choice(value, STATUSES, "status")
    if kind == "section":
        return _choice(value, SECTIONS, "section")
    if kind == "urls":
        urls = value.split()
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls):
            raise DecisionError("URLs are http(s) links, separated by spaces")
        return urls
    return _pct(value)


class Review:
    """Decisions on one report: its prediction (`OUT/X/commitments.json`) and its gold."""

    def __init__(self, pred: CommitmentReport, pred_sha: str, gold: GoldFile, reviewer: str):
        self.pred, self.pred_sha, self.gold, self.reviewer = pred, pred_sha, gold, reviewer

    def decide(self, value_id: str, action: str, form: dict[str, str]) -> dict:
        """Apply accept / correct / delete on a value; returns the log entry written."""
        if action not in ACTIONS:
            raise DecisionError(f"unknown action {action!r}")
        j, kind, k = _parse_id(value_id, self.pred)
        return self._write(value_id, action, lambda doc, report: self._apply(doc, report, j, kind, k, action, form))

    def add_actor(self, commitment: int, form: dict[str, str]) -> dict:
        if not 0 <= commitment < len(self.pred.commitments):
            raise DecisionError("no such commitment")
        actor = actor_from_form(form)

        def apply(doc: dict, report: Optional[CommitmentReport]):
            gc = self._gold_commitment(doc, report, commitment)
            gc.setdefault("actors", []).append(_plain(actor))
            return None, _plain(actor)
        return self._write(f"c{commitment}.actor.new", "add", apply)

    def add_commitment(self, form: dict[str, str]) -> dict:
        number, title = _text(form.get("number", ""), "the number"), _text(form.get("title", ""), "the title")

        def apply(doc: dict, report: Optional[CommitmentReport]):
            if any(str(c.get("number")) == number for c in doc["commitments"]):
                raise DecisionError(f"the gold already has a commitment {number}")
            doc["commitments"].append({"number": number, "title": title})
            return None, {"number": number, "title": title}
        return self._write("commitment.new", "add", apply)

    # --- applying ---------------------------------------------------------------------------

    def _write(self, value_id: str, action: str, apply) -> dict:
        with _locked(self.gold) as log:
            exists = self.gold.path.is_file()
            text = self.gold.path.read_text(encoding="utf-8") if exists else ""
            doc = json.loads(text) if exists else {"report": self.gold.folder.name,
                                                    "source_sha256": self.pred.source_sha256, "commitments": []}
            doc.setdefault("commitments", [])
            report = CommitmentReport.model_validate(doc) if exists else None
            before, after = apply(doc, report)
            CommitmentReport.model_validate(doc)  # never write what `ogp score` cannot read
            atomic_write_text(self.gold.path, json.dumps(doc, ensure_ascii=False, indent=_indent(text)) + "\n")
            self.gold.exists = True
            entry = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "who": self.reviewer,
                     "report": self.pred.report, "prediction_sha256": self.pred_sha, "value": value_id,
                     "action": action, "before": before, "after": after}
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            log.flush()
            os.fsync(log.fileno())
            return entry

    def _gold_commitment(self, doc: dict, report: Optional[CommitmentReport], j: int) -> dict:
        """The gold commitment paired with predicted commitment j, entered (number, title) when none is."""
        pairs = paired_commitments(report, self.pred) if report is not None else {}
        if j in pairs:
            return doc["commitments"][pairs[j]]
        p = self.pred.commitments[j]
        entry = {"number": p.number, "number_printed": p.number_printed, "title": p.title}
        if "title" in p.evidence:
            entry["evidence"] = {"title": p.evidence["title"].model_dump(mode="json", exclude=_MACHINE)}
        doc["commitments"].append(entry)
        return entry

    def _apply(self, doc: dict, report: Optional[CommitmentReport], j: int, kind: str, k: Optional[int],
               action: str, form: dict[str, str]):
        p = self.pred.commitments[j]
        pairs = paired_commitments(report, self.pred) if report is not None else {}
        if kind == "title" and action == "delete":
            if j not in pairs:
                return None, None  # the gold has no such commitment: it stays without one
            removed = doc["commitments"].pop(pairs[j])
            return removed.get("title"), None
        gc = self._gold_commitment(doc, report, j)
        if kind in ("actor", "milestone"):
            return self._apply_item(gc, report.commitments[pairs[j]] if j in pairs else None, p, kind, k, action, form)
        key = kind
        before = gc.get(key)
        if action == "accept":
            after = getattr(p, kind)
        elif action == "correct":
            after = _scalar_from_form(kind, form)
        else:
            after = [] if kind == "urls" else None
        gc[key] = after
        if kind == "status":
            gc["status_text"] = p.status_text if action == "accept" else None
        return before, after

    @staticmethod
    def _apply_item(gc: dict, g: Optional[Commitment], p: Commitment, kind: str, k: int, action: str,
                    form: dict[str, str]):
        field = "actors" if kind == "actor" else "milestones"
        items = gc.setdefault(field, [])
        gi = paired_items(kind, g, p).get(k) if g is not None else None
        pred_item = (p.actors if kind == "actor" else p.milestones)[k]
        before = items[gi] if gi is not None else None
        if action == "delete":
            if gi is not None:
                items.pop(gi)
            return before, None
        if action == "accept":
            new = pred_item
        else:
            make = actor_from_form if kind == "actor" else milestone_from_form
            new = make(form, evidence=pred_item.evidence)
        after = _plain(new)
        if gi is None:
            items.append(after)
        else:
            items[gi] = after
        return before, after


def _parse_id(value_id: str, pred: CommitmentReport) -> tuple[int, str, Optional[int]]:
    """``c<j>.<kind>[.<k>]`` → (j, kind, k), each checked against the prediction."""
    from pipeline.review_app.values import LISTS, SCALARS

    parts = value_id.split(".")
    try:
        j = int(parts[0].removeprefix("c")) if parts[0].startswith("c") else -1
        kind = parts[1]
        k = int(parts[2]) if len(parts) == 3 else None
    except (IndexError, ValueError):
        raise DecisionError(f"no value {value_id!r}") from None
    if not 0 <= j < len(pred.commitments) or len(parts) > 3:
        raise DecisionError(f"no value {value_id!r}")
    c = pred.commitments[j]
    if kind in SCALARS and k is None:
        return j, kind, None
    items = c.actors if kind == "actor" else c.milestones if kind == "milestone" else None
    if kind in LISTS and k is not None and 0 <= k < len(items):
        return j, kind, k
    raise DecisionError(f"no value {value_id!r}")
