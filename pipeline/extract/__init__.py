"""Extract: the commitments of a self-assessment report from its repaired body lines.

A blank Spanish spaCy pipeline (`spacy.blank`-style, no trained model) whose components are the
rule-based factories of this package, assembled from `pipeline/data/extract/pipeline.cfg`:

    ogp_tokens    token → line map, accent-free norms, line-start flags
    ogp_sections  part headings (active / inactive), `Compromiso N:` headings and titles,
                  sub-headings (Autoevaluación, Consulta los resultados, ¿Por qué…?, ¿Qué sigue?),
                  the summary table, sentence boundaries
    ogp_status    status and the words that state it
    ogp_orgs      organisations named anywhere (gazetteer, head-noun patterns, acronyms, lists)
    ogp_actors    which of them take part in each commitment, and their roles
    ogp_irm       the IRM's judgement and its levels
    ogp_table     the summary table's rows; damaged titles recovered from it
    ogp_urls      each commitment's results link, rebuilt and checked against the table
    ogp_front     the country and the action plan, from the front matter
    ogp_grid      levels ticked in the report's grids (IRM summary tables), given to their commitments
    ogp_assessment  completion levels printed after their cue, the open-government answer, the star
    ogp_totals    the statuses read compared with the report's totals tables (flags)

Every value keeps the page and line it was read from (`Commitment.evidence`, `Actor.evidence`),
the rule that read it and that rule's confidence (`pipeline/extract/confidence.py`); doubts and
conflicts go to `Commitment.flags`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import spacy
from spacy.language import Language

from pipeline import tables as table_reading
from pipeline.extract import assessment, components, fields, grid, links, orgs, progress  # noqa: F401  (registers the factories)
from pipeline.extract.confidence import evidence as rule_evidence
from pipeline.extract.gazetteer import DATA
from pipeline.extract.state import KEY, Block, Extraction, Section
from pipeline.extract.text import BULLET, MARKER, build_text
from pipeline.models import (Actor, Assessment, Commitment, CommitmentReport, Evidence, Footnote, IrmFinding, Line,
                             Milestone, Table)

CONFIG = DATA / "pipeline.cfg"
MAX_CHARS = 50_000_000
"""The longest report text extracted as one Doc (~20,000 pages)."""

__all__ = ["extract_commitments", "commitments_to_csv_rows", "build_pipeline", "load_pipeline", "CONFIG",
           "COMMITMENT_COLUMNS", "ACTOR_COLUMNS"]

COMMITMENT_COLUMNS = ["number", "number_printed", "title", "section", "status", "status_text", "status_page",
                      "progress_pct", "assessments", "n_milestones", "urls", "n_actors", "irm_completion",
                      "irm_results", "open_gov", "starred", "pages", "flags"]
ACTOR_COLUMNS = ["report", "number", "title", "name", "acronym", "sector", "role", "page", "line"]


def load_pipeline(overrides: dict | None = None) -> Language:
    """The extraction pipeline from its config, with `overrides` of config values (for example
    ``{"components.ogp_orgs.exclude": [...]}``), initialized: the rule components load their
    patterns here."""
    config = spacy.util.load_config(CONFIG, overrides=overrides or {})
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    nlp.initialize()
    # spaCy's 1,000,000-character cap guards its parser and entity recogniser, whose memory grows
    # with the text; this pipeline is a tokenizer and rule components, linear in the text, and a
    # 400-page report is one Doc so that sections and names can run across pages
    nlp.max_length = MAX_CHARS
    return nlp


@lru_cache(maxsize=1)
def build_pipeline() -> Language:
    """The extraction pipeline, built once from its config (blank Spanish, rule components)."""
    return load_pipeline()


def extract_commitments(lines: list[Line], report: str, footnotes: Iterable[Footnote] = (),
                        nlp: Language | None = None,
                        tables: Iterable[tuple[int, Table]] = ()) -> CommitmentReport:
    """The commitments of one report, in the order the report presents them.

    `lines` are the repaired body lines in reading order (`RepairResult.lines`), each with its page
    and line. `footnotes` (the report's footnotes) are accepted for the stage's interface but not
    read: the annotation rules take a commitment's actors and links from its body text only.
    `nlp`: another pipeline than the configured one (`load_pipeline` with overrides).
    `tables`: the report's tables as (page, `Table`) (`Document.tables()`); those whose marks tick
    assessment levels are read as grids (`pipeline.extract.grid`) and their lines left out of the text."""
    del footnotes
    nlp = nlp or build_pipeline()
    tables = list(tables)
    lines, grids, totals, milestone_tables = _tables(list(lines), tables)
    text, line_map = build_text(lines, *_cell_geometry(tables))
    doc = nlp.make_doc(text)
    doc.user_data[KEY] = Extraction(lm=line_map, grids=grids, totals=totals, milestone_tables=milestone_tables)
    doc = nlp(doc)
    ex: Extraction = doc.user_data[KEY]
    return CommitmentReport(report=report, kind=ex.kind, country=ex.country, plan=ex.plan,
                            stated_count=ex.stated_count, flags=ex.flags,
                            commitments=[_commitment(ex, sec) for sec in ex.sections])


def _tables(lines: list[Line], tables: Iterable[tuple[int, Table]]
            ) -> tuple[list[Line], list[grid.Grid], list[grid.Totals], list[grid.MilestoneTable]]:
    """Among `tables`, the grids (levels ticked), the totals tables (commitments counted per level)
    and the milestone tables; the body lines without the lines of the first two (table data, not
    prose), each grid placed after the last body line before it, and the lines of every other
    ruled table read cell by cell (`tables.cell_order`, as ingest reads them: a Document read
    before it did keeps its order otherwise)."""
    grids, totals, milestone_tables, table_lines, others = [], [], [], set(), []
    for page, table in tables:
        if (listed := grid.read_milestones(table, page, milestone_tables[-1] if milestone_tables else None)) is not None:
            milestone_tables.append(listed)
        ticks = grid.read_ticks(table, page)
        counted = None if ticks else grid.read_totals(table, page)
        if not ticks and not counted:
            others.append((page, table))
            continue
        cell_lines = {n for c in table.cells() for n in c.lines}
        if ticks:
            grids.append(grid.Grid(page=page, ticks=ticks, lines=cell_lines))
        else:
            totals.append(counted)
        table_lines |= {(page, n) for n in cell_lines}
    lines = table_reading.cell_order(lines, others)
    if not table_lines:
        return lines, grids, totals, milestone_tables
    in_grid = {(g.page, n): g for g in grids for n in g.lines}
    kept: list[Line] = []
    for ln in lines:
        if (ln.page, ln.line) not in table_lines:
            kept.append(ln)
            continue
        g = in_grid.get((ln.page, ln.line))
        if g is not None and g.after < 0 and kept:
            g.after = len(kept) - 1
    return kept, grids, totals, milestone_tables


def _cell_geometry(tables: list[tuple[int, Table]]) -> tuple[dict[tuple[int, int], float], set[tuple[int, int]]]:
    """(page, line) → the right edge of the line's table cell (where a line in it wraps), and the
    first line of each cell of the ruled tables: where the text breaks as at a blank line (a title
    or a value ends with its cell)."""
    right: dict[tuple[int, int], float] = {}
    starts: set[tuple[int, int]] = set()
    for page, table in tables:
        for c in table.cells():
            for n in c.lines:
                right.setdefault((page, n), c.bbox.x1)
            if c.lines and table.method == "ruling-lines":
                starts.add((page, min(c.lines)))
    return right, starts


TITLE_RULES = {"numbered": "title.numbered_heading", "template": "title.template_block", "list": "title.roman_list",
               "numbered list": "title.numbered_list"}
"""How a commitment's title was found, by the layout its commitments were found in (`Extraction.layout`)."""


def _evidence(ex: Extraction, line_indices: list[int], rule: str) -> Evidence:
    lines = [ex.lm.lines[i] for i in line_indices if ex.lm.lines[i].text.strip()]
    first = lines[0] if lines else ex.lm.lines[line_indices[0]]
    return rule_evidence(rule, first.page, first.line, " / ".join(ln.text.strip() for ln in lines))


def _tick_evidence(tick: grid.Tick, rule: str) -> Evidence:
    return rule_evidence(rule, tick.page, tick.line, tick.text)


def _actor_rule(sec: Section, actor) -> str:
    """An actor of the template's fields, else how its name was found in prose (`Mention.source`)."""
    return "actor.field" if sec.field_actors else f"actor.{actor.mention.source}"


def _commitment(ex: Extraction, sec: Section) -> Commitment:
    lm = ex.lm
    span = range(sec.first_line, sec.last_line + 1)
    evidence: dict[str, Evidence] = {}
    if sec.title_from_table and sec.title_evidence_line is not None:
        evidence["title"] = _evidence(ex, sec.table_row.lines if sec.table_row else [sec.title_evidence_line],
                                      "title.summary_table")
    else:
        evidence["title"] = _evidence(ex, sec.title_lines, TITLE_RULES[ex.layout])
    if sec.part_line is not None:
        evidence["section"] = _evidence(ex, [sec.part_line], "section.part_heading")
    if sec.status_line is not None:
        evidence["status"] = _evidence(ex, [sec.status_line], sec.status_rule)
    elif sec.status_tick is not None:
        evidence["status"] = _tick_evidence(sec.status_tick, sec.status_rule)
    if sec.url_lines:
        evidence["urls"] = _evidence(ex, sec.url_lines, sec.url_rule)
    irm = None
    if sec.irm_text:
        irm_ev = _evidence(ex, [sec.irm_line], "irm.paragraph")
        evidence["irm"] = irm_ev
        irm = IrmFinding(text=sec.irm_text, completion=sec.irm_completion, results=sec.irm_results, evidence=irm_ev)
    actors = [
        Actor(name=a.name, acronym=ex.acronyms.get(a.key), sector=a.sector, role=a.role,
              evidence=rule_evidence(_actor_rule(sec, a), lm.lines[a.line].page, lm.lines[a.line].line,
                                     lm.lines[a.line].text.strip()))
        for a in sec.actors
    ]
    milestones = [Milestone(number=m.number, text=m.text, start=m.start, end=m.end, progress_pct=m.progress_pct,
                            evidence=_evidence(ex, m.lines[:1], m.rule or ("milestone.numbered" if m.number
                                                                           else "milestone.unnumbered")))
                  for m in sec.milestones]
    assessments = []
    if sec.status is not None:
        when = (sec.status_tick.when if sec.status_tick is not None else None) or ex.assessment_when
        assessments.append(Assessment(level=sec.status, when=when, by=ex.assessment_by,
                                      text=sec.status_text or "", evidence=evidence.get("status")))
    if sec.progress_pct is not None:
        evidence["progress_pct"] = _evidence(ex, [sec.progress_line], sec.progress_rule)
        assessments.append(Assessment(when=ex.assessment_when, by=ex.assessment_by, text=sec.progress_text or "",
                                      progress_pct=sec.progress_pct, evidence=evidence["progress_pct"]))
    for a in sec.assessments_found:
        if (a.level, a.when) == (sec.status, ex.assessment_when) and a.line == sec.status_line:
            continue  # the status itself, listed above
        assessments.append(Assessment(level=a.level, when=a.when, by=ex.assessment_by,
                                      text=" ".join(lm.lines[a.line].text.split()),
                                      evidence=_evidence(ex, [a.line], "assessment.printed")))
    for t in sec.ticks:
        if any((a.level, a.when) == (t.level, t.when or ex.assessment_when) for a in assessments):
            continue  # the status, or printed in the text too
        assessments.append(Assessment(level=t.level, when=t.when or ex.assessment_when, by=ex.assessment_by,
                                      text=t.text, evidence=_tick_evidence(t, "assessment.grid_tick")))
    if irm is not None and irm.completion:
        assessments.append(Assessment(level=irm.completion, by="irm", text=irm.text, evidence=irm.evidence))
    return Commitment(
        number=sec.number,
        number_printed=sec.number_printed,
        title=sec.title,
        section=sec.part,
        status=sec.status,
        status_text=sec.status_text,
        status_page=(lm.lines[sec.status_line].page if sec.status_line is not None
                     else sec.status_tick.page if sec.status_tick is not None else None),
        assessments=assessments,
        progress_pct=sec.progress_pct,
        open_gov=sec.open_gov or (irm.results if irm is not None else None),
        starred=sec.starred,
        milestones=milestones,
        urls=sec.urls,
        actors=actors,
        irm=irm,
        reasons=[item for b in sec.block("REASONS", "PROGRESS") for item in _bullets(ex, b)],
        next_steps=[item for b in sec.block("NEXT_STEPS") for item in _bullets(ex, b)],
        pages=sorted({lm.lines[i].page for i in span if lm.lines[i].text.strip()}),
        evidence=evidence,
        flags=sec.flags,
    )


def _bullets(ex: Extraction, block: Block) -> list[str]:
    """The items under a `¿Por qué…?` / `¿Qué sigue?` heading: one per bullet (or per paragraph
    when the OCR lost the bullet marks)."""
    lm = ex.lm
    lines = [i for i in range(block.line, block.last_line + 1)
             if lm.lines[i].text.strip() and i not in lm.noise and i not in lm.link_only]
    heading = lm.lines[block.line].text
    body = lines[1:]
    if not heading.rstrip().endswith("?"):  # a heading over two lines
        while body and not BULLET.match(lm.lines[body[0]].text.strip()) and len(lm.lines[body[0]].text.split()) <= 3:
            body = body[1:]
    kinds = [_marker_kind(lm.lines[i].text) for i in body]
    marked = next((k for k in kinds if k), None)  # lettered sub-items inside bullets do not split them
    items: list[list[str]] = []
    for i, kind in zip(body, kinds):
        text = MARKER.sub("", lm.lines[i].text).strip()
        m = BULLET.match(text) if marked and kind == marked else None
        if m or not items or (not marked and i in lm.gap_before):
            items.append([text[m.end():] if m else text])
        else:
            items[-1].append(text)
    return [" ".join(" ".join(parts).split()) for parts in items if " ".join(parts).strip()]


def _marker_kind(text: str) -> str | None:
    m = BULLET.match(text.strip())
    if not m:
        return None
    return "letter" if ")" in m.group(0) else "bullet"


def commitments_to_csv_rows(report: CommitmentReport) -> tuple[list[dict], list[dict]]:
    """(one row per commitment, one row per commitment × actor), columns COMMITMENT_COLUMNS and
    ACTOR_COLUMNS."""
    commitments, actors = [], []
    for c in report.commitments:
        commitments.append({
            "number": c.number,
            "number_printed": c.number_printed,
            "title": c.title,
            "section": c.section or "",
            "status": c.status or "",
            "status_text": c.status_text or "",
            "status_page": c.status_page if c.status_page is not None else "",
            "progress_pct": c.progress_pct if c.progress_pct is not None else "",
            "assessments": " | ".join(
                "/".join(str(x) for x in (a.level or (f"{a.progress_pct:g}%" if a.progress_pct is not None else ""),
                                          a.when, a.by) if x) for a in c.assessments),
            "n_milestones": len(c.milestones),
            "urls": " ".join(c.urls),
            "n_actors": len(c.actors),
            "irm_completion": c.irm.completion or "" if c.irm else "",
            "irm_results": c.irm.results or "" if c.irm else "",
            "open_gov": c.open_gov or "",
            "starred": "" if c.starred is None else c.starred,
            "pages": " ".join(str(p) for p in c.pages),
            "flags": " | ".join(c.flags),
        })
        for a in c.actors:
            actors.append({
                "report": report.report,
                "number": c.number,
                "title": c.title,
                "name": a.name,
                "acronym": a.acronym or "",
                "sector": a.sector or "",
                "role": a.role,
                "page": a.evidence.page if a.evidence else "",
                "line": a.evidence.line if a.evidence and a.evidence.line is not None else "",
            })
    return commitments, actors

