"""URLs broken across lines or garbled by OCR (`https: / /tablero.gobabiertomx.org/comprom` +
`iso/e ducacion`): the pieces are joined without spaces and matched with rapidfuzz against the URLs the
same document prints intact elsewhere (e.g. its summary table); a match below the threshold is kept
only if its domain is a known one, else it is flagged, never invented."""
from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from pipeline.models import Line

_INTACT = re.compile(r"https?://[\w.-]+\.[a-z]{2,}(?:[/:][^\s]*)?")
_START = re.compile(r"(h\s?t\s?t\s?p\s?s?\s?:\s?/\s?/|www\.)", re.IGNORECASE)
# a next line that continues a URL: a few tokens, lower case, path-like, no sentence
_CONTINUATION = re.compile(r"^\s*[a-z0-9/_.-][\w./_\- ]{0,60}$")
MATCH = 88  # rapidfuzz ratio from which a rebuilt URL takes the document's intact spelling


def intact_urls(text: str) -> list[str]:
    found = {m.group(0).rstrip(".,;:)") for m in _INTACT.finditer(text)}
    return sorted(u for u in found if not u.endswith("-"))


def _domain(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/")[0].lower()


def repair_url_line(ln: Line, nxt: Line | None, known: list[str], domains: tuple[str, ...], ed) -> None:
    m = _START.search(ln.text)
    if not m:
        return
    head = ln.text[m.start():]
    tail = ""
    if nxt is not None and _CONTINUATION.match(nxt.text) and len(nxt.text.split()) <= 3:
        tail = nxt.text.strip()
    candidate = re.sub(r"\s+", "", head + tail)
    candidate = re.sub(r"^(https?):/*", r"\1://", candidate, flags=re.IGNORECASE)
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    candidate = candidate.rstrip(".,;:")
    if candidate == head.strip() and not tail:
        return  # an intact URL: nothing to do
    best = process.extractOne(candidate, known, scorer=fuzz.ratio) if known else None
    if best and best[1] >= MATCH:
        url, confidence = best[0], round(best[1] / 100, 2)
    elif _domain(candidate) in domains and " " not in head.strip():
        url, confidence = candidate, 0.7
    else:
        ed.record(m.start(), head + (" ⏎ " + tail if tail else ""), candidate, "url-unrecoverable", 0.2,
                  applied=False)
        return
    if best and best[1] < MATCH and not tail and url == head.strip():
        return
    ed.record(m.start(), head + (" ⏎ " + tail if tail else ""), url, "url", confidence)
    ln.text = ln.text[: m.start()] + url
    if tail:
        nxt.text = ""
