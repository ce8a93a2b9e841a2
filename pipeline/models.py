"""Typed models that move between the stages: ingest → layout → repair → extract → score.

Every item keeps its provenance: the page it is on (1-based ordinal within the file), the line
(1-based ordinal within the page for PDFs, the source line number for text files) and, where the
source has one, a bounding box in PDF points (origin top-left).
"""
from __future__ import annotations

from enum import Enum
from typing import Literal, Optional

from pydantic import BaseModel, Field


class SourceKind(str, Enum):
    OCR = "ocr"
    TEXT_LAYER = "text-layer"
    TEXT_FILE = "text-file"


class LineRole(str, Enum):
    BODY = "body"
    HEADER = "header"
    FOOTER = "footer"
    PAGE_NUMBER = "page-number"
    FOOTNOTE = "footnote"


class BBox(BaseModel):
    x0: float
    top: float
    x1: float
    bottom: float

    @classmethod
    def union(cls, boxes: list["BBox"]) -> Optional["BBox"]:
        if not boxes:
            return None
        return cls(
            x0=min(b.x0 for b in boxes),
            top=min(b.top for b in boxes),
            x1=max(b.x1 for b in boxes),
            bottom=max(b.bottom for b in boxes),
        )


class Word(BaseModel):
    text: str
    bbox: Optional[BBox] = None
    conf: Optional[float] = Field(None, description="OCR confidence 0-100, None when not OCR")
    font_size: Optional[float] = Field(None, description="font size in points (text layer only)")
    bold: Optional[bool] = Field(None, description="set in a bold face (text layer only)")
    font: Optional[str] = Field(None, description="font name (text layer only)")


class Line(BaseModel):
    text: str
    page: int
    line: int = Field(description="line number: within the page (PDF) or in the source file (text)")
    words: list[Word] = Field(default_factory=list)
    bbox: Optional[BBox] = None
    column: Optional[int] = None
    block: Optional[int] = Field(None, description="layout block (paragraph/column chunk) index")
    conf: Optional[float] = None
    role: LineRole = LineRole.BODY
    font_size: Optional[float] = Field(None, description="font size of most of its characters")
    bold: Optional[bool] = Field(None, description="most of its characters are bold")


class Footnote(BaseModel):
    number: str
    text: str
    page: int
    lines: list[int] = Field(default_factory=list)


class Page(BaseModel):
    number: int = Field(description="1-based ordinal of the page within the file")
    label: Optional[str] = Field(None, description="page number printed on the page, if found")
    source: SourceKind
    width: Optional[float] = None
    height: Optional[float] = None
    lines: list[Line] = Field(default_factory=list)
    footnotes: list[Footnote] = Field(default_factory=list)
    text_quality: Optional[float] = Field(
        None, description="share of the text layer's words a Spanish lexicon knows"
    )
    notes: list[str] = Field(default_factory=list)
    images: list["ImageRegion"] = Field(
        default_factory=list, description="image regions of a text-layer page that were OCR'd, and why"
    )
    errors: list["PageError"] = Field(
        default_factory=list,
        description="what on the page could not be read: a page that failed OCR is kept empty, a text-layer page keeps its text",
    )
    tables: list["Table"] = Field(
        default_factory=list,
        description="the page's tables read cell by cell; their text is also in `lines`, which cells name",
    )

    def body_lines(self) -> list[Line]:
        return [ln for ln in self.lines if ln.role == LineRole.BODY]

    def body_text(self) -> str:
        return "\n".join(ln.text for ln in self.body_lines())


class Document(BaseModel):
    path: str
    sha256: str
    source: SourceKind
    pages: list[Page] = Field(default_factory=list)

    @property
    def name(self) -> str:
        from pathlib import Path

        return Path(self.path).stem

    def body_lines(self) -> list[Line]:
        return [ln for p in self.pages for ln in p.body_lines()]

    def body_text(self) -> str:
        """Body text in reading order, one form feed between pages."""
        return "\f".join(p.body_text() for p in self.pages)

    def footnotes(self) -> list[Footnote]:
        return [f for p in self.pages for f in p.footnotes]

    def tables(self) -> list[tuple[int, "Table"]]:
        """Every table of the document with its page number, in page order."""
        return [(p.number, t) for p in self.pages for t in p.tables]


class Correction(BaseModel):
    page: int
    line: int
    offset: int = Field(description="character offset of the original text within the line")
    original: str
    replacement: str
    rule: str
    confidence: float
    applied: bool = Field(True, description="False: flagged for review, not applied")


Status = Literal["no_iniciado", "limitado", "sustancial", "completo", "inactivo", "retirado"]
"""The OGP completion scale (IRM: Not started / Limited / Substantial / Complete), plus a commitment
the report calls inactive and one withdrawn from the plan. A report's own words are mapped onto it by
its legend (`pipeline/data/extract/status.jsonl`): "Completado" → completo, "avances limitados" →
limitado, "Avance sustancial" → sustancial."""
OpenGov = Literal["empeoro", "no_cambio", "marginal", "significativo", "excepcional"]
"""The IRM's "¿Se avanzó en la apertura del Gobierno?" (Did it open government?) level."""
ReportKind = Literal["action_plan", "self_assessment", "irm_progress", "irm_end_of_term", "government_progress"]
AssessmentWhen = Literal["self_assessment", "mid_term", "end_of_term", "progress_report", "design"]
AssessmentBy = Literal["government", "civil_society", "irm"]
Sector = Literal[
    "gobierno", "organismo_autonomo", "sociedad_civil", "academia", "sector_privado", "internacional"
]
Role = Literal["responsable", "corresponsable", "apoyo", "contraparte", "acompañante", "coadyuvante",
               "participante"]
"""What a commitment's template field or sentence says of an actor: `responsable` ("Institución
responsable", "¿Quién ejecuta?"), `corresponsable`, `apoyo` ("Institución(es) de apoyo", "Otros
actores involucrados"), `contraparte` (a civil-society counterpart, "(Contraparte)"), `acompañante`,
`coadyuvante`, and `participante` when only prose names it."""


class Evidence(BaseModel):
    """Where a value came from, so a reviewer can check it against the page, and how sure the rule
    that read it is (`pipeline/extract/confidence.py`; both None in hand-made gold)."""

    page: int
    line: Optional[int] = None
    text: str = ""
    rule: Optional[str] = Field(None, description="the extraction rule that read the value, e.g. actor.gazetteer")
    confidence: Optional[float] = Field(
        None, ge=0, le=1, description="how sure that rule is, 0-1 (pipeline/data/extract/confidence.tsv, set by hand)"
    )


class Actor(BaseModel):
    name: str
    acronym: Optional[str] = None
    sector: Optional[Sector] = None
    role: Role = "participante"
    evidence: Optional[Evidence] = None


class Assessment(BaseModel):
    """One judgement of a commitment's completion as the report prints it."""

    level: Optional[Status] = Field(None, description="on the OGP scale; None when only a % is printed")
    when: Optional[AssessmentWhen] = None
    by: Optional[AssessmentBy] = None
    text: str = Field("", description="the words as printed")
    progress_pct: Optional[float] = Field(None, description="a printed percentage of completion, 0-100")
    evidence: Optional[Evidence] = None


class Milestone(BaseModel):
    """A milestone (hito / meta / actividad) of a commitment."""

    number: Optional[str] = Field(None, description="as printed (\"1\", \"2.1\"), None when not numbered")
    text: str
    start: Optional[str] = Field(None, description="start date as printed")
    end: Optional[str] = Field(None, description="end date as printed")
    progress_pct: Optional[float] = Field(None, description="printed percentage of completion, 0-100")
    evidence: Optional[Evidence] = None


class IrmFinding(BaseModel):
    text: str = Field(description="the sentence(s) giving the IRM's judgement")
    completion: Optional[Literal["limitado", "sustancial", "completo"]] = None
    results: Optional[OpenGov] = None
    evidence: Optional[Evidence] = None


class Commitment(BaseModel):
    number: str = Field(description="as printed (\"3\", \"1.1\", \"III\"); the document order when "
                                    "none is printed (then `number_printed` is False)")
    number_printed: bool = True
    title: str
    section: Optional[Literal["activos", "inactivos"]] = None
    status: Optional[Status] = Field(None, description="the latest assessment's level")
    status_text: Optional[str] = None
    status_page: Optional[int] = None
    assessments: list[Assessment] = Field(default_factory=list)
    progress_pct: Optional[float] = Field(None, description="the latest printed % of completion, 0-100")
    open_gov: Optional[OpenGov] = None
    starred: Optional[bool] = None
    milestones: list[Milestone] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    actors: list[Actor] = Field(default_factory=list)
    irm: Optional[IrmFinding] = None
    reasons: list[str] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)
    pages: list[int] = Field(default_factory=list)
    evidence: dict[str, Evidence] = Field(
        default_factory=dict, description="field name → where its value was read"
    )
    flags: list[str] = Field(
        default_factory=list, description="conflicts or doubts a reviewer should look at"
    )


class CommitmentReport(BaseModel):
    """The extraction output for one report file (outputs/X/commitments.json)."""

    report: str
    source_sha256: Optional[str] = Field(None, description="SHA-256 of the input file: pairs gold with output")
    kind: Optional[ReportKind] = Field(None, description="the kind of report, recognised from the document")
    country: Optional[str] = Field(None, description="country whose action plan the report assesses, as printed")
    plan: Optional[str] = Field(None, description="the action plan assessed, as printed (e.g. its title and years)")
    stated_count: Optional[int] = Field(None, description="how many commitments the report says it has")
    commitments: list[Commitment] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="report-level doubts (count mismatches …)")


class ImageRegion(BaseModel):
    """A picture on a text-layer page that was OCR'd: where it is, why, and what it gave."""

    bbox: BBox
    reason: str
    words: int = Field(0, description="words OCR read in it and placed into the page's lines")


class PageError(BaseModel):
    """A page-level failure recorded on the page instead of failing the report."""

    error: str = Field(description="the error's type, e.g. OcrFailed")
    problem: str
    hint: str = ""


class Cell(BaseModel):
    """One cell of a `Table`: where it sits in the table's grid, its box and what it holds."""

    row: int = Field(description="0-based index of the grid row the cell starts in")
    column: int = Field(description="0-based index of the grid column the cell starts in")
    row_span: int = 1
    column_span: int = 1
    bbox: BBox
    text: str = Field("", description="the cell's words, its lines joined by newlines")
    mark: Optional[str] = Field(
        None, description="the mark the cell holds alone ('x', '✓', '■' …): a choice ticked in its column"
    )
    lines: list[int] = Field(default_factory=list, description="the page's lines (`Line.line`) with words in the cell")


class TableRow(BaseModel):
    bbox: BBox
    cells: list[Cell] = Field(default_factory=list, description="left to right")


class Table(BaseModel):
    """A table region of a page, read cell by cell."""

    bbox: BBox
    method: Literal["ruling-lines", "aligned-words"] = Field(
        description="found from its ruling lines (a text layer's paths) or from words aligned in columns"
    )
    columns: int = Field(description="grid columns; a cell spanning several has `column_span` > 1")
    rows: list[TableRow] = Field(default_factory=list, description="top to bottom")

    def cells(self) -> list[Cell]:
        return [c for r in self.rows for c in r.cells]

    def column_cells(self, column: int) -> list[Cell]:
        """The cells that cover grid column `column`, top to bottom."""
        return [c for c in self.cells() if c.column <= column < c.column + c.column_span]
