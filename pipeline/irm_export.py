"""Our commitments in the columns of the OGP IRM commitments data (`irm.csv`), so that a batch's
output can be merged with the OGP's own database (columns in `pipeline/data/export/irm_columns.txt`,
taken from that data's header).

Filled columns (the others stay empty; Action Plan Number too: the OGP counts a country's plans, a
report prints the plan's name), Country, Comm No, Commitment Title, Start
Date / End Date (the first milestone's start and the last one's end, as printed), Lead Institution
(the `responsable` actors), Supporting Institution(s) (the others), Completion (progress report)
(the assessment made at mid-term or in a progress report), Completion (end of term) (the one made
at the end of term or in the end-of-term self-assessment), Did it open government (end of term
only), Starred. Levels are written in the OGP file's own words ("b. Limited", "c. Marginal").
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from pipeline.models import Commitment, CommitmentReport

COLUMNS_FILE = Path(__file__).resolve().parent / "data" / "export" / "irm_columns.txt"
COMPLETION = {"no_iniciado": "a. Not started", "limitado": "b. Limited", "sustancial": "c. Substantial",
              "completo": "d. Complete", "retirado": "Withdrawn"}
OPEN_GOV = {"empeoro": "a. Worsened", "no_cambio": "b. None", "marginal": "c. Marginal",
            "significativo": "d. Major", "excepcional": "e. Outstanding"}
PROGRESS_WHEN = ("mid_term", "progress_report")
END_WHEN = ("end_of_term", "self_assessment")


def columns() -> list[str]:
    """The OGP file's header, an unnamed column as ''."""
    out = []
    for raw in COLUMNS_FILE.read_text(encoding="utf-8").splitlines():
        if raw.startswith("#"):
            continue
        out.append("" if raw == "-" else raw)
    return out


def _level_at(c: Commitment, moments: tuple[str, ...]) -> Optional[str]:
    """The first assessment made at one of these moments (the status is listed first)."""
    levels = [a.level for a in c.assessments if a.level and a.when in moments]
    return COMPLETION.get(levels[0]) if levels else None


def row(report: CommitmentReport, c: Commitment) -> dict[str, str]:
    lead = [a.name for a in c.actors if a.role == "responsable"]
    support = [a.name for a in c.actors if a.role != "responsable"]
    starts = [m.start for m in c.milestones if m.start]
    ends = [m.end for m in c.milestones if m.end]
    values = {
        "Country": report.country or "",
        "Comm No": c.number,
        "Commitment Title": c.title,
        "Start Date": starts[0] if starts else "",
        "End Date": ends[-1] if ends else "",
        "Lead Institution": "; ".join(lead),
        "Supporting Institution(s)": "; ".join(support),
        "Completion (progress report)": _level_at(c, PROGRESS_WHEN) or "",
        "Completion (end of term)": _level_at(c, END_WHEN) or "",
        "Did it open government (end of term only)": OPEN_GOV.get(c.open_gov or "", ""),
        "Starred (current formula) end of term": "" if c.starred is None else str(int(c.starred)),
    }
    return values


def rows(reports: Iterable[CommitmentReport]) -> tuple[list[str], list[list[str]]]:
    """(header, one row per commitment) in the OGP file's column order."""
    header = columns()
    out = []
    for report in reports:
        for c in report.commitments:
            values = row(report, c)
            out.append([values.get(col, "") if col else "" for col in header])
    return header, out
