"""Writes the sample PDFs of corpus/: two pages of the seed report (pages 4-5, Compromiso 2),
rebuilt from their hand-corrected gold text and set as the three kinds of PDF the pipeline reads:
a scan (image only), a PDF with a real text layer, and a scan under a poor OCR layer.

    .venv/bin/python scripts/make_corpus_samples.py

Deterministic (fixed seed); re-run only to change the samples."""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.generate import make_report_pdfs, read_text_pages  # noqa: E402

GOLD_TEXT = ROOT / "gold" / "000_5431f427d6bef971" / "text"
PAGES = slice(3, 5)  # pages 4 and 5


def main() -> None:
    pages = read_text_pages(GOLD_TEXT)[PAGES]
    with tempfile.TemporaryDirectory() as tmp:
        made = make_report_pdfs(Path(tmp), pages, dpi=200, seed=4)
        for kind, path in made.items():
            target = ROOT / "corpus" / f"sample-{kind}.pdf"
            shutil.copyfile(path, target)
            print(target.relative_to(ROOT), target.stat().st_size // 1024, "KB")


if __name__ == "__main__":
    main()
