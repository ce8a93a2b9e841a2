"""Text inside pictures of text-layer pages, and OCR that fails page by page instead of report-wide."""
import json
import os
import subprocess
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw, ImageFont

from pipeline import errors
from pipeline.ingest import load, pdf, read_page
from pipeline.models import SourceKind

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MENDOZA = Path(__file__).resolve().parents[2] / "shared" / "reports" / "ar-mendoza-plan-2021-2022" / "plan.pdf"
PROSE = ("El compromiso busca publicar los datos de las contrataciones públicas en formatos abiertos "
         "y reutilizables, con la participación de las organizaciones de la sociedad civil. ")


def _picture(path: Path, lines: list[str], size: tuple[int, int]) -> None:
    """A screenshot-like picture: dark text on white, as a page of a tracker would show it."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    for i, text in enumerate(lines):
        draw.text((40, 40 + 60 * i), text, font=font, fill=0)
    image.save(path)


def _page_with_pictures(folder: Path) -> Path:
    """A text-layer page: a paragraph, then a picture of text (a third of the page), a small logo
    with a letter in it, then another paragraph."""
    from fpdf import FPDF

    shot, logo = folder / "shot.png", folder / "logo.png"
    _picture(shot, ["Cumplimiento del compromiso", "Avance: 75%", "Responsable: Secretaría de Ambiente"], (1200, 600))
    _picture(logo, ["G"], (120, 120))
    doc = FPDF(unit="pt", format="A4")
    doc.add_font("Sans", fname=FONT)
    doc.add_page()
    doc.set_font("Sans", size=10)
    doc.set_xy(60, 60)
    doc.multi_cell(475, 14, PROSE * 2)
    doc.image(str(shot), x=60, y=200, w=475, h=237.5)
    doc.image(str(logo), x=500, y=20, w=30, h=30)
    doc.set_xy(60, 480)
    doc.multi_cell(475, 14, PROSE)
    path = folder / "pictures.pdf"
    doc.output(str(path))
    return path


def _rotated(path: Path) -> Path:
    """The same page with /Rotate 90 (a landscape page, as reports print wide tables)."""
    doc = pdfium.PdfDocument(str(path))
    doc[0].set_rotation(90)
    out = path.with_name("rotated.pdf")
    doc.save(str(out))
    return out


@pytest.mark.parametrize("rotate", [False, True])
def test_text_in_a_picture_is_ocrd_and_placed_in_reading_order(tmp_path, rotate):
    path = _page_with_pictures(tmp_path)
    page = load(_rotated(path) if rotate else path).pages[0]
    assert page.source == SourceKind.TEXT_LAYER
    texts = [ln.text for ln in page.lines]
    assert "Cumplimiento del compromiso" in texts and "Avance: 75%" in texts
    where = {t: i for i, t in enumerate(texts)}
    assert texts[0].startswith("El compromiso busca")  # the text layer's paragraph first …
    assert where["Cumplimiento del compromiso"] < where["Avance: 75%"]  # … the picture's lines …
    assert texts[-1].endswith("civil.")  # … and the paragraph after it last
    assert where["Avance: 75%"] < len(texts) - 1
    (region,) = page.images  # the logo is too small to be read
    assert region.bbox.top == pytest.approx(200, abs=1) and region.words >= 8
    assert "picture covering" in region.reason
    ocr_words = [w for ln in page.lines for w in ln.words if w.conf is not None]
    assert all(200 <= w.bbox.top and w.bbox.bottom <= 438 for w in ocr_words)
    # recorded in document.json
    assert json.loads(page.model_dump_json())["images"][0]["reason"] == region.reason


def test_tesseract_gets_one_thread_in_its_own_environment(sample_pdfs, monkeypatch):
    folder, _, _ = sample_pdfs
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    seen = []
    run = subprocess.run

    def spy(cmd, **kwargs):
        seen.append(kwargs["env"].get("OMP_THREAD_LIMIT"))
        return run(cmd, **kwargs)

    monkeypatch.setattr(pdf.subprocess, "run", spy)
    page = pdf.ocr_page(folder / "scanned.pdf", 1, dpi=150)
    assert page.lines and seen == ["1"]
    assert "OMP_THREAD_LIMIT" not in os.environ


def test_a_page_whose_ocr_times_out_is_kept_empty_with_its_error(sample_pdfs, monkeypatch):
    folder, _, _ = sample_pdfs
    run = subprocess.run
    monkeypatch.setattr(pdf.subprocess, "run", lambda cmd, **kw: run(cmd, **{**kw, "timeout": 0.01}))
    doc = load(folder / "scanned.pdf")
    assert [p.number for p in doc.pages] == [1, 2]
    for page in doc.pages:
        assert page.lines == [] and page.source == SourceKind.OCR
        (error,) = page.errors
        assert error.error == "OcrFailed" and "did not finish" in error.problem and error.hint


def test_a_picture_whose_ocr_fails_leaves_the_text_layer_and_an_error(tmp_path, monkeypatch):
    path = _page_with_pictures(tmp_path)
    run = subprocess.run
    monkeypatch.setattr(pdf.subprocess, "run", lambda cmd, **kw: run(cmd, **{**kw, "timeout": 0.01}))
    page = load(path).pages[0]
    assert page.source == SourceKind.TEXT_LAYER and page.lines[0].text.startswith("El compromiso busca")
    assert page.images == [] and [e.error for e in page.errors] == ["OcrFailed"]


def _huge_page_pdf(path: Path) -> Path:
    doc = pdfium.PdfDocument.new()
    doc.new_page(20000, 20000)
    doc.save(str(path))
    return path


def _bomb_pdf(path: Path) -> Path:
    """A page whose only picture claims 100000 x 100000 gray pixels (10 GB decoded) in a few kB."""
    data = zlib.compress(bytes(1 << 20), 9)
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</XObject<</Im0 4 0 R>>>>/Contents 5 0 R>>",
        b"<</Type/XObject/Subtype/Image/Width 100000/Height 100000/ColorSpace/DeviceGray/BitsPerComponent 8"
        b"/Filter/FlateDecode/Length %d>>stream\n" % len(data) + data + b"\nendstream",
        b"<</Length %d>>stream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


@pytest.mark.parametrize("make, what", [(_huge_page_pdf, "the page"), (_bomb_pdf, "a picture on the page")])
def test_a_page_too_large_to_render_is_a_named_page_error(tmp_path, make, what):
    path = make(tmp_path / "big.pdf")
    with pytest.raises(errors.PageTooLarge) as info:
        pdf.page_image(path, 1, 300)
    assert info.value.page == 1 and str(path) in str(info.value) and what in str(info.value)
    (plan,) = pdf.plan_pages(path)
    page = read_page(path, plan)
    assert page.lines == [] and [e.error for e in page.errors] == ["PageTooLarge"]


def test_mendoza_tracker_screenshots_reach_text_txt(tmp_path):
    """The plan's commitment tracker pages are screenshots with only the running footer as text:
    their titles, "Cumplimiento" and percentages end up in `ogp run`'s text.txt."""
    if not MENDOZA.exists():
        pytest.skip(f"{MENDOZA} is absent (the shared development reports are not on this machine)")
    out = tmp_path / "out"
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    done = subprocess.run([str(Path(".venv/bin/ogp")), "run", str(MENDOZA), "--out", str(out)],
                          capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    pages = (out / "plan" / "text.txt").read_text(encoding="utf-8").split("\f")
    document = json.loads((out / "plan" / "document.json").read_text(encoding="utf-8"))
    tracker = [p for p in document["pages"] if p["images"] and p["source"] == "text-layer"
               and any(r["words"] > 50 for r in p["images"])]
    assert len(tracker) >= 12
    text = "\n".join(pages[p["number"] - 1] for p in tracker)
    assert text.count("Cumplimiento") >= 10
    assert sum(ch == "%" for ch in text) >= 10
    assert "LABORATORIO DE CAMBIO" in text.upper()
