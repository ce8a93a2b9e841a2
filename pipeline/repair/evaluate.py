"""`python -m pipeline.repair.evaluate`: raw vs repaired CER/WER on the seed's hand-corrected gold
pages, the share of correct words made wrong, WER added on clean input, and repair speed."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pipeline.ingest import load
from pipeline.layout import analyse
from pipeline.repair import repair_lines, repair_text
from pipeline.repair.metrics import correct_made_wrong, score_text


def evaluate_gold(report: Path, gold_dir: Path) -> dict:
    doc = analyse(load(report))
    body = doc.body_lines()
    started = time.perf_counter()
    result = repair_lines(body, doc.footnotes(), doc_text=doc.body_text())
    seconds = time.perf_counter() - started
    n_words = sum(len(ln.text.split()) for ln in body)
    pages = json.loads((gold_dir / "pages.json").read_text(encoding="utf-8"))["pages"]
    rows, tot = [], {"raw": [0, 0, 0, 0], "rep": [0, 0, 0, 0], "broken": 0, "right": 0, "clean_err": 0}
    for p in pages:
        gold_file = gold_dir / "text" / f"{p['page']:03d}.txt"
        if not gold_file.exists():
            continue
        gold = gold_file.read_text(encoding="utf-8")
        in_page = lambda ln: p["first_line"] <= ln.line <= p["last_line"]  # noqa: E731
        raw = "\n".join(ln.text for ln in body if in_page(ln))
        rep = "\n".join(ln.text for ln in result.lines if in_page(ln))
        s_raw, s_rep = score_text(gold, raw), score_text(gold, rep)
        broken, right = correct_made_wrong(gold, raw, rep)
        clean, _ = repair_text(gold)
        s_clean = score_text(gold, clean)
        rows.append({"page": p["page"], "raw": s_raw.as_dict(), "repaired": s_rep.as_dict(),
                     "correct_made_wrong": broken, "correct_in_raw": right, "clean_wer_added": round(s_clean.wer, 4)})
        for key, s in (("raw", s_raw), ("rep", s_rep)):
            tot[key][0] += s.cer * s.chars
            tot[key][1] += s.chars
            tot[key][2] += s.wer * s.words
            tot[key][3] += s.words
        tot["broken"] += broken
        tot["right"] += right
        tot["clean_err"] += s_clean.wer * s_clean.words
    overall = {
        "pages": len(rows),
        "raw_cer": tot["raw"][0] / tot["raw"][1], "raw_wer": tot["raw"][2] / tot["raw"][3],
        "repaired_cer": tot["rep"][0] / tot["rep"][1], "repaired_wer": tot["rep"][2] / tot["rep"][3],
        "correct_made_wrong": tot["broken"] / max(tot["right"], 1),
        "clean_wer_added": tot["clean_err"] / tot["rep"][3],
        "words_per_second": n_words / seconds,
        "corrections": sum(c.applied for c in result.corrections),
        "flagged": sum(not c.applied for c in result.corrections),
    }
    return {"overall": {k: round(v, 4) if isinstance(v, float) else v for k, v in overall.items()}, "pages": rows}


def main(argv: list[str] | None = None) -> None:
    argv = argv if argv is not None else sys.argv[1:]
    report = Path(argv[0] if argv else "corpus/000_5431f427d6bef971.txt")
    gold = Path(argv[1] if len(argv) > 1 else f"gold/{report.stem}")
    res = evaluate_gold(report, gold)
    print(f"{'page':>4} {'raw CER':>8} {'raw WER':>8} {'rep CER':>8} {'rep WER':>8} {'broken':>7}")
    for r in res["pages"]:
        print(f"{r['page']:>4} {r['raw']['cer']:8.2%} {r['raw']['wer']:8.2%} {r['repaired']['cer']:8.2%}"
              f" {r['repaired']['wer']:8.2%} {r['correct_made_wrong']:>7}")
    print(json.dumps(res["overall"], indent=1))


if __name__ == "__main__":
    main()
