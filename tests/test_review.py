"""The review page and the score summary: what a reviewer sees, escaped, with no script and no network."""
from __future__ import annotations

import json
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.models import Actor, Commitment, CommitmentReport, Correction
from pipeline.report import format_table, load_corrections, render_review, score_markdown, write_review, write_score
from pipeline.report.summary import HEADERS
from pipeline.score import score_report

GOLD = Path("gold/000_5431f427d6bef971/commitments.json")
SCRIPT_TITLE = '<script>document.title="pwned";alert(1)</script>'
IMG_ACTOR = "<img src=x onerror=\"document.title='img'\">"


class Node:
    def __init__(self, tag: str, attrs: dict, parent: "Node | None"):
        self.tag, self.attrs, self.parent, self.children, self.parts = tag, attrs, parent, [], []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        return " ".join(" ".join(p if isinstance(p, str) else p.text() for p in self.parts).split())

    def find_all(self, tag: str, cls: str | None = None) -> list["Node"]:
        out = []
        for c in self.children:
            if c.tag == tag and (cls is None or cls in c.classes):
                out.append(c)
            out += c.find_all(tag, cls)
        return out


class Tree(HTMLParser):
    VOID = {"meta", "br", "col", "img", "input", "link", "hr", "source", "base"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {}, None)
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        self.cur.parts.append(node)
        if tag not in self.VOID:
            self.cur = node

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.parts.append(data)


def by_number(report: CommitmentReport, number: int | str) -> Commitment:
    return next(c for c in report.commitments if c.number == str(number))


@pytest.fixture(scope="module")
def gold() -> CommitmentReport:
    return CommitmentReport.model_validate(json.loads(GOLD.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def case(gold):
    """The gold perturbed: a script title, a dropped actor, a wrong status, an actor replaced by
    markup, a missing and an extra commitment; corrections inside and outside the sections."""
    pred = gold.model_copy(deep=True)
    by_number(pred, 3).title = SCRIPT_TITLE
    dropped = by_number(pred, 2).actors.pop().name
    by_number(pred, 6).status = "completo"
    by_number(pred, 10).actors[0].name = IMG_ACTOR
    pred.commitments = [c for c in pred.commitments if c.number != "13"]
    pred.commitments.append(Commitment(number="99", title="Compromiso inventado", actors=[Actor(name="Inventada A.C.")]))
    start8 = by_number(pred, 8).evidence["title"]
    corrections = [
        Correction(page=start8.page, line=start8.line + 1, offset=0, original="Plataf0rma", replacement="Plataforma",
                   rule="lexicon", confidence=0.95),
        Correction(page=start8.page, line=start8.line + 2, offset=3, original="<b>acci6n</b>", replacement="acción",
                   rule="lexicon", confidence=0.4, applied=False),
        Correction(page=start8.page, line=start8.line + 3, offset=0, original="dat0s", replacement="datos",
                   rule="lexicon", confidence=0.6),
        Correction(page=1, line=1, offset=0, original="Introduccion", replacement="Introducción",
                   rule="accent-frequency", confidence=0.8),
        # commitment 6's title was read from the final table (page 26): its section is its pages
        Correction(page=min(by_number(pred, 6).pages), line=1, offset=0, original="informacion",
                   replacement="información", rule="accent-frequency", confidence=0.8),
    ]
    return pred, corrections, dropped


@pytest.fixture(scope="module")
def page(gold, case):
    pred, corrections, _ = case
    return render_review(pred, gold, corrections, score_report(gold, pred))


def section(tree: Tree, number: int) -> Node:
    return next(s for s in tree.root.find_all("section", "commitment")
                if s.find_all("h2")[0].text().startswith(f"Compromiso {number}:"))


def test_pdf_text_is_escaped_and_the_page_has_no_script_or_remote_asset(page):
    tree = Tree(page)
    assert tree.root.find_all("script") == [] and tree.root.find_all("img") == []
    assert not any(n.attrs.get("src") for tag in ("iframe", "link", "object", "embed") for n in tree.root.find_all(tag))
    assert "&lt;script&gt;" in page and SCRIPT_TITLE not in page
    assert SCRIPT_TITLE in section(tree, 3).find_all("h2")[0].text()
    csp = next(m for m in tree.root.find_all("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp.attrs["content"]
    links = [a.attrs["href"] for a in tree.root.find_all("a")]
    assert all(h.startswith(("#", "https://", "http://")) for h in links)


def test_wrong_status_missed_and_extra_are_marked(page, case):
    _, _, dropped = case
    tree = Tree(page)
    status6 = section(tree, 6).find_all("tr", "field-status")[0]
    assert "wrong" in status6.classes and "WRONG" in status6.text()
    assert "wrong" not in section(tree, 4).find_all("tr", "field-status")[0].classes
    missed = [r for r in section(tree, 2).find_all("tr", "missed")]
    assert len(missed) == 1 and dropped in missed[0].text() and "MISSED" in missed[0].text()
    rows10 = section(tree, 10).find_all("tr")
    assert any("extra" in r.classes and IMG_ACTOR in r.text() for r in rows10)
    assert "missed" in section(tree, 13).classes and "MISSED" in section(tree, 13).text()
    assert "extra" in section(tree, 99).classes
    assert "matches the gold" in section(tree, 4).find_all("h2")[0].text()


def test_section_corrections_flagged_and_low_confidence_first(page):
    tree = Tree(page)
    s8 = section(tree, 8)
    first_table = s8.find_all("table", "corr")[0]
    rows = first_table.find_all("tbody")[0].find_all("tr")
    assert [r.find_all("td")[2].text() for r in rows] == ["<b>acci6n</b>", "dat0s"]
    assert "flagged" in rows[0].classes and "FLAGGED" in rows[0].text() and "low" in rows[1].classes
    other = s8.find_all("details")[-1]
    assert "Plataf0rma" in other.text()
    outside = next(s for s in tree.root.find_all("section") if s.attrs.get("id") == "outside")
    assert "Introduccion" in outside.text() and "Introduccion" not in s8.text()
    assert "informacion" in section(tree, 6).text() and "informacion" not in outside.text()


def test_without_gold_the_page_gives_no_verdict(case):
    pred, corrections, _ = case
    tree = Tree(render_review(pred, None, corrections, None))
    assert "WRONG" not in tree.root.text() and tree.root.find_all("tr", "missed") == []
    assert "No gold for this report" in tree.root.text()
    assert SCRIPT_TITLE in tree.root.text()


def test_write_review_and_load_corrections(tmp_path, gold, case):
    pred, corrections, _ = case
    (tmp_path / "corrections.jsonl").write_text("".join(c.model_dump_json() + "\n" for c in corrections))
    loaded = load_corrections(tmp_path / "corrections.jsonl")
    assert loaded == corrections
    path = write_review(tmp_path, pred, gold, loaded)
    assert path == tmp_path / "review.html" and "Compromiso 6" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    (tmp_path / "bad.jsonl").write_text('{"page": 1}\n')
    with pytest.raises(ValueError, match="bad.jsonl, line 1"):
        load_corrections(tmp_path / "bad.jsonl")


def test_score_summary_lists_misses_and_escapes_text(tmp_path, gold, case):
    pred, _, dropped = case
    report = score_report(gold, pred)
    result = {"gold_root": "gold", "pred_root": "outputs", "thresholds": {"title_match": 80, "title_ok": 90, "actor": 90},
              "reports": [report, {"report": "other", "error": "no prediction: outputs/other/commitments.json does not exist"}],
              "overall": {"reports": 2, "scored": 1, "not_scored": ["other"], **{k: report[k] for k in
                          ("titles", "status", "urls", "actors", "irm", "progress", "milestones")},
                          "commitments": {**report["commitments"], "missed": 1, "extra": 1}, "text": None}}
    md = score_markdown(result)
    assert dropped in md and "status of 6: gold `limitado`, predicted `completo`" in md
    assert "**missed** commitment 13" in md and "**extra** commitment 99" in md
    assert "&lt;img src=x" in md and "<img" not in md
    assert "not scored: no prediction: outputs/other/commitments.json does not exist" in md
    write_score(result, tmp_path)
    assert json.loads((tmp_path / "score.json").read_text()) == result
    assert (tmp_path / "score.md").read_text() == md
    table = format_table(result)
    assert table.row_count == 3 and len(table.columns) == len(HEADERS)


def test_browser_shows_the_highlights_runs_no_script_and_loads_nothing(tmp_path, page, case):
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    _, _, dropped = case
    html = tmp_path / "review.html"
    html.write_text(page, encoding="utf-8")
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,1000", f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.get_log("performance")  # drop what the browser's own start page loaded
        driver.get(html.as_uri())
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
        assert driver.title == "Review: 000_5431f427d6bef971"  # neither injected handler ran
        assert driver.execute_script("return document.scripts.length") == 0

        title3 = driver.find_element(By.XPATH, "//section[@class='commitment matched' and .//h2[starts-with(., 'Compromiso 3:')]]//h2")
        assert title3.is_displayed() and SCRIPT_TITLE in title3.text

        status6 = driver.find_element(By.XPATH, "//section[.//h2[starts-with(., 'Compromiso 6:')]]//tr[contains(@class, 'field-status')]")
        driver.execute_script("arguments[0].scrollIntoView()", status6)
        verdict = status6.find_element(By.CSS_SELECTOR, ".state.wrong")
        assert verdict.is_displayed() and "WRONG" in verdict.text
        cell_bg = status6.find_element(By.TAG_NAME, "td").value_of_css_property("background-color")
        ok_row = driver.find_element(By.XPATH, "//section[.//h2[starts-with(., 'Compromiso 4:')]]//tr[contains(@class, 'field-status')]")
        assert cell_bg != ok_row.find_element(By.TAG_NAME, "td").value_of_css_property("background-color")

        missed = driver.find_element(By.XPATH, f"//tr[contains(@class, 'missed') and contains(., '{dropped}')]")
        driver.execute_script("arguments[0].scrollIntoView()", missed)
        assert missed.is_displayed() and "MISSED" in missed.text

        events = [json.loads(e["message"])["message"] for e in driver.get_log("performance")]
        sent = [m["params"] for m in events if m["method"] == "Network.requestWillBeSent"]
        from_page = [p["request"]["url"] for p in sent if p.get("documentURL") == html.as_uri()]
        assert from_page == [html.as_uri()]  # the page itself, nothing it would load
        network = ("http", "https", "ws", "wss", "ftp")
        assert not [p["request"]["url"] for p in sent if p["request"]["url"].split(":")[0] in network]
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    finally:
        driver.quit()
