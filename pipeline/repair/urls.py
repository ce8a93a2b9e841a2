"""URLs broken across lines or garbled by OCR (`https: / /tabl babiert ) .` + `o/d esarrollo-rural`).

The pieces are joined without spaces and compared (rapidfuzz) with the URLs the same document prints
intact elsewhere: a close match takes the intact spelling. Failing that, the part before the last `/`
is matched against the intact URLs' folders (`https://tablero.gobabiertomx.org/compromiso/`) and the
readable last segment the OCR shows (`desarrollo-rural`) is kept: nothing is made up. A URL on a
known domain that only needs its spaces taken out is rejoined, unless its last segment is cut short
(`…/compro`). Anything else is flagged for review, never invented. A URL printed mid-line ends at
the first word after it unless the rebuilt URL contains that word; what follows is kept.
"""
from __future__ import annotations

import itertools
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
MAX_PIECES = 40  # printed pieces (split by OCR spaces) a URL and the words after it on its line may take


_HYPHEN_BREAK = re.compile(r"(https?://[\w.-]+\.[a-z]{2,}/\S*-)[ \t]*\n(?:[ \t]*\n)?[ \t]*([a-z0-9][\w-]*/?)[ \t]*$",
                           re.MULTILINE)


def intact_urls(text: str) -> list[str]:
    """URLs the text prints whole, and those it breaks only after a hyphen at a line end."""
    found = {m.group(0).rstrip(".,;:)") for m in _INTACT.finditer(text)}
    found.update(m.group(1) + m.group(2) for m in _HYPHEN_BREAK.finditer(text))
    # a URL cut at the line end looks intact too: keep only those no longer URL begins with (in
    # sorted order, the URLs beginning with u come right after it)
    ordered = sorted(found)
    return [u for u, v in zip(ordered, ordered[1:] + [""]) if not u.endswith("-") and not v.startswith(u)]


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


def _cut_short(url: str, known: list[str]) -> bool:
    """Whether the last segment of `url` is only the beginning of the segment the document's URLs on
    the same domain print at that place (`…/compro` of `…/compromiso/`), or too short to be one."""
    parts = url.rstrip("/").split("/")
    if len(parts[-1]) < 3:
        return True
    for u in known:
        other = u.rstrip("/").split("/")
        if _domain(u) == _domain(url) and len(other) >= len(parts) \
                and other[len(parts) - 1] != parts[-1] and other[len(parts) - 1].startswith(parts[-1]):
            return True
    return False


def _folders(known: list[str]) -> list[str]:
    return sorted({u[: u.rstrip("/").rfind("/") + 1] for u in known if u.count("/") > 3})


def rebuild(candidate: str, known: list[str], domains: tuple[str, ...],
            readable: Callable[[str], bool] = lambda w: True) -> tuple[str | None, float]:
    """The URL a garbled candidate stands for and how sure that is, or (None, 0) when it cannot be
    told without inventing. `readable` says whether a word of the last segment is a word at all."""
    best = process.extractOne(candidate, known, scorer=fuzz.ratio) if known else None
    if best and best[1] >= MATCH and fuzz.ratio(_last(candidate), _last(best[0])) >= SEGMENT:
        return best[0], round(best[1] / 100, 2)
    # a URL the OCR cut short: the beginning of exactly one intact URL, reaching into its last
    # segment (`…/compro` could begin any link of the folder) and agreeing with it
    starts = [u for u in known if len(candidate) > u.rstrip("/").rfind("/") + 1
              and fuzz.ratio(_last(candidate), _last(u)[: len(_last(candidate))]) >= SEGMENT
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
    if _INTACT.fullmatch(candidate) and _domain(candidate) in domains and _readable_path(path, readable) \
            and not _cut_short(candidate, known):
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


def _folder_goes_on(lines: list[Line], i: int, pieces: list) -> bool:
    """A URL that ends a line with a folder (`https://host.org/`) and a next line that is one
    path-like token (`compromiso/educacion`): the path was wrapped, the URL is not whole yet."""
    if len(pieces) != 1 or not pieces[0].group(0).endswith("/"):
        return False
    nxt = _continuation(lines, i)
    return nxt is not None and len(nxt.text.split()) == 1 and bool(re.search(r"[^\W\d_]", nxt.text))


_WORD_PIECE = re.compile(r"^\(?([^\W\d_]+)[.,;:!?)]*$")


def _is_word(piece: str, readable: Callable[[str], bool]) -> bool:
    """Prose, where a URL printed mid-line ends: a one-letter word (`y`, `o`) or a readable one (a
    garbled piece of the URL itself, `lero.` `mpr`, is neither)."""
    m = _WORD_PIECE.match(piece)
    return bool(m) and (len(m.group(1)) == 1 or readable(m.group(1)))


def _holds(url: str, pieces: list[str], fuzzy: bool = False) -> bool:
    """Whether the rebuilt `url` contains every piece, in order (pieces of punctuation alone are OCR
    noise). A one-letter piece proves nothing (`o`, `y` are words). `fuzzy`: a long piece (a whole
    continuation line) may differ by an OCR'd letter or two (`S= report-…` for `s-report-…`)."""
    low, pos = url.lower(), 0
    for piece in pieces:
        core = _clean(piece).lower()
        if not re.search(r"\w", core):
            continue
        if len(core) < 2:
            return False
        at = low.find(core, pos)
        if at < 0 and fuzzy and len(core) >= 10:
            found = fuzz.partial_ratio_alignment(core, low[pos:])
            if found.score >= MATCH:
                at, core = pos + found.dest_start, low[pos + found.dest_start: pos + found.dest_end]
        if at < 0:
            return False
        pos = at + len(core)
    return True


def repair_url_line(lines: list[Line], i: int, known: list[str], domains: tuple[str, ...], ed,
                    readable: Callable[[str], bool] = lambda w: True) -> bool:
    """Rebuild the URL that starts on line `i` (recording it on `ed`). The URL ends at the first
    word printed after it, unless the rebuilt URL contains that word (an OCR split: `…/compromiso/
    salud`); a continuation line is taken in only when the rebuilt URL contains all of it. Whatever
    follows the URL on the line is kept as printed. Returns whether a URL was repaired or flagged."""
    ln = lines[i]
    m = _START.search(ln.text)
    if not m:
        return False
    # the pieces a URL may be printed in: a bounded number, so a long line costs no more per URL
    pieces = list(itertools.islice(re.finditer(r"\S+", ln.text[m.start():]), MAX_PIECES + 1))
    capped = len(pieces) > MAX_PIECES
    pieces = pieces[:MAX_PIECES]
    first = _clean(pieces[0].group(0))
    if first in known and first == pieces[0].group(0).rstrip(".,;:)") and not _folder_goes_on(lines, i, pieces):
        return False  # printed whole: nothing to do, and nothing after it is part of it
    cut = next((k for k, p in enumerate(pieces) if k and _is_word(p.group(0), readable)), len(pieces))
    head = ln.text[m.start(): m.start() + pieces[cut - 1].end()]
    nxt = None if capped else _continuation(lines, i)  # a line that goes on past the URL is not wrapped
    tail = nxt.text.strip() if nxt is not None else ""
    if not tail and _INTACT.fullmatch(_clean(head)) and _clean(head) == head.strip().rstrip(".,;:"):
        return False  # an intact URL the document prints only here
    # longest proven reading first: the whole rest of the line and the next line, then fewer words
    tries = [(n, tail) for n in [len(pieces)] if tail] + [(n, "") for n in range(len(pieces), cut - 1, -1)]
    url = None
    for n, with_tail in tries:
        extra = [p.group(0) for p in pieces[cut:n]]
        candidate = _clean(head + "".join(extra) + with_tail)
        url, confidence = rebuild(candidate, known, domains, readable)
        if url is not None and _holds(url, extra) and (not with_tail or _holds(url, [with_tail], fuzzy=True)):
            break
        url = None
    end = m.start() + pieces[n - 1].end() if url is not None else m.start() + len(head)
    printed = ln.text[m.start(): end]
    shown = printed + (" ⏎ " + with_tail if url is not None and with_tail else "")
    if url is None:
        ed.record(m.start(), printed, _clean(printed), "url-unrecoverable", 0.2, applied=False)
        return True
    if url == printed and not with_tail:
        return False
    ed.record(m.start(), shown, url, "url", confidence)
    ed.replaced(m.start(), len(printed), len(url))
    ln.text = ln.text[: m.start()] + url + ln.text[end:]
    if with_tail:
        nxt.text = ""
    return True
