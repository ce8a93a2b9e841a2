"""`ogp review`: the review app's pages, its guards (CSRF, Host, paths) and the gold it writes."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pipeline.export import atomic_write_text, write_document
from pipeline.models import (Actor, BBox, Commitment, CommitmentReport, Document, Evidence, Line, Page,
                             SourceKind)
from pipeline.review_app import create_app
from pipeline.review_app.values import queue, values
from pipeline.score import score_corpus

HOST = "testserver"
ORIGIN = f"http://{HOST}"
EVIL = '<script>document.title="pwned"</script>'
SEED = Path("corpus/000_5431f427d6bef971.txt")
SEED_GOLD = Path("gold/000_5431f427d6bef971")


def _ev(rule: str, conf: float, page: int, line: int, text: str) -> Evidence:
    return Evidence(page=page, line=line, text=text, rule=rule, confidence=conf)


def _text_report(out: Path, name: str = "informe") -> CommitmentReport:
    """A two-commitment text report in `out/name`: document.json, source.json and commitments.json."""
    lines = ["Compromiso 1: Datos abiertos " + EVIL, "Autoevaluación:", "Compromiso completado",
             "con la Secretaría de la Función Pública", "Compromiso 2: Salud"]
    doc = Document(path=f"{name}.txt", sha256=hashlib.sha256(name.encode()).hexdigest(), source=SourceKind.TEXT_FILE,
                   pages=[Page(number=1, source=SourceKind.TEXT_FILE,
                               lines=[Line(text=t, page=1, line=n + 10) for n, t in enumerate(lines)])])
    report = CommitmentReport(report=name, source_sha256=doc.sha256, commitments=[
        Commitment(number="1", title="Datos abiertos " + EVIL, status="completo", status_text="Compromiso completado",
                   actors=[Actor(name="Secretaría de la Función Pública " + EVIL, sector="gobierno",
                                 evidence=_ev("actor.head", 0.64, 1, 13, lines[3]))],
                   evidence={"title": _ev("title.numbered_heading", 0.96, 1, 10, lines[0]),
                             "status": _ev("status.self_assessment", 0.93, 1, 12, lines[2])}),
        Commitment(number="2", title="Salud", evidence={"title": _ev("title.numbered_heading", 0.96, 1, 14, lines[4])}),
    ])
    folder = out / name
    folder.mkdir(parents=True)
    write_document(doc, folder)
    atomic_write_text(folder / "commitments.json", report.model_dump_json(indent=1))
    return report


@pytest.fixture
def site(tmp_path):
    out, gold = tmp_path / "out", tmp_path / "gold"
    report = _text_report(out)
    client = TestClient(create_app(out, gold, "ana", [HOST]), base_url=ORIGIN)
    return client, out, gold, report


def _token(client: TestClient, path: str) -> tuple[str, str]:
    page = client.get(path)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    prediction = re.search(r'name="prediction" value="([^"]+)"', page.text).group(1)
    return csrf, prediction


def _decide(client, value: str, action: str, headers=None, **fields):
    csrf, prediction = _token(client, f"/r/informe/v/{value}")
    form = {"csrf": csrf, "prediction": prediction, "value": value, "action": action, **fields}
    return client.post("/r/informe/decide", data=form, headers={"Origin": ORIGIN} if headers is None else headers,
                       follow_redirects=False)


def test_the_queue_is_least_certain_first_and_names_each_rule(site):
    client, out, _, report = site
    queued = queue(values(report, None), set())
    assert [v.id for v in queued][:3] == ["c0.actor.0", "c0.status", "c0.title"]
    page = client.get("/r/informe").text
    assert page.index("c0.actor.0") < page.index("c0.status") < page.index("c0.title")
    assert "actor.head" in page and "0.64" in page


def test_everything_from_the_report_is_escaped_and_nothing_is_loaded(site):
    client, *_ = site
    for path in ("/", "/r/informe", "/r/informe/v/c0.title", "/r/informe/v/c0.actor.0"):
        response = client.get(path)
        assert response.status_code == 200
        assert "<script" not in response.text.lower()
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert not re.search(r'(src|href)="(https?:)?//', response.text)
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in client.get("/r/informe/v/c0.title").text


def test_a_text_report_shows_the_source_line_marked(site):
    client, *_ = site
    page = client.get("/r/informe/v/c0.status").text
    marked = re.findall(r'<span class="ln mark"[^>]*><b>(\d+)</b>([^<]*)</span>', page)
    assert marked == [("12", "Compromiso completado")]


def test_a_post_without_the_session_token_or_from_another_site_is_refused(site):
    client, _, gold, _ = site
    csrf, prediction = _token(client, "/r/informe/v/c0.status")
    form = {"csrf": csrf, "prediction": prediction, "value": "c0.status", "action": "accept"}
    assert client.post("/r/informe/decide", data=form, headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post("/r/informe/decide", data=form).status_code == 403  # neither Origin nor Referer
    assert client.post("/r/informe/decide", data={**form, "csrf": "0" * 64}, headers={"Origin": ORIGIN}).status_code == 403
    other = TestClient(client.app, base_url=ORIGIN)  # another browser: its own session, not this token
    assert other.post("/r/informe/decide", data=form, headers={"Origin": ORIGIN}).status_code == 403
    assert not (gold / "informe").exists()
    ok = client.post("/r/informe/decide", data=form, headers={"Referer": f"{ORIGIN}/r/informe"}, follow_redirects=False)
    assert ok.status_code == 303 and (gold / "informe" / "commitments.json").is_file()


def test_another_host_and_paths_outside_out_are_refused(site, tmp_path):
    client, out, _, _ = site
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    (tmp_path / "elsewhere").mkdir()
    shutil.copy(out / "informe" / "commitments.json", tmp_path / "elsewhere" / "commitments.json")
    os.symlink(tmp_path / "elsewhere", out / "link")
    for path in ("/r/link", "/r/..%2Felsewhere", "/r/.hidden", "/r/%2e%2e", "/r/informe%2F..%2F..%2Felsewhere",
                 "/r/informe/page/1.png", "/r/informe/v/c9.title", "/r/informe/v/c0.actor.5"):
        assert client.get(path).status_code == 404, path
    assert "link" not in client.get("/").text


def test_a_decision_creates_the_gold_of_a_report_without_one_and_ogp_score_counts_it(site):
    client, out, gold, report = site
    refused = _decide(client, "c0.status", "correct", new="hecho")
    assert refused.status_code == 303 and "error=" in refused.headers["location"]  # not on the OGP scale
    assert not (gold / "informe" / "commitments.json").exists()
    assert "status must be one of" in client.get(refused.headers["location"]).text
    assert _decide(client, "c0.status", "correct", new="limitado").status_code == 303
    written = json.loads((gold / "informe" / "commitments.json").read_text(encoding="utf-8"))
    assert written["source_sha256"] == report.source_sha256
    [c] = written["commitments"]
    assert (c["number"], c["title"], c["status"]) == ("1", report.commitments[0].title, "limitado")
    log = [json.loads(x) for x in (gold / "informe" / "review-log.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["who"], e["value"], e["action"], e["before"], e["after"]) for e in log] == \
        [("ana", "c0.status", "correct", None, "limitado")]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", log[0]["when"])
    scored = score_corpus(gold, out)["reports"][0]
    assert scored["commitments"]["gold"] == 1
    assert scored["status"]["wrong"] == [{"number": "1", "gold": "limitado", "pred": "completo"}]
    queue_page = client.get("/r/informe").text
    assert "/v/c0.status#source" not in queue_page and "/v/c0.title#source" in queue_page  # decided: out of the queue


def test_added_actor_and_commitment_and_a_deleted_actor_reach_the_gold(site):
    client, out, gold, _ = site
    csrf, prediction = _token(client, "/r/informe")
    base = {"csrf": csrf, "prediction": prediction}
    client.post("/r/informe/add-actor", headers={"Origin": ORIGIN},
                data={**base, "commitment": "1", "name": "Fundar", "acronym": "", "sector": "sociedad_civil",
                      "role": "contraparte"})
    client.post("/r/informe/add-commitment", headers={"Origin": ORIGIN}, data={**base, "number": "3", "title": "Agua"})
    _decide(client, "c0.actor.0", "delete")
    written = json.loads((gold / "informe" / "commitments.json").read_text(encoding="utf-8"))
    by_number = {c["number"]: c for c in written["commitments"]}
    assert [(a["name"], a["sector"], a["role"]) for a in by_number["2"]["actors"]] == \
        [("Fundar", "sociedad_civil", "contraparte")]
    assert by_number["3"]["title"] == "Agua"
    assert by_number["1"].get("actors", []) == []  # the report does not name it: not in gold
    scored = score_corpus(gold, out)["reports"][0]
    assert scored["commitments"]["missed"] == [{"number": "3", "title": "Agua"}]
    missed = [a["name"] for e in scored["actors"]["per_commitment"] for a in e["missed"]]
    assert missed == ["Fundar"]


def test_a_decision_on_existing_gold_changes_only_what_was_decided(tmp_path):
    out, gold = tmp_path / "out", tmp_path / "gold"
    shutil.copytree(SEED_GOLD, gold / SEED_GOLD.name)
    original = json.loads((gold / SEED_GOLD.name / "commitments.json").read_text(encoding="utf-8"))
    seed_gold = CommitmentReport.model_validate(original)
    pred = seed_gold.model_copy(deep=True)  # a prediction equal to the gold, but for one status
    pred.commitments[2].status = "limitado"
    (out / "seed").mkdir(parents=True)
    atomic_write_text(out / "seed" / "commitments.json", pred.model_dump_json())
    client = TestClient(create_app(out, gold, "ana", [HOST]), base_url=ORIGIN)
    csrf, prediction = _token(client, "/r/seed/v/c2.status")
    response = client.post("/r/seed/decide", headers={"Origin": ORIGIN}, follow_redirects=False, data={
        "csrf": csrf, "prediction": prediction, "value": "c2.status", "action": "accept"})
    assert response.status_code == 303
    after = json.loads((gold / SEED_GOLD.name / "commitments.json").read_text(encoding="utf-8"))
    changed = [n for n, (a, b) in enumerate(zip(original["commitments"], after["commitments"])) if a != b]
    assert changed == [2]
    assert after["commitments"][2]["status"] == "limitado"
    assert {k: v for k, v in after["commitments"][2].items() if k not in ("status", "status_text")} == \
        {k: v for k, v in original["commitments"][2].items() if k not in ("status", "status_text")}
    assert not (gold / "seed").exists()  # the gold is found by source_sha256, not by the folder's name
    assert sorted(p.name for p in (gold / SEED_GOLD.name).iterdir()) == \
        sorted([*(p.name for p in SEED_GOLD.iterdir()), "review-log.jsonl"])  # no temp file left


def test_a_failed_write_leaves_the_gold_and_the_log_as_they_were(site, monkeypatch):
    client, _, gold, _ = site
    _decide(client, "c0.status", "accept")
    path = gold / "informe" / "commitments.json"
    before, log_before = path.read_bytes(), (gold / "informe" / "review-log.jsonl").read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        _decide(client, "c0.title", "correct", new="Otro título")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert (gold / "informe" / "review-log.jsonl").read_bytes() == log_before
    assert sorted(p.name for p in path.parent.iterdir()) == ["commitments.json", "review-log.jsonl"]


def test_a_stale_page_is_refused(site):
    client, out, gold, report = site
    csrf, prediction = _token(client, "/r/informe/v/c0.status")
    atomic_write_text(out / "informe" / "commitments.json", report.model_dump_json(indent=2))  # extracted again
    response = client.post("/r/informe/decide", headers={"Origin": ORIGIN}, data={
        "csrf": csrf, "prediction": prediction, "value": "c0.status", "action": "accept"})
    assert response.status_code == 409 and not (gold / "informe").exists()


def test_a_pdf_value_is_shown_on_its_page_image_with_a_box(tmp_path):
    from fpdf import FPDF
    from PIL import Image

    pdf = FPDF(unit="pt", format=(600, 800))
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.text(100, 200, "Institucion responsable: Ministerio de Salud")
    pdf_path = tmp_path / "plan.pdf"
    pdf.output(str(pdf_path))
    sha = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    out = tmp_path / "out"
    folder = out / "plan"
    folder.mkdir(parents=True)
    box = BBox(x0=100, top=190, x1=400, bottom=204)
    doc = Document(path=str(pdf_path), sha256=sha, source=SourceKind.TEXT_LAYER, pages=[Page(
        number=1, source=SourceKind.TEXT_LAYER, width=600, height=800,
        lines=[Line(text="Institucion responsable: Ministerio de Salud", page=1, line=1, bbox=box)])])
    write_document(doc, folder)
    report = CommitmentReport(report="plan", source_sha256=sha, commitments=[Commitment(
        number="1", title="Salud", actors=[Actor(name="Ministerio de Salud", role="responsable",
                                                  evidence=_ev("actor.field", 0.97, 1, 1, "Ministerio de Salud"))])])
    atomic_write_text(folder / "commitments.json", report.model_dump_json())
    client = TestClient(create_app(out, tmp_path / "gold", "ana", [HOST]), base_url=ORIGIN)
    page = client.get("/r/plan/v/c0.actor.0").text
    style = re.search(r'class="box" id="source" style="([^"]+)"', page).group(1)
    assert style == "left: 16.667%; top: 23.750%; width: 50.000%; height: 1.750%"
    png = client.get("/r/plan/page/1.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(png.content))
    assert abs(image.width / image.height - 600 / 800) < 0.01
    dark = [x for x in range(image.width) if image.getpixel((x, int(image.height * 0.245)))[0] < 128]
    assert dark and image.width * 0.16 <= dark[0] <= image.width * 0.19  # the text starts where the box does
    assert client.get("/r/plan/page/2.png").status_code == 404
    pdf_path.write_bytes(pdf_path.read_bytes() + b"\n%changed")  # not the file the report was made from
    assert client.get("/r/plan/page/1.png").status_code == 404
    assert 'class="box"' not in client.get("/r/plan/v/c0.actor.0").text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ogp review exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"ogp review did not answer at {url}")


def _left_the_page(element):
    """A wait condition: `element`'s page has been replaced (the form's POST answered and its
    redirect loaded). Chromium reports a node of a page being replaced either as stale or as a node
    that "does not belong to the document"; both mean it is gone."""
    from selenium.common.exceptions import WebDriverException

    def gone(driver) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # StaleElementReferenceException included
            return True
        return False

    return gone


def test_in_chromium_a_corrected_status_and_an_added_actor_reach_the_gold_and_ogp_score(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from pipeline.process import extract_document, read_report, repair_document

    out, gold = tmp_path / "out", tmp_path / "gold"
    shutil.copytree(SEED_GOLD, gold / SEED_GOLD.name)
    doc = read_report(SEED)
    pred = extract_document(doc, repair_document(doc))
    (out / "seed").mkdir(parents=True)
    write_document(doc, out / "seed")
    atomic_write_text(out / "seed" / "commitments.json", pred.model_dump_json(indent=1))
    c3 = next(j for j, c in enumerate(pred.commitments) if c.number == "3")
    old_status = pred.commitments[c3].status
    port = _free_port()
    ogp = Path(sys.executable).with_name("ogp")
    server = subprocess.Popen([str(ogp), "review", str(out), "--gold", str(gold), "--port", str(port),
                               "--reviewer", "selenium"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"):
        options.add_argument(arg)
    driver = None
    try:
        _wait_for(f"http://127.0.0.1:{port}/", server)
        driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
        driver.get(f"http://127.0.0.1:{port}/")
        driver.find_element(By.LINK_TEXT, "seed").click()
        assert driver.title == "Review: seed"
        driver.find_element(By.CSS_SELECTOR, f"a[href$='/v/c{c3}.status#source']").click()
        marked = driver.find_element(By.CSS_SELECTOR, ".text-page .mark")
        assert marked.is_displayed() and marked.text.split(None, 1)[1] in pred.commitments[c3].evidence["status"].text
        status = Select(driver.find_element(By.CSS_SELECTOR, "#correct-form select[name=new]"))
        new_status = next(o.get_attribute("value") for o in status.options if o.get_attribute("value") != old_status)
        status.select_by_value(new_status)
        submit = driver.find_element(By.ID, "correct")
        submit.click()
        WebDriverWait(driver, 30).until(_left_the_page(submit))  # the POST answered: its redirect loaded
        assert f"/v/c{c3}.status" not in driver.current_url  # on to the next value of the queue
        driver.get(f"http://127.0.0.1:{port}/r/seed")
        form = driver.find_element(By.CSS_SELECTOR, "form[action$='/add-actor']")
        Select(form.find_element(By.NAME, "commitment")).select_by_value(str(c3))
        form.find_element(By.NAME, "name").send_keys("Colectivo de Revisión Ciudadana")
        Select(form.find_element(By.NAME, "sector")).select_by_value("sociedad_civil")
        Select(form.find_element(By.NAME, "role")).select_by_value("apoyo")
        submit = form.find_element(By.CSS_SELECTOR, "button[type=submit]")
        submit.click()
        WebDriverWait(driver, 30).until(_left_the_page(submit))
        driver.refresh()
        decisions = driver.find_element(By.XPATH, "//div[h3='Latest decisions']").text
        assert f"selenium: correct c{c3}.status" in decisions and f"selenium: add c{c3}.actor.new" in decisions
        assert not driver.find_elements(By.CSS_SELECTOR, f"a[href$='/v/c{c3}.status#source']")
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(10)
    written = json.loads((gold / SEED_GOLD.name / "commitments.json").read_text(encoding="utf-8"))
    g3 = next(c for c in written["commitments"] if c["number"] == "3")
    assert g3["status"] == new_status
    assert {"name": "Colectivo de Revisión Ciudadana", "acronym": None, "sector": "sociedad_civil", "role": "apoyo",
            "evidence": None} in g3["actors"]
    scored = subprocess.run([str(ogp), "score", "--gold", str(gold), "--pred", str(out), "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert scored.returncode == 0, scored.stderr
    report = json.loads((tmp_path / "score.json").read_text(encoding="utf-8"))["reports"][0]
    assert {"number": "3", "gold": new_status, "pred": old_status} in report["status"]["wrong"]
    missed = [a["name"] for e in report["actors"]["per_commitment"] if e["number"] == "3" for a in e["missed"]]
    assert "Colectivo de Revisión Ciudadana" in missed
    assert "Colectivo de Revisión Ciudadana" in (tmp_path / "score.md").read_text(encoding="utf-8")


def test_a_gold_of_the_same_name_for_another_file_is_never_written(site):
    client, out, gold, report = site
    other = CommitmentReport(report="informe", source_sha256="0" * 64, commitments=[Commitment(number="1", title="X")])
    (gold / "informe").mkdir(parents=True)
    text = other.model_dump_json()
    (gold / "informe" / "commitments.json").write_text(text, encoding="utf-8")
    assert "describes another input file" in client.get("/").text
    assert client.get("/r/informe").status_code == 409
    assert (gold / "informe" / "commitments.json").read_text(encoding="utf-8") == text
