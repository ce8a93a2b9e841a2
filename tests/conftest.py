import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# task results cached by the tests go to a throw-away folder, not the user's ~/.prefect
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", tempfile.mkdtemp(prefix="ogp-test-results-"))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SEED = "corpus/000_5431f427d6bef971.txt"
GOLD_PAGES = Path("gold/000_5431f427d6bef971/text")


@pytest.fixture(scope="session")
def prefect_harness():
    """One embedded Prefect server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample_pdfs(tmp_path_factory):
    """Two-page report PDFs made once per session: scanned, text layer, poor OCR layer, and broken."""
    from tests.fixtures.generate import make_broken_files, make_poor_ocr_pdf, make_scanned_pdf, make_text_pdf

    folder = tmp_path_factory.mktemp("pdfs")
    truth = {
        "scanned": make_scanned_pdf(folder / "scanned.pdf", pages=2),
        "text-layer": make_text_pdf(folder / "text-layer.pdf", pages=2),
        "poor-layer": make_poor_ocr_pdf(folder / "poor-layer.pdf", pages=2),
    }
    broken = make_broken_files(tmp_path_factory.mktemp("broken"))
    return folder, truth, broken


def _read_page(args):
    from pipeline import ingest

    path, plan = args
    return ingest.read_page(path, plan, dpi=200)


@pytest.fixture(scope="session")
def gold_page_pdfs(tmp_path_factory) -> dict:
    """The seed's hand-corrected gold pages set as PDF pages (one per gold page: scanned, text
    layer, poor OCR layer), each read by the pipeline with its pages OCR'd two at a time: variant
    → (the PDF, its Document after layout). Made once for the tests that read them (slow: ~1.5 min)."""
    from pipeline import ingest
    from pipeline.ingest import pdf
    from pipeline.layout import analyse
    from tests.fixtures.generate import make_report_pdfs, read_text_pages

    os.environ["OMP_THREAD_LIMIT"] = "1"
    paths = make_report_pdfs(tmp_path_factory.mktemp("report-pdfs"), read_text_pages(GOLD_PAGES), dpi=200)
    out = {}
    with ProcessPoolExecutor(2) as pool:
        for name, path in paths.items():
            plans = pdf.plan_pages(path)
            pages = list(pool.map(_read_page, [(path, p) for p in plans]))
            out[name] = (path, analyse(ingest.assemble_pdf(path, pdf.sha256_file(path), pages)))
    return out
