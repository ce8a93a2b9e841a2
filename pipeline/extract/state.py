"""What the pipeline's components find, kept on the Doc (`doc.user_data["ogp"]`) until it is
turned into a `CommitmentReport`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from pipeline.extract.text import LineMap

KEY = "ogp"

for _name in ("ogp_bol", "ogp_eol", "ogp_name"):
    if not Token.has_extension(_name):
        Token.set_extension(_name, default=False)


@dataclass
class Block:
    """A sub-heading of a commitment section ("Autoevaluación", "¿Qué sigue?" …) and the tokens
    and lines under it."""

    label: str
    line: int  # index into LineMap.lines of the heading line
    head_start: int  # first token of the heading
    start: int  # first token after the heading
    end: int  # token after the block
    last_line: int  # last line index of the block (inclusive)


@dataclass
class Mention:
    """An organisation named in the text."""

    start: int
    end: int
    name: str  # display name (repaired)
    key: str  # identity within the report
    sector: Optional[str]
    kind: str = "actor"
    source: str = "head"  # gazetteer | head | acronym | list | fuzzy
    acronym: Optional[str] = None  # acronym printed right after it, "(SFP)"
    plural: Optional[str] = None  # singular head when the mention is a coordinated plural
    org_name: Optional[str] = None  # the gazetteer's canonical name


@dataclass
class ActorFound:
    mention: Mention
    name: str
    key: str
    sector: Optional[str]
    role: str = "participante"
    explicit_role: bool = False
    line: int = 0  # index into LineMap.lines


@dataclass
class Section:
    """One commitment: its heading, its lines and what was read in them."""

    number: str  # as printed; the document order when `number_printed` is False
    heading_line: int
    title: str
    title_lines: list[int]
    title_end: int  # first token after the title
    start: int  # first token of the heading
    end: int  # token after the section
    first_line: int
    last_line: int
    part: Optional[str] = None
    part_line: Optional[int] = None
    blocks: list[Block] = field(default_factory=list)
    status: Optional[str] = None
    status_text: Optional[str] = None
    status_line: Optional[int] = None
    status_rule: Optional[str] = None  # how the status was read (pipeline/extract/confidence.py)
    actors: list[ActorFound] = field(default_factory=list)
    irm_text: Optional[str] = None
    irm_completion: Optional[str] = None
    irm_results: Optional[str] = None
    irm_line: Optional[int] = None
    irm_end: Optional[int] = None  # token after the IRM paragraph
    urls: list[str] = field(default_factory=list)
    url_lines: list[int] = field(default_factory=list)
    url_rule: Optional[str] = None  # body, table, or how the two were reconciled
    table_row: Optional["TableRow"] = None
    title_from_table: bool = False
    title_evidence_line: Optional[int] = None
    flags: list[str] = field(default_factory=list)
    number_printed: bool = True
    field_actors: bool = False  # the actors come from the template's fields
    summary: list = field(default_factory=list)  # SummaryEntry: where the report names it again
    progress_pct: Optional[float] = None
    progress_text: Optional[str] = None
    progress_line: Optional[int] = None
    progress_rule: Optional[str] = None  # in the section or in a summary entry
    milestones: list = field(default_factory=list)  # MilestoneFound
    assessments_found: list = field(default_factory=list)  # assessment.AssessmentFound
    ticks: list = field(default_factory=list)  # grid.Tick: levels ticked in a grid (completion)
    status_tick: Optional[object] = None  # the grid.Tick the status was taken from
    open_gov: Optional[str] = None
    starred: Optional[bool] = None

    def narrative_end(self) -> int:
        """Token where the narrative stops and the self-assessment blocks begin."""
        return self.blocks[0].head_start if self.blocks else self.end

    def block(self, *labels: str) -> list[Block]:
        return [b for b in self.blocks if b.label in labels]


@dataclass
class TableRow:
    title: str
    lines: list[int]
    url_fragments: list[str] = field(default_factory=list)
    url_lines: list[int] = field(default_factory=list)


@dataclass
class Extraction:
    lm: LineMap
    tok_line: list[int] = field(default_factory=list)  # LineMap.lines index of each token
    line_first_tok: dict[int, int] = field(default_factory=dict)
    line_end_tok: dict[int, int] = field(default_factory=dict)
    bol_toks: list[int] = field(default_factory=list)  # the token opening each line (`token._.ogp_bol`)
    headings: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)  # line → matches
    sections: list[Section] = field(default_factory=list)
    part_lines: list[tuple[int, Optional[str]]] = field(default_factory=list)
    table_first: Optional[int] = None
    table_last: Optional[int] = None
    table_rows: list[TableRow] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    acronyms: dict[str, str] = field(default_factory=dict)  # org key → acronym as printed
    country: Optional[str] = None
    plan: Optional[str] = None
    fields: list = field(default_factory=list)  # fields.FieldHit, in Doc order
    summary: list = field(default_factory=list)  # headings.SummaryEntry not tied to a section
    kind: Optional[str] = None  # the kind of report (models.ReportKind)
    assessment_when: Optional[str] = None  # when the report's own assessments are made (models.AssessmentWhen)
    assessment_by: Optional[str] = None  # who makes them (models.AssessmentBy)
    stated_count: Optional[int] = None
    body_size: Optional[float] = None  # median type size (or line height) of the body
    layout: Optional[str] = None  # how commitments were found: numbered | template | list
    flags: list[str] = field(default_factory=list)
    grids: list = field(default_factory=list)  # grid.Grid: tables whose ticks are assessments
    totals: list = field(default_factory=list)  # grid.Totals: tables that count commitments per level
    milestone_tables: list = field(default_factory=list)  # grid.MilestoneTable: milestones listed in a table


def state(doc: Doc) -> Extraction:
    return doc.user_data[KEY]



def matches_from(matcher: Matcher, doc: Doc, starts: Iterable[int], words: int) -> list[tuple[int, int, int]]:
    """The matches of `matcher(doc)` that begin at one of `starts`, for patterns of at most `words`
    word tokens with only punctuation between them: the matcher runs over the span from each start
    to its `words`-th word token, where such a match must end. A Matcher tries every pattern at every
    token: for patterns that can only begin at a few known tokens, far less work (each call costs
    ~0.5 ms, so the starts must be few: the caller filters them first)."""
    found: list[tuple[int, int, int]] = []
    n = len(doc)
    for start in sorted(set(starts)):
        end, seen = start, 0
        while end < n and seen < words:
            seen += not doc[end].is_punct
            end += 1
        found += [(m, start + s, start + e) for m, s, e in matcher(doc[start:end]) if s == 0]
    return found
