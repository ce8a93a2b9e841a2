"""URLs broken across lines or garbled by OCR (`https: / /tabl babiert ) .` + `o/d esarrollo-rural`).

The pieces are joined without spaces and compared (rapidfuzz) with the URLs the same document prints
intact elsewhere: a close match takes the intact spelling. Failing that, the part before the last `/`
is matched against the intact URLs' folders (`https://tablero.gobabiertomx.org/compromiso/`) and the
readable last segment the OCR shows (`desarrollo-rural`) is kept: nothing is made up. A URL on a
known domain that only needs its spaces taken out is rejoined. Anything else is flagged for review,
never invented.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from rapidfuzz import fuzz, process

from pipeline.models import Line

_INTACT = re.compile(r"https?://[\w.-]+\.[a-z]{2,}(?:[/:][^\s]*)?")
_START = re.compile(r"([hn]\s?t\s?t\s?p\s?s?\s?[:;]\s?/\s?/|www\.|(?<!\S)h\s?:\s(?=.*[/.]))", re.IGNORECASE)
# a line that continues a URL: at most three short lower-case pieces, path-like, no sentence
_CONTINUATION = re.compile(r"^\s*(?:\S{1,2}\s)?[a-z0-9/_.-][a-z0-9./_\-= ]{0,80}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,}/?$")
MATCH = 88  # rapidfuzz ratio from which a rebuilt URL takes the document's intact spelling
FOLDER = 62  # ratio from which a garbled head is taken as an intact URL's folder …
FOLDER_LEAD = 12  # … when it beats the next folder by this much
PREFIX = 90  # ratio from which a cut-short URL is the beginning of an intact one
SEGMENT = 75  # ratio the last path segments must reach as well: `…/corrupcion` is not `…/educacion`


_HYPHEN_BREAK = re.compile(r"(https?://[\w.-]+\.[a-z]{2,}/\S*-)[ \t]*\n(?:[ \t]*\n)?[ \t]*([a-z0-9][\w-]*/?)[ \t]*$",
                           re.MULTILINE)


def intact_urls(text: str) -> list[str]:
    """URLs the text prints whole, and those it breaks only after a hyphen at a line end."""
    found = {m.group(0).rstrip(".,;:)") for m in _INTACT.finditer(text)}
    found.update(m.group(1) + m.group(2) for m in _HYPHEN_BREAK.finditer(text))
    # a URL cut at the line end looks intact too: keep only those no longer URL begins with
    return sorted(u for u in found if not u.endswith("-") and not any(v != u and v.startswith(u) for v in found))


def _domain(url: str) -> str:
    return re.sub(r"^https?://", "", url).split("/")[0].lower()


def _clean(candidate: str) -> str:
    candidate = re.sub(r"\s+", "", candidate)
    candidate = re.sub(r"^[hn]ttps?[:;]/*", lambda m: "https://" if "s" in m.group(0).lower() else "http://",
                       candidate, flags=re.IGNORECASE)
    if candidate.lower().startswith("www."):
        candidate = "https://" + candidate
    return candidate.rstrip(".,;:")


def _readable_path(path: str, readable: Callable[[str], bool]) -> bool:
    """Every word of a URL path is a number or readable (so a garbled path is not passed off)."""
    return all(w.isdigit() or readable(w) for w in re.split(r"[-_./]", path) if w)


def _last(url: str) -> str:
    """The last path segment, which tells apart URLs in one folder."""
    return url.rstrip("/").rpartition("/")[2]


def _folders(known: list[str]) -> list[str]:
    return sorted({u[: u.rstrip("/").rfind("/") + 1] for u in known if u.count("/") > 3})


def rebuild(candidate: str, known: list[str], domains: tuple[str, ...],
            readable: Callable[[str], bool] = lambda w: True) -> tuple[str | None, float]:
    """The URL a garbled candidate stands for and how sure that is, or (None, 0) when it cannot be
    told without inventing. `readable` says whether a word of the last segment is a word at all."""
    best = process.extractOne(candidate, known, scorer=fuzz.ratio) if known else None
    if best and best[1] >= MATCH and fuzz.ratio(_last(candidate), _last(best[0])) >= SEGMENT:
        return best[0], round(best[1] / 100, 2)
    # a URL the OCR cut short: the beginning of exactly one intact URL
    starts = [u for u in known if len(candidate) >= 0.4 * len(u)
              and max(fuzz.ratio(candidate, u[: len(candidate) + k]) for k in range(10)) >= PREFIX]
    if len(starts) == 1 and len(starts[0]) > len(candidate):
        return starts[0], 0.6
    head, _, slug = candidate.rstrip("/").rpartition("/")
    folders = _folders(known)
    if head and _SLUG.match(slug) and folders and _readable_path(slug, readable):
        scored = sorted(((fuzz.ratio(head + "/", f), f) for f in folders
                         if not _last(f).startswith(slug)), reverse=True) or [(0, "")]
        lead = scored[0][0] - (scored[1][0] if len(scored) > 1 else 0)
        if scored[0][0] >= FOLDER and lead >= FOLDER_LEAD:
            url = scored[0][1] + slug
            again = process.extractOne(url, known, scorer=fuzz.ratio)
            if again and again[1] >= MATCH and len(again[0]) >= len(url) \
                    and fuzz.ratio(_last(url), _last(again[0])) >= SEGMENT:
                return again[0], 0.7
            return url, 0.6
    path = candidate.split("//", 1)[-1].partition("/")[2]
    if _INTACT.fullmatch(candidate) and _domain(candidate) in domains and _readable_path(path, readable):
        return candidate, 0.7
    return None, 0.0


def _continuation(lines: list[Line], i: int) -> Line | None:
    """The line after `i` (one blank line may sit between) if it reads as the rest of a URL."""
    for j in (i + 1, i + 2):
        if j >= len(lines) or lines[j].page != lines[i].page:
            return None
        text = lines[j].text
        if text.strip():
            ok = _CONTINUATION.match(text) and len(text.split()) <= 3 and re.search(r"[/_-]|^\s*\S+\s*$", text)
            return lines[j] if ok else None
    return None


def repair_url_line(lines: list[Line], i: int, known: list[str], domains: tuple[str, ...], ed,
                    readable: Callable[[str], bool] = lambda w: True) -> None:
    ln = lines[i]
    m = _START.search(ln.text)
    if not m:
        return
    head = ln.text[m.start():]
    nxt = _continuation(lines, i)
    tail = nxt.text.strip() if nxt is not None else ""
    alone = _clean(head)
    if not tail and _INTACT.fullmatch(alone) and alone == head.strip().rstrip(".,;:"):
        return  # an intact URL: nothing to do
    url, confidence = rebuild(_clean(head + tail), known, domains, readable) if tail else (None, 0.0)
    if url is None:
        url, confidence = rebuild(alone, known, domains, readable)
        tail = ""
    shown = head + (" ⏎ " + tail if tail else "")
    if url is None:
        ed.record(m.start(), shown, _clean(head + tail), "url-unrecoverable", 0.2, applied=False)
        return
    if url == head.strip() and not tail:
        return
    ed.record(m.start(), shown, url, "url", confidence)
    ln.text = ln.text[: m.start()] + url
    if tail:
        nxt.text = ""
