import os
import tempfile

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# task results cached by the tests go to a throw-away folder, not the user's ~/.prefect
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", tempfile.mkdtemp(prefix="ogp-test-results-"))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SEED = "corpus/000_5431f427d6bef971.txt"


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
