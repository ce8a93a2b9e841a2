"""`python -m pipeline.repair.evaluate [-v] [--parallel PAIRS.json] [REPORT [GOLD_DIR]]`: raw vs repaired CER/WER on the seed's
hand-corrected gold pages, the share of correct words the repair made wrong, the WER the repair adds
to clean text (the gold itself fed through it), and repair speed.

The measure is line by line (see `pipeline.repair.metrics`): what it leaves out — raw lines that
transcribe no gold body line, gold lines no raw line transcribes, `⟦ilegible⟧` spans — is counted
and printed, page by page.
"""
from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from pipeline.models import Footnote, Line
from pipeline.process import read_report, repair_document
from pipeline.repair import repair_lines, repair_text
from pipeline.repair.metrics import PageScore, correct_made_wrong, score_page, score_text, words

_MARKER = re.compile(r"\[\^\d+\]")
_MARKER_NUMBER = re.compile(r"\[\^(\d+)\]")


def evaluate_gold(report: Path, gold_dir: Path) -> dict:
    doc = read_report(report)
    body = doc.body_lines()
    loading = time.perf_counter()
    repair_lines(body[:1])  # load the lexicon and rules: startup, not repair speed
    startup = time.perf_counter() - loading
    started = time.perf_counter()
    result = repair_document(doc)
    seconds = time.perf_counter() - started
    n_words = sum(len(ln.text.split()) for ln in body)
    pages = json.loads((gold_dir / "pages.json").read_text(encoding="utf-8"))["pages"]
    total, rows = PageScore(), []
    clean_words = clean_errors = 0
    marks = Counter()
    for p in pages:
        gold_file = gold_dir / "text" / f"{p['page']:03d}.txt"
        if not gold_file.exists():
            continue
        gold = gold_file.read_text(encoding="utf-8")
        idx = [i for i, ln in enumerate(body) if p["first_line"] <= ln.line <= p["last_line"]]
        page = score_page(gold, [body[i].text for i in idx], [result.lines[i].text for i in idx])
        clean_in = _MARKER.sub("", gold)
        clean_out, _ = repair_text(clean_in)
        _, clean_wer = score_text(clean_in, clean_out)
        n_clean = len(clean_in.split())
        clean_words += n_clean
        clean_errors += clean_wer * n_clean
        total.add(page)
        gold_marks = Counter(_MARKER_NUMBER.findall(gold))
        rep_marks = Counter(_MARKER_NUMBER.findall("\n".join(result.lines[i].text for i in idx)))
        marks["gold"] += sum(gold_marks.values())
        marks["found"] += sum(rep_marks.values())
        marks["right"] += sum((gold_marks & rep_marks).values())
        rows.append({"page": p["page"], **{k: round(v, 4) for k, v in page.rates().items()},
                     "words": page.ref_words, "correct_made_wrong_n": page.correct_made_wrong,
                     "unmatched_raw_lines": len(page.unmatched_raw_lines),
                     "unmatched_gold_words": page.unmatched_gold_words,
                     "illegible_spans": page.illegible_spans, "clean_wer_added": round(clean_wer, 4)})
    overall = {
        "pages": len(rows), "words_scored": total.ref_words,
        **total.rates(),
        "clean_wer_added": clean_errors / max(clean_words, 1),
        "words_per_second": n_words / seconds,
        "startup_seconds": startup,
        "footnote_links": {"in_gold": marks["gold"], "made": marks["found"], "right": marks["right"]},
        "corrections": sum(c.applied for c in result.corrections),
        "flagged": sum(not c.applied for c in result.corrections),
        "left_out": {"raw_lines_matching_no_gold_line": len(total.unmatched_raw_lines),
                     "gold_words_no_raw_line_transcribes": total.unmatched_gold_words,
                     "illegible_spans_scored_on_legible_part": total.illegible_spans},
    }
    overall = {k: round(v, 4) if isinstance(v, float) else v for k, v in overall.items()}
    return {"overall": overall, "pages": rows, "unmatched_raw_lines": total.unmatched_raw_lines}


def evaluate_parallel(pages: list[dict], split: str | None = None) -> dict:
    """Raw vs repaired WER on pages of a parallel corpus (each a dict with `page`, `truth`: the clean
    paragraphs, `noisy`: the OCR lines, `footnotes`: number → text, optionally `split`), repaired as
    one document; plus the WER the repair adds to the clean paragraphs themselves."""
    lines, notes = [], []
    for p in pages:
        lines += [Line(text=t, page=p["page"], line=i) for i, t in enumerate(p["noisy"], 1)]
        notes += [Footnote(number=n, text=t, page=p["page"]) for n, t in p["footnotes"].items()]
    result = repair_lines(lines, notes, doc_text="\n".join(ln.text for ln in lines))
    clean_out, _ = repair_text("\f".join("\n\n".join(p["truth"]) for p in pages))
    clean_pages = clean_out.split("\f")
    tot = {"words": 0, "raw": 0, "rep": 0, "right": 0, "broken": 0, "clean": 0}
    for k, p in enumerate(pages):
        if split and p.get("split") != split:
            continue
        truth = "\n".join(p["truth"])
        raw = [ln.text for ln in lines if ln.page == p["page"]]
        rep = [ln.text for ln in result.lines if ln.page == p["page"]]
        ref, hyp_raw, hyp_rep = words(truth), words("\n".join(raw)), words("\n".join(rep))
        tot["words"] += len(ref)
        tot["raw"] += Levenshtein.distance(ref, hyp_raw)
        tot["rep"] += Levenshtein.distance(ref, hyp_rep)
        broken, right = correct_made_wrong(ref, hyp_raw, hyp_rep)
        tot["broken"] += broken
        tot["right"] += right
        tot["clean"] += Levenshtein.distance(ref, words(clean_pages[k]))
    n = max(tot["words"], 1)
    return {"pages": sum(1 for p in pages if not split or p.get("split") == split), "words": tot["words"],
            "raw_wer": tot["raw"] / n, "repaired_wer": tot["rep"] / n,
            "correct_made_wrong": tot["broken"] / max(tot["right"], 1), "clean_wer_added": tot["clean"] / n}


def main(argv: list[str] | None = None) -> None:
    argv = argv if argv is not None else sys.argv[1:]
    verbose = "-v" in argv
    parallel = None
    if "--parallel" in argv:
        k = argv.index("--parallel")
        parallel = Path(argv[k + 1])
        argv = argv[:k] + argv[k + 2:]
    argv = [a for a in argv if a != "-v"]
    report = Path(argv[0] if argv else "corpus/000_5431f427d6bef971.txt")
    gold = Path(argv[1] if len(argv) > 1 else f"gold/{report.stem}")
    res = evaluate_gold(report, gold)
    print(f"{'page':>4} {'words':>6} {'raw CER':>8} {'raw WER':>8} {'rep CER':>8} {'rep WER':>8} {'broken':>7}"
          f" {'clean+':>7}  left out: raw lines / gold words / illegible")
    for r in res["pages"]:
        print(f"{r['page']:>4} {r['words']:>6} {r['raw_cer']:8.2%} {r['raw_wer']:8.2%} {r['repaired_cer']:8.2%}"
              f" {r['repaired_wer']:8.2%} {r['correct_made_wrong_n']:>7} {r['clean_wer_added']:7.2%}"
              f"  {r['unmatched_raw_lines']:>3} / {r['unmatched_gold_words']:>3} / {r['illegible_spans']}")
    print(json.dumps(res["overall"], indent=1, ensure_ascii=False))
    if parallel:
        pages = json.loads(parallel.read_text(encoding="utf-8"))
        for split in sorted({p.get("split") for p in pages}, key=str):
            figures = evaluate_parallel(pages, split)
            print(f"parallel corpus {parallel} split={split}:",
                  json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
    if verbose:
        print("raw lines matching no gold line:")
        for line in res["unmatched_raw_lines"]:
            print("   ", line)


if __name__ == "__main__":
    main()
