"""Scoring an extraction against the hand-built gold (`gold/X/commitments.json`).

Matching
- **Commitments**: a predicted commitment is paired with the gold commitment of the same `number`
  (the first predicted one of each number), unless its title is another gold commitment's (title
  similarity >= ``TITLE_MATCH_THRESHOLD`` and higher than to its own number's: the numbering is off,
  so the title decides; a damaged title with the right number still pairs). Predicted and gold commitments left over are then paired
  by title: ``name_similarity`` of the titles >= ``TITLE_MATCH_THRESHOLD`` (80), one to one, best
  pair first. Gold left over = *missed*, predictions left over = *extra*.
- **Actors** (within a pair of matched commitments): a predicted actor matches a gold actor
  - by acronym: an acronym of one (its `acronym` field, or its `name` when the name is one word
    mostly in capitals such as "SFP") equals an acronym of the other, case, accents and dots
    ignored; or
  - by name: ``name_similarity`` >= ``ACTOR_THRESHOLD`` (90).
  Pairs are assigned one to one, best pair first (acronym matches first, then by similarity).

Text normalization for titles and names: accents folded (NFKD, combining marks dropped), lower case,
punctuation to spaces, whitespace folded.

``name_similarity(a, b)`` is the mean of rapidfuzz ``ratio`` and ``token_set_ratio`` on normalized text.
``token_set_ratio`` alone forgives word order and a dropped legal suffix ("…, A.C.") but gives 100 to
any name whose words are a subset of the other's ("Comisión Nacional" vs "Comisión Nacional del Agua");
``ratio`` alone punishes a dropped suffix or a parent qualifier ("… del CIDE"). Their mean keeps the
first kind and drops the second. On the seed gold's 80 distinct actor names, forms of one
organisation score >= 95.8 ("Transparencia Mexicana" / "…, A.C.", "FUNDAR" / "Fundar") and different
organisations <= 89.3 (a unit vs its parent: "Centro Nacional de Información del Secretariado …" vs
"Secretariado …"; then "Secretaría de Educación Pública" vs "Secretaría de la Función Pública" 85.7), so
the threshold is 90. Distinct gold titles score <= 58, so titles pair at 80.

Metrics (every wrong value is listed, not only counted)
- commitments found / missed / extra, precision and recall;
- titles: mean ``ratio`` on normalized titles over matched pairs and how many reach
  ``TITLE_OK_THRESHOLD`` (90); those below are listed;
- status and section: accuracy over matched pairs, a gold → predicted confusion matrix for status;
- URLs: a matched pair is right when its URL sets are equal after normalization (scheme and host
  lower-cased, trailing slashes dropped, surrounding whitespace dropped; path and query kept as is);
- actors: precision, recall and F1, micro over all actors of matched commitments (``micro``) and over
  all actors of the report (``micro_all``: gold actors of missed commitments count as missed,
  actors of extra commitments as extra), and per commitment; sector and role accuracy on matched
  actors;
- IRM: accuracy of `irm.completion` and `irm.results` (a null `irm` counts as both levels null);
- progress: the commitment's printed % (`progress_pct`, to 0.1) where the gold has one;
- milestones of matched commitments: paired by printed number, then by text similarity >=
  ``TITLE_MATCH_THRESHOLD``; found, text right (ratio >= ``TITLE_OK_THRESHOLD``), % and dates exact;
- the kind of report (gold and predicted, not a rate).

``score_corpus`` scores every ``gold_root/X/commitments.json`` against the prediction of the same input
file (the `source_sha256` both carry; else ``pred_root/X/commitments.json``),
adds text CER/WER of the raw ``text.txt`` and the repaired ``clean.txt`` (pages split by form feeds,
page N = the N-th chunk) on the gold pages ``gold_root/X/text/NNN.txt``, and sums everything into an
overall entry (counts summed, rates recomputed). The text is compared line by line with
``pipeline.repair.metrics.score_page`` (raw lines matched to the gold lines they transcribe; what
matches nothing is counted, not scored), so raw and repaired lines of a page must pair one to one: a
page where they do not is listed in ``skipped``. Pages come from the pipeline's own page split, so the
figures can differ slightly from ``python -m pipeline.repair.evaluate``, which cuts pages with the
gold's ``pages.json``.
"""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit, urlunsplit

from rapidfuzz import fuzz

from pipeline.models import Actor, Commitment, CommitmentReport, Milestone
from pipeline.repair.metrics import PageScore, score_page

TITLE_MATCH_THRESHOLD = 80.0
"""Least title similarity for pairing commitments whose numbers did not pair them."""
TITLE_OK_THRESHOLD = 90.0
"""A matched title at or above this `ratio` counts as right."""
ACTOR_THRESHOLD = 90.0
"""Least ``name_similarity`` for a predicted actor to match a gold actor by name."""

_PUNCT = re.compile(r"[^\w\s]")
_ACRONYM = re.compile(r"^[A-ZÁÉÍÓÚÑ][A-ZÁÉÍÓÚÑa-z.&-]*$")


# --- normalization and similarity -------------------------------------------------------------


def normalize_name(text: str) -> str:
    """Accent-folded, lower-cased, punctuation to spaces, whitespace folded."""
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    )
    return " ".join(_PUNCT.sub(" ", folded.lower()).split())


def title_similarity(a: str, b: str) -> float:
    return fuzz.ratio(normalize_name(a), normalize_name(b))


def name_similarity(a: str, b: str) -> float:
    na, nb = normalize_name(a), normalize_name(b)
    return (fuzz.ratio(na, nb) + fuzz.token_set_ratio(na, nb)) / 2


def normalize_url(url: str) -> str:
    """Scheme and host lower-cased, trailing slashes dropped."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, parts.fragment))


def _acronym_key(text: str) -> str:
    return normalize_name(text).replace(" ", "")


def _looks_like_acronym(name: str) -> bool:
    """"SFP", "S.F.P.", "CNBBBJ": one word, at least two capitals, at least half the letters capitals."""
    letters = [c for c in name if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return bool(_ACRONYM.match(name.strip())) and upper >= 2 and upper * 2 >= len(letters)


def _acronyms(actor: Actor) -> set[str]:
    keys = set()
    if actor.acronym and actor.acronym.strip():
        keys.add(_acronym_key(actor.acronym))
    if _looks_like_acronym(actor.name):
        keys.add(_acronym_key(actor.name))
    return keys


# --- one-to-one assignment --------------------------------------------------------------------


def _assign(pairs: Iterable[tuple[tuple, int, int]]) -> list[tuple[int, int, tuple]]:
    """Greedy one-to-one assignment: best key first, ties by position. Returns (i, j, key)."""
    used_i: set[int] = set()
    used_j: set[int] = set()
    out = []
    for key, i, j in sorted(pairs, key=lambda p: (tuple(-k for k in p[0]), p[1], p[2])):
        if i in used_i or j in used_j:
            continue
        used_i.add(i)
        used_j.add(j)
        out.append((i, j, key))
    return out


def _title_belongs_elsewhere(gold: list[Commitment], i: int, title: str) -> bool:
    """Is `title` (predicted under gold[i]'s number) another gold commitment's title? Then the
    numbers are off, and the pair is left to the title pairing; a damaged title with the right
    number still pairs by number."""
    own = name_similarity(gold[i].title, title)
    return any(
        k != i and (sim := name_similarity(g.title, title)) >= TITLE_MATCH_THRESHOLD and sim > own
        for k, g in enumerate(gold)
    )


def match_commitments(
    gold: list[Commitment], pred: list[Commitment]
) -> tuple[list[tuple[int, int, str, float]], list[int], list[int]]:
    """Pairs (gold index, pred index, "number" | "title", title ratio), unmatched gold indices,
    unmatched pred indices."""
    matches: list[tuple[int, int, str, float]] = []
    gold_by_number: dict[int, int] = {}
    for i, g in enumerate(gold):
        gold_by_number.setdefault(g.number, i)
    used_g: set[int] = set()
    used_p: set[int] = set()
    for j, p in enumerate(pred):
        i = gold_by_number.get(p.number)
        if i is not None and i not in used_g and not _title_belongs_elsewhere(gold, i, p.title):
            used_g.add(i)
            used_p.add(j)
            matches.append((i, j, "number", title_similarity(gold[i].title, p.title)))
    candidates = []
    for i, g in enumerate(gold):
        if i in used_g:
            continue
        for j, p in enumerate(pred):
            if j in used_p:
                continue
            sim = name_similarity(g.title, p.title)
            if sim >= TITLE_MATCH_THRESHOLD:
                candidates.append(((sim,), i, j))
    for i, j, _ in _assign(candidates):
        used_g.add(i)
        used_p.add(j)
        matches.append((i, j, "title", title_similarity(gold[i].title, pred[j].title)))
    matches.sort()
    missed = [i for i in range(len(gold)) if i not in used_g]
    extra = [j for j in range(len(pred)) if j not in used_p]
    return matches, missed, extra


def match_actors(
    gold: list[Actor], pred: list[Actor]
) -> tuple[list[tuple[int, int, str, float]], list[int], list[int]]:
    """Pairs (gold index, pred index, "acronym" | "name", name similarity), unmatched gold
    indices, unmatched pred indices."""
    candidates = []
    for i, g in enumerate(gold):
        g_acr = _acronyms(g)
        for j, p in enumerate(pred):
            sim = name_similarity(g.name, p.name)
            by_acronym = bool(g_acr & _acronyms(p))
            if by_acronym or sim >= ACTOR_THRESHOLD:
                candidates.append(((1.0 if by_acronym else 0.0, sim), i, j))
    pairs = [(i, j, "acronym" if key[0] else "name", round(key[1], 1)) for i, j, key in _assign(candidates)]
    pairs.sort()
    gi = {i for i, _, _, _ in pairs}
    pj = {j for _, j, _, _ in pairs}
    return pairs, [i for i in range(len(gold)) if i not in gi], [j for j in range(len(pred)) if j not in pj]


# --- metrics ----------------------------------------------------------------------------------


def _ratio(num: int, den: int) -> Optional[float]:
    return round(num / den, 4) if den else None


def prf(tp: int, n_pred: int, n_gold: int) -> dict:
    p = tp / n_pred if n_pred else (1.0 if not n_gold else 0.0)
    r = tp / n_gold if n_gold else (1.0 if not n_pred else 0.0)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "pred": n_pred, "gold": n_gold,
            "precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def _field_accuracy(
    pairs: list[tuple[Commitment, Commitment]], get: Callable[[Commitment], object]
) -> dict:
    wrong = [
        {"number": g.number, "gold": get(g), "pred": get(p)}
        for g, p in pairs if get(g) != get(p)
    ]
    correct = len(pairs) - len(wrong)
    return {"correct": correct, "total": len(pairs), "accuracy": _ratio(correct, len(pairs)), "wrong": wrong}


def _brief(c: Commitment) -> dict:
    return {"number": c.number, "title": c.title}


def _actor_brief(a: Actor) -> dict:
    return {"name": a.name, "acronym": a.acronym}


def score_commitment_actors(g: Commitment, p: Commitment) -> dict:
    pairs, missed, extra = match_actors(g.actors, p.actors)
    entry = {
        "number": g.number,
        **prf(len(pairs), len(p.actors), len(g.actors)),
        "missed": [_actor_brief(g.actors[i]) for i in missed],
        "extra": [_actor_brief(p.actors[j]) for j in extra],
        "pairs": [
            {"gold": g.actors[i].name, "pred": p.actors[j].name, "by": by, "similarity": sim}
            for i, j, by, sim in pairs
        ],
        "sector_wrong": [],
        "role_wrong": [],
    }
    for i, j, _, _ in pairs:
        ga, pa = g.actors[i], p.actors[j]
        if ga.sector != pa.sector:
            entry["sector_wrong"].append({"gold_actor": ga.name, "pred_actor": pa.name, "gold": ga.sector, "pred": pa.sector})
        if ga.role != pa.role:
            entry["role_wrong"].append({"gold_actor": ga.name, "pred_actor": pa.name, "gold": ga.role, "pred": pa.role})
    return entry


def _url_set(c: Commitment) -> set[str]:
    return {normalize_url(u) for u in c.urls}


def score_report(gold: CommitmentReport, pred: CommitmentReport) -> dict:
    """Every metric of the module docstring for one report; JSON-serialisable."""
    matches, missed, extra = match_commitments(gold.commitments, pred.commitments)
    pairs = [(gold.commitments[i], pred.commitments[j]) for i, j, _, _ in matches]

    titles = [
        {"number": gold.commitments[i].number, "gold": gold.commitments[i].title,
         "pred": pred.commitments[j].title, "ratio": round(sim, 1), "matched_by": by}
        for i, j, by, sim in matches
    ]
    title_ok = sum(t["ratio"] >= TITLE_OK_THRESHOLD for t in titles)

    status = _field_accuracy(pairs, lambda c: c.status)
    confusion: dict[str, dict[str, int]] = {}
    for g, p in pairs:
        row = confusion.setdefault(str(g.status), {})
        row[str(p.status)] = row.get(str(p.status), 0) + 1
    status["confusion"] = confusion

    url_wrong = []
    for g, p in pairs:
        gs, ps = _url_set(g), _url_set(p)
        if gs != ps:
            url_wrong.append({"number": g.number, "missing": sorted(gs - ps), "extra": sorted(ps - gs)})
    urls = {"correct": len(pairs) - len(url_wrong), "total": len(pairs),
            "accuracy": _ratio(len(pairs) - len(url_wrong), len(pairs)), "wrong": url_wrong}

    per_commitment = [score_commitment_actors(g, p) for g, p in pairs]
    tp = sum(e["tp"] for e in per_commitment)
    n_pred = sum(e["pred"] for e in per_commitment)
    n_gold = sum(e["gold"] for e in per_commitment)
    unmatched_gold = sum(len(gold.commitments[i].actors) for i in missed)
    unmatched_pred = sum(len(pred.commitments[j].actors) for j in extra)
    sector_wrong = [{"number": e["number"], **w} for e in per_commitment for w in e["sector_wrong"]]
    role_wrong = [{"number": e["number"], **w} for e in per_commitment for w in e["role_wrong"]]
    actors = {
        "threshold": ACTOR_THRESHOLD,
        "micro": prf(tp, n_pred, n_gold),
        "micro_all": prf(tp, n_pred + unmatched_pred, n_gold + unmatched_gold),
        "per_commitment": per_commitment,
        "sector": {"correct": tp - len(sector_wrong), "total": tp,
                   "accuracy": _ratio(tp - len(sector_wrong), tp), "wrong": sector_wrong},
        "role": {"correct": tp - len(role_wrong), "total": tp,
                 "accuracy": _ratio(tp - len(role_wrong), tp), "wrong": role_wrong},
    }

    return {
        "report": gold.report,
        "kind": {"gold": gold.kind, "pred": pred.kind},
        "commitments": {
            "gold": len(gold.commitments),
            "pred": len(pred.commitments),
            "found": len(matches),
            "precision": _ratio(len(matches), len(pred.commitments)),
            "recall": _ratio(len(matches), len(gold.commitments)),
            "missed": [_brief(gold.commitments[i]) for i in missed],
            "extra": [_brief(pred.commitments[j]) for j in extra],
            "matched_by_title": [
                {"gold": gold.commitments[i].number, "pred": pred.commitments[j].number}
                for i, j, by, _ in matches if by == "title"
            ],
        },
        "titles": {
            "threshold": TITLE_OK_THRESHOLD,
            "mean_ratio": round(sum(t["ratio"] for t in titles) / len(titles), 2) if titles else None,
            "at_or_above": title_ok,
            "total": len(titles),
            "below": [t for t in titles if t["ratio"] < TITLE_OK_THRESHOLD],
        },
        "status": status,
        "section": _field_accuracy(pairs, lambda c: c.section),
        "urls": urls,
        "actors": actors,
        "irm": {
            "completion": _field_accuracy(pairs, lambda c: c.irm.completion if c.irm else None),
            "results": _field_accuracy(pairs, lambda c: c.irm.results if c.irm else None),
        },
        "progress": _field_accuracy([(g, p) for g, p in pairs if g.progress_pct is not None],
                                    lambda c: _pct(c.progress_pct)),
        "milestones": score_milestones(pairs),
    }


def _pct(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 1)


def match_milestones(gold: list[Milestone], pred: list[Milestone]) -> list[tuple[int, int]]:
    """Pairs (gold index, pred index): by printed number first, then by text similarity >=
    ``TITLE_MATCH_THRESHOLD``, one to one."""
    pairs, used = [], set()
    by_number = {m.number: j for j, m in enumerate(pred) if m.number}
    for i, g in enumerate(gold):
        j = by_number.get(g.number) if g.number else None
        if j is not None and j not in used:
            pairs.append((i, j))
            used.add(j)
    done = {i for i, _ in pairs}
    scored = [(title_similarity(g.text, pred[j].text), i, j) for i, g in enumerate(gold) if i not in done
              for j in range(len(pred)) if j not in used]
    for sim, i, j in sorted(scored, reverse=True):
        if sim >= TITLE_MATCH_THRESHOLD and i not in done and j not in used:
            pairs.append((i, j))
            done.add(i)
            used.add(j)
    return sorted(pairs)


def score_milestones(pairs: list[tuple[Commitment, Commitment]]) -> dict:
    """Milestones of matched commitments: found (paired), their text (ratio >= ``TITLE_OK_THRESHOLD``),
    their printed % and dates (exact). Every miss is listed."""
    out = {"gold": 0, "pred": 0, "found": 0, "text_ok": 0, "pct": {"correct": 0, "total": 0},
           "dates": {"correct": 0, "total": 0}, "missed": [], "wrong": []}
    for g, p in pairs:
        out["gold"] += len(g.milestones)
        out["pred"] += len(p.milestones)
        matched = match_milestones(g.milestones, p.milestones)
        out["found"] += len(matched)
        paired = {i for i, _ in matched}
        out["missed"] += [{"commitment": g.number, "number": m.number, "text": m.text[:80]}
                          for i, m in enumerate(g.milestones) if i not in paired]
        for i, j in matched:
            gm, pm = g.milestones[i], p.milestones[j]
            out["text_ok"] += title_similarity(gm.text, pm.text) >= TITLE_OK_THRESHOLD
            if gm.progress_pct is not None:
                out["pct"]["total"] += 1
                if _pct(gm.progress_pct) == _pct(pm.progress_pct):
                    out["pct"]["correct"] += 1
                else:
                    out["wrong"].append({"commitment": g.number, "number": gm.number, "field": "progress_pct",
                                         "gold": gm.progress_pct, "pred": pm.progress_pct})
            if gm.start or gm.end:
                out["dates"]["total"] += 1
                if (normalize_name(gm.start or ""), normalize_name(gm.end or "")) == \
                        (normalize_name(pm.start or ""), normalize_name(pm.end or "")):
                    out["dates"]["correct"] += 1
                else:
                    out["wrong"].append({"commitment": g.number, "number": gm.number, "field": "dates",
                                         "gold": [gm.start, gm.end], "pred": [pm.start, pm.end]})
    for key in ("pct", "dates"):
        out[key]["accuracy"] = _ratio(out[key]["correct"], out[key]["total"])
    out["recall"] = _ratio(out["found"], out["gold"])
    return out


# --- text accuracy on the gold pages ----------------------------------------------------------

_GOLD_PAGE = re.compile(r"^(\d+)\.txt$")


def _pages(path: Path) -> list[list[str]]:
    """A text output split into pages (form feeds) and lines."""
    return [page.split("\n") for page in path.read_text(encoding="utf-8").split("\f")]


def score_text_pages(gold_dir: Path, pred_dir: Path) -> Optional[dict]:
    """Raw (`text.txt`) and repaired (`clean.txt`) body text against the gold pages
    `gold_dir/text/NNN.txt` (NNN = page ordinal), line by line with `pipeline.repair.metrics.score_page`.
    None when the gold has no text pages. A page that cannot be scored is listed in `skipped` with why."""
    text_dir = gold_dir / "text"
    gold_pages = sorted(
        (int(m.group(1)), f) for f in (text_dir.iterdir() if text_dir.is_dir() else [])
        if (m := _GOLD_PAGE.match(f.name))
    )
    if not gold_pages:
        return None
    missing = [name for name in ("text.txt", "clean.txt") if not (pred_dir / name).exists()]
    if missing:
        return {"error": f"{pred_dir}: no {' or '.join(missing)}, so the text is not scored"}
    raw, clean = _pages(pred_dir / "text.txt"), _pages(pred_dir / "clean.txt")
    total, rows, skipped = PageScore(), [], []
    for number, gold_file in gold_pages:
        if number > len(raw) or number > len(clean):
            skipped.append({"page": number, "reason": f"text.txt has {len(raw)} pages, clean.txt {len(clean)}"})
            continue
        raw_lines, clean_lines = raw[number - 1], clean[number - 1]
        if len(raw_lines) != len(clean_lines):
            skipped.append({"page": number, "reason": f"text.txt has {len(raw_lines)} lines on this page, "
                                                      f"clean.txt {len(clean_lines)}: cannot pair them"})
            continue
        page = score_page(gold_file.read_text(encoding="utf-8"), raw_lines, clean_lines)
        total.add(page)
        rows.append({"page": number, "words": page.ref_words, **_rounded(page.rates()),
                     "unmatched_raw_lines": len(page.unmatched_raw_lines),
                     "unmatched_gold_words": page.unmatched_gold_words})
    return {**_text_summary(total), "pages": len(rows), "skipped": skipped, "per_page": rows}


_COUNTS = ("ref_words", "ref_chars", "raw_word_errors", "raw_char_errors", "rep_word_errors",
           "rep_char_errors", "correct_in_raw", "correct_made_wrong", "unmatched_gold_words",
           "illegible_spans")


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def _text_summary(total: PageScore) -> dict:
    rates = _rounded(total.rates()) if total.ref_words else {}
    return {"words": total.ref_words, **rates,
            "unmatched_raw_lines": len(total.unmatched_raw_lines),
            "unmatched_gold_words": total.unmatched_gold_words,
            "counts": {k: getattr(total, k) for k in _COUNTS}}


# --- the corpus -------------------------------------------------------------------------------


def load_report(path: Path) -> CommitmentReport:
    """A `commitments.json`; ValueError naming the file when it is not a CommitmentReport."""
    try:
        return CommitmentReport.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable CommitmentReport ({exc})") from exc


def score_corpus(gold_root: Path, pred_root: Path) -> dict:
    """Score every `gold_root/X/commitments.json` against `pred_root/X/commitments.json`.

    Returns {"gold_root", "pred_root", "thresholds", "reports": [...], "overall": {...}}. A report
    without a readable prediction is an entry with `error` (not scored, not in the overall); an
    unreadable gold file raises ValueError naming it."""
    gold_root, pred_root = Path(gold_root), Path(pred_root)
    gold_files = sorted(gold_root.glob("*/commitments.json"))
    if not gold_files:
        raise ValueError(f"{gold_root}: no */commitments.json gold files")
    reports = []
    by_source = _by_source(pred_root)
    for gold_file in gold_files:
        name = gold_file.parent.name
        gold = load_report(gold_file)
        pred_file = by_source.get(gold.source_sha256 or "", pred_root / name / "commitments.json")
        if not pred_file.exists():
            reports.append({"report": name, "error": f"no prediction: {pred_file} does not exist"})
            continue
        try:
            pred = load_report(pred_file)
        except ValueError as exc:
            reports.append({"report": name, "error": str(exc)})
            continue
        entry = score_report(gold, pred)
        entry["report"] = name
        entry["text"] = score_text_pages(gold_file.parent, pred_file.parent)
        reports.append(entry)
    overall = _overall([r for r in reports if "error" not in r])
    return {
        "gold_root": str(gold_root),
        "pred_root": str(pred_root),
        "thresholds": {"title_match": TITLE_MATCH_THRESHOLD, "title_ok": TITLE_OK_THRESHOLD,
                       "actor": ACTOR_THRESHOLD},
        "reports": reports,
        "overall": {"reports": len(reports), "scored": sum("error" not in r for r in reports),
                    "not_scored": [r["report"] for r in reports if "error" in r], **overall},
    }


def gold_by_source(gold_root: Path) -> dict[str, Path]:
    """SHA-256 of the input file each gold set describes → its `commitments.json`."""
    return _by_source(Path(gold_root))


def find_gold(gold_root: Path, sha256: Optional[str], name: str,
              index: Optional[dict[str, Path]] = None) -> Optional[Path]:
    """The gold file of a report: the one naming the report's input by content, else the one in
    the folder of the report's name; None when there is none. `index`: `gold_by_source(gold_root)`
    when asking for many reports (it reads every gold file)."""
    by_sha = (gold_by_source(gold_root) if index is None else index).get(sha256 or "")
    if by_sha is not None:
        return by_sha
    named = Path(gold_root) / name / "commitments.json"
    return named if named.is_file() else None


def _by_source(root: Path) -> dict[str, Path]:
    """SHA-256 of the input file → the `commitments.json` under `root` that names it: gold names
    the file it describes by content, so a report pairs with its gold whatever it is called."""
    out: dict[str, Path] = {}
    for f in sorted(root.glob("*/commitments.json")):
        try:
            sha = json.loads(f.read_text(encoding="utf-8")).get("source_sha256")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(sha, str) and sha:
            out.setdefault(sha, f)
    return out


def _sum_acc(parts: list[dict]) -> dict:
    correct, total = sum(p["correct"] for p in parts), sum(p["total"] for p in parts)
    return {"correct": correct, "total": total, "accuracy": _ratio(correct, total)}


def _sum_prf(parts: list[dict]) -> dict:
    return prf(sum(p["tp"] for p in parts), sum(p["pred"] for p in parts), sum(p["gold"] for p in parts))


def _overall(scored: list[dict]) -> dict:
    """Counts summed over the scored reports, rates recomputed from the sums."""
    com = {k: sum(r["commitments"][k] for r in scored) for k in ("gold", "pred", "found")}
    com["missed"] = sum(len(r["commitments"]["missed"]) for r in scored)
    com["extra"] = sum(len(r["commitments"]["extra"]) for r in scored)
    com["precision"], com["recall"] = _ratio(com["found"], com["pred"]), _ratio(com["found"], com["gold"])
    n_titles = sum(r["titles"]["total"] for r in scored)
    titles = {
        "mean_ratio": round(sum((r["titles"]["mean_ratio"] or 0) * r["titles"]["total"] for r in scored)
                            / n_titles, 2) if n_titles else None,
        "at_or_above": sum(r["titles"]["at_or_above"] for r in scored), "total": n_titles,
    }
    texts = [r["text"] for r in scored if r["text"] and "counts" in r["text"]]
    total = PageScore()
    for t in texts:
        total.add(PageScore(**t["counts"]))
    text = {**_text_summary(total), "pages": sum(t["pages"] for t in texts)} if texts else None
    if text:
        text["unmatched_raw_lines"] = sum(t["unmatched_raw_lines"] for t in texts)
    return {
        "commitments": com,
        "titles": titles,
        "status": _sum_acc([r["status"] for r in scored]),
        "section": _sum_acc([r["section"] for r in scored]),
        "urls": _sum_acc([r["urls"] for r in scored]),
        "actors": {
            "micro": _sum_prf([r["actors"]["micro"] for r in scored]),
            "micro_all": _sum_prf([r["actors"]["micro_all"] for r in scored]),
            "sector": _sum_acc([r["actors"]["sector"] for r in scored]),
            "role": _sum_acc([r["actors"]["role"] for r in scored]),
        },
        "irm": {
            "completion": _sum_acc([r["irm"]["completion"] for r in scored]),
            "results": _sum_acc([r["irm"]["results"] for r in scored]),
        },
        "progress": _sum_acc([r["progress"] for r in scored]),
        "milestones": {
            **{k: sum(r["milestones"][k] for r in scored) for k in ("gold", "pred", "found", "text_ok")},
            "pct": _sum_acc([r["milestones"]["pct"] for r in scored]),
            "dates": _sum_acc([r["milestones"]["dates"] for r in scored]),
        },
        "text": text,
    }

