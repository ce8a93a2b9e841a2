"""Assessments printed by IRM reports and progress reports (`pipeline/data/extract/assessment.jsonl`).

In each commitment section, `ogp_assessment` reads
- completion levels on the OGP scale after a cue ("Cumplimiento", "Nivel de cumplimiento"), each
  with its moment when one is printed before it ("Medio término: Limitado. Fin de término:
  Sustancial"), else the report's own moment (from its kind);
- the answer to "¿Se avanzó en la apertura del Gobierno?" (`Commitment.open_gov`);
- a star ("compromiso estelar", ✪).

A level is taken only within a few tokens of its cue, so prose that mentions a "limited" effort
elsewhere is not an assessment. The section's status is the latest assessment's level when the
report's own status reader found none, the levels ticked in its grids (`ogp_grid`) included.
Results go to `doc.spans["ogp_assessments"]`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.extract.components import PatternReader, non_overlapping
from pipeline.extract.state import state

SPAN_KEY = "ogp_assessments"
WINDOW = 14
"""Tokens after a cue within which its levels (and their moments) are printed."""
ORDER = {"design": 0, "mid_term": 1, "progress_report": 2, "self_assessment": 3, "end_of_term": 4, None: -1}
"""Moments in time, for "the latest assessment"."""


@dataclass
class AssessmentFound:
    level: str
    when: Optional[str]
    start: int
    end: int
    line: int


@Language.factory("ogp_assessment", assigns=["doc.spans"], requires=["token.norm"],
                  default_config={"patterns": "assessment.jsonl"})
def make_assessment(nlp: Language, name: str, patterns: str):
    return AssessmentReader(nlp, patterns)


class AssessmentReader(PatternReader):
    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        spans = []
        for sec in ex.sections:
            span = doc[sec.start:sec.end]
            found = non_overlapping((self.vocab.strings[m], s + sec.start, e + sec.start) for m, s, e in self.matcher(span))
            used: set[int] = set()  # levels read after a cue
            for k, (label, s, e) in enumerate(found):
                # (a cue over the scale itself is a grid's header with its marks lost: "Cumplimiento No iniciado …")
                if label == "CUE" and not _legend(found, k, doc):
                    when, limit = None, e + WINDOW
                    for label2, s2, e2 in found[k + 1:]:
                        if s2 >= limit or label2 in ("CUE", "OPEN_CUE"):
                            break
                        if label2.startswith("WHEN:"):
                            when = label2.split(":", 1)[1]
                            limit = e2 + WINDOW
                        elif label2.startswith("LEVEL:"):
                            sec.assessments_found.append(AssessmentFound(label2.split(":", 1)[1], when or ex.assessment_when,
                                                                         s, e2, ex.tok_line[s2]))
                            spans.append(Span(doc, s, e2, label=label2))
                            used.add(s2)
                            limit = e2 + WINDOW
                elif label.startswith("WHEN:") and doc[s]._.ogp_bol and k + 1 < len(found):
                    # "Medio término: Limitado" opening its line: an assessment without its cue (OCR lost it)
                    label2, s2, e2 = found[k + 1]
                    if label2.startswith("LEVEL:") and s2 not in used and 0 < s2 - e <= 2 \
                            and all(t.is_punct for t in doc[e:s2]) and ex.tok_line[s2] == ex.tok_line[s]:
                        sec.assessments_found.append(AssessmentFound(label2.split(":", 1)[1], label.split(":", 1)[1],
                                                                     s, e2, ex.tok_line[s2]))
                        spans.append(Span(doc, s, e2, label=label2))
                        used.add(s2)
                elif label == "OPEN_CUE" and sec.open_gov is None:
                    answer = next((lab for lab, s2, _ in found[k + 1:] if s2 < e + WINDOW and lab.startswith("OPEN:")), None)
                    if answer:
                        sec.open_gov = answer.split(":", 1)[1]
                elif label == "STAR":
                    sec.starred = True
            if sec.status is None and (sec.assessments_found or sec.ticks):
                # the latest moment; at one moment, a level printed in the text before one ticked in a grid
                latest = max([*sec.assessments_found, *sec.ticks], key=lambda a: (ORDER.get(a.when, -1), isinstance(a, AssessmentFound)))
                sec.status = latest.level
                if isinstance(latest, AssessmentFound):
                    sec.status_line, sec.status_rule = latest.line, "status.latest_assessment"
                    sec.status_text = doc[latest.start:latest.end].text
                else:
                    sec.status_tick, sec.status_rule, sec.status_text = latest, "status.grid_tick", latest.text
        doc.spans[SPAN_KEY] = spans
        return doc


LEGEND_LEVELS = 3
"""A cue followed by this many different levels one after the other prints the scale, not a level."""


def _legend(found: list[tuple[str, int, int]], k: int, doc: Doc) -> bool:
    """Does the cue `found[k]` head the completion scale itself (a grid's header row read as text,
    its marks lost): three or more different levels in a row after it, nothing but levels between?"""
    levels, end = [], found[k][2]
    for label, s, e in found[k + 1:]:
        if not label.startswith(("LEVEL:", "WHEN:")) or any(not t.is_punct for t in doc[end:s]):
            break
        if label.startswith("LEVEL:"):
            levels.append(label)
        end = e
    return len(set(levels)) >= LEGEND_LEVELS

