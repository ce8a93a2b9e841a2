"""The scores for people: `score.md` (markdown, every miss listed), a rich table for the terminal,
and `write_score`, which writes `score.json` and `score.md` atomically.

All take the dict of `pipeline.score.score_corpus`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from rich.markup import escape
from rich.table import Table

from pipeline.export import atomic_write_json, atomic_write_text


def _pct(x: Optional[float]) -> str:
    return "–" if x is None else f"{x:.1%}"


def _frac(part: dict) -> str:
    return f"{part['correct']}/{part['total']}" if part["total"] else "–"


def _md(text: object) -> str:
    """A value inside a markdown table cell or list item: pipes and newlines neutralised, HTML
    special characters escaped (the text comes from a PDF)."""
    s = "–" if text is None else str(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(s.replace("|", "\\|").split())


def _row(name: str, r: dict) -> list[str]:
    c, a, t = r["commitments"], r["actors"]["micro_all"], r.get("text")
    text = "–"
    if t and "raw_wer" in t:
        text = f"{_pct(t['raw_wer'])} → {_pct(t['repaired_wer'])}"
    missed = c["missed"] if isinstance(c["missed"], int) else len(c["missed"])
    extra = c["extra"] if isinstance(c["extra"], int) else len(c["extra"])
    return [
        name, f"{c['found']}/{c['gold']}", str(missed), str(extra),
        f"{r['titles']['at_or_above']}/{r['titles']['total']}",
        _frac(r["status"]), _frac(r["urls"]),
        f"{a['precision']:.2f} / {a['recall']:.2f} / {a['f1']:.2f}",
        _frac(r["actors"]["sector"]), _frac(r["actors"]["role"]),
        f"{_frac(r['irm']['completion'])} · {_frac(r['irm']['results'])}",
        _frac(r["progress"]), _milestones(r["milestones"]), text,
    ]


def _milestones(m: dict) -> str:
    """found/gold · % right · dates right"""
    if not m["gold"]:
        return "–"
    return f"{m['found']}/{m['gold']} · {_frac(m['pct'])} · {_frac(m['dates'])}"


HEADERS = ["report", "found", "missed", "extra", "titles ok", "status", "URLs", "actors P / R / F1",
           "sector", "role", "IRM compl. · results", "progress %", "milestones · % · dates", "WER raw → repaired"]


def table_rows(result: dict) -> list[list[str]]:
    """The scored reports' rows (columns `HEADERS`) and the overall row, as plain text."""
    rows = [_row(r["report"], r) for r in result["reports"] if "error" not in r]
    if result["overall"]["scored"]:
        rows.append(_row("overall", result["overall"]))
    return rows


def format_table(result: dict) -> Table:
    """One row per report and an overall row; reports without a prediction say why."""
    table = Table(title=escape(f"Scores: {result['pred_root']} against {result['gold_root']}"))
    for h in HEADERS:
        table.add_column(h, overflow="fold")
    for r in result["reports"]:
        if "error" in r:
            table.add_row(escape(r["report"]), f"[red]not scored: {escape(r['error'])}[/red]", *[""] * (len(HEADERS) - 2))
        else:
            table.add_row(*map(escape, _row(r["report"], r)))
    if result["overall"]["scored"]:
        table.add_row(*_row("[b]overall[/b]", result["overall"]), end_section=True)
    return table


def _report_details(r: dict) -> list[str]:
    out = [f"## {_md(r['report'])}", ""]
    if "error" in r:
        return out + [f"**Not scored:** {_md(r['error'])}", ""]
    c = r["commitments"]
    out += [f"Commitments: {c['found']} of {c['gold']} found, {c['pred']} predicted.", ""]
    for m in c["missed"]:
        out.append(f"- **missed** commitment {m['number']}: {_md(m['title'])}")
    for e in c["extra"]:
        out.append(f"- **extra** commitment {e['number']}: {_md(e['title'])}")
    for m in c["matched_by_title"]:
        out.append(f"- gold commitment {m['gold']} matched by title to predicted number {m['pred']}")
    for t in r["titles"]["below"]:
        out.append(f"- title of {t['number']} ({t['ratio']:.0f}): gold “{_md(t['gold'])}”, predicted “{_md(t['pred'])}”")
    for key, label in (("status", "status"), ("section", "section")):
        for w in r[key]["wrong"]:
            out.append(f"- {label} of {w['number']}: gold `{w['gold']}`, predicted `{w['pred']}`")
    for w in r["urls"]["wrong"]:
        out.append(f"- URLs of {w['number']}: missing {_md(', '.join(w['missing']) or 'none')};"
                   f" extra {_md(', '.join(w['extra']) or 'none')}")
    for level in ("completion", "results"):
        for w in r["irm"][level]["wrong"]:
            out.append(f"- IRM {level} of {w['number']}: gold `{w['gold']}`, predicted `{w['pred']}`")
    for w in r["progress"]["wrong"]:
        out.append(f"- progress % of {w['number']}: gold {w['gold']}, predicted {w['pred']}")
    m = r["milestones"]
    if m["gold"]:
        out.append(f"- milestones: {m['found']} of {m['gold']} found ({m['pred']} predicted), text right "
                   f"{m['text_ok']}, % right {_frac(m['pct'])}, dates right {_frac(m['dates'])}")
        for x in m["missed"]:
            out.append(f"  - **missed** milestone {x['number']} of {x['commitment']}: {_md(x['text'])}")
        for w in m["wrong"]:
            out.append(f"  - {w['field']} of milestone {w['number']} of {w['commitment']}: gold {_md(w['gold'])}, "
                       f"predicted {_md(w['pred'])}")
    if r["kind"]["gold"] and r["kind"]["gold"] != r["kind"]["pred"]:
        out.append(f"- kind of report: gold `{r['kind']['gold']}`, predicted `{r['kind']['pred']}`")
    out.append("")
    rows = [e for e in r["actors"]["per_commitment"] if e["missed"] or e["extra"] or e["sector_wrong"] or e["role_wrong"]]
    if rows:
        out += ["| commitment | P | R | F1 | missed actors | extra actors | wrong sector / role |", "|---|---|---|---|---|---|---|"]
        for e in rows:
            wrong = [f"{_md(w['gold_actor'])}: sector {w['gold']} → {w['pred']}" for w in e["sector_wrong"]]
            wrong += [f"{_md(w['gold_actor'])}: role {w['gold']} → {w['pred']}" for w in e["role_wrong"]]
            out.append(
                f"| {e['number']} | {e['precision']:.2f} | {e['recall']:.2f} | {e['f1']:.2f} | "
                f"{'; '.join(_md(m['name']) for m in e['missed']) or '–'} | "
                f"{'; '.join(_md(x['name']) for x in e['extra']) or '–'} | {'; '.join(wrong) or '–'} |"
            )
        out.append("")
    t = r.get("text")
    if t:
        if "error" in t:
            out += [f"Text not scored: {_md(t['error'])}", ""]
        else:
            out.append(f"Text on {t['pages']} gold pages ({t['words']} words): CER {_pct(t.get('raw_cer'))} → "
                       f"{_pct(t.get('repaired_cer'))}, WER {_pct(t.get('raw_wer'))} → {_pct(t.get('repaired_wer'))}, "
                       f"correct words made wrong {_pct(t.get('correct_made_wrong'))}; left out: "
                       f"{t['unmatched_raw_lines']} raw lines matching no gold line, "
                       f"{t['unmatched_gold_words']} gold words no raw line transcribes.")
            for s in t["skipped"]:
                out.append(f"- page {s['page']} not scored: {_md(s['reason'])}")
            out.append("")
    return out


def score_markdown(result: dict) -> str:
    th = result["thresholds"]
    lines = [
        "# Scores", "",
        f"Predictions `{result['pred_root']}` against gold `{result['gold_root']}`: "
        f"{result['overall']['scored']} of {result['overall']['reports']} reports scored.", "",
        "Matching (details in `pipeline/score.py`): commitments by number, then by title similarity "
        f"≥ {th['title_match']:.0f}; a title is right at rapidfuzz `ratio` ≥ {th['title_ok']:.0f} on "
        "accent-folded lower-case text; actors one to one, by acronym or by name similarity (mean of "
        f"`ratio` and `token_set_ratio`, accent-folded lower case) ≥ {th['actor']:.0f}. Actor P/R/F1 "
        "count every actor of the report (a missed commitment's actors are missed). URLs: exact set "
        "per commitment after lower-casing scheme and host and dropping trailing slashes.", "",
        "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS),
    ]
    for r in result["reports"]:
        if "error" in r:
            lines.append(f"| {_md(r['report'])} | not scored: {_md(r['error'])} |" + " |" * (len(HEADERS) - 2))
        else:
            lines.append("| " + " | ".join(_md(x) for x in _row(r["report"], r)) + " |")
    if result["overall"]["scored"]:
        lines.append("| " + " | ".join(_md(x) for x in _row("**overall**", result["overall"])) + " |")
    lines.append("")
    for r in result["reports"]:
        lines += _report_details(r)
    return "\n".join(lines).rstrip() + "\n"


def write_score(result: dict, out_dir: Path) -> None:
    """`out_dir/score.json` (the whole result) and `out_dir/score.md`, each written atomically."""
    out_dir = Path(out_dir)
    atomic_write_json(out_dir / "score.json", result)
    atomic_write_text(out_dir / "score.md", score_markdown(result))
