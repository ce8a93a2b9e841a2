"""The Spanish lexicon the repair checks words against.

Two sources, both offline: the word forms of Debian's hunspell-es dictionary (every stem expanded with
its affix rules; which spellings are Spanish, accents included) and wordfreq's Spanish frequencies (how
common a form is). wordfreq alone cannot tell `informacion` from `información` — it counts the web's
unaccented spellings too — so a form is *valid* when hunspell has it, or when wordfreq knows it well
and hunspell has no accented form of the same letters (names, loanwords: `Twitter`, `Madrid`).

Building it (1.5-1.9 s: a million forms, the frequency table, the folded index) is done once per
machine and code version: the built lexicon is kept in the user's cache folder
(`pipeline.userdata.cache_dir()`) in marshal form, read back in ~0.5 s by every later process. The
file's name is the hash of what built it (this module's source, the form list, wordfreq's version), so
a change to any of them builds it again; an unreadable or damaged file is rebuilt, a read-only
cache folder only costs the build.

`python -m pipeline.repair.lexicon` rebuilds `pipeline/data/repair/hunspell-es.txt.xz` from
/usr/share/hunspell/es_ES.{dic,aff}; the committed file keeps results independent of the installed
dictionary's version.
"""
from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import lzma
import marshal
import math
import re
import sys
from functools import lru_cache
from pathlib import Path

from pipeline.export import atomic_write_bytes
from pipeline.repair.rules import DATA
from pipeline.userdata import cache_dir

HUNSPELL_FORMS = DATA / "hunspell-es.txt.xz"
WELL_KNOWN = 3.0  # Zipf from which a form hunspell lacks counts as a word (a name, a loanword)
FLOOR = 1.0  # Zipf given to a hunspell form wordfreq has never seen
ACCENTED_SEEN = 1e-8  # frequency (Zipf 1) from which wordfreq's accented spellings are taken as forms


_INFINITIVE_CLITIC = re.compile(r"^(\w+[aei]r)(?:me|te|se|nos|os)?(?:lo|la|los|las|le|les|se|me|nos)$")
_SPANISH = re.compile(r"^[a-záéíóúüñ]+$")
_FOLD = str.maketrans("áéíóúüñàèìòùâêîôûäëïöÁÉÍÓÚÜÑÀÈÌÒÙÂÊÎÔÛÄËÏÖ", "aeiouunaeiouaeiouaeioAEIOUUNAEIOUAEIOUAEIO")


def fold(word: str) -> str:
    """Lower case without accents, ñ as n."""
    return word.lower().translate(_FOLD)


class Lexicon:
    def __init__(self, forms: set[str], freq: dict[str, float]):
        self.forms = forms
        self.freq = freq
        self.by_fold: dict[str, list[str]] = {}
        for w in forms:
            if not w.isascii():
                f = w.translate(_FOLD)
                if f != w:
                    self.by_fold.setdefault(f, []).append(w)
        for f, ws in self.by_fold.items():
            if f in forms:
                ws.append(f)
            ws.sort()

    def add(self, words: list[str]) -> None:
        for w in words:
            self.forms.add(w)
            f = w.translate(_FOLD)
            forms = self.by_fold.setdefault(f, [f] if f in self.forms else [])
            if w not in forms:
                forms.append(w)

    def zipf(self, word: str) -> float:
        w = word.lower()
        f = self.freq.get(w)
        if f is not None:
            return math.log10(f) + 9
        return FLOOR if w in self.forms else 0.0

    def valid(self, word: str) -> bool:
        w = word.lower()
        if w in self.forms:
            return True
        m = _INFINITIVE_CLITIC.match(w)  # `orientarlas`: hunspell-es lacks some infinitive + pronoun forms
        if m and m.group(1) in self.forms:
            return True
        return self.zipf(w) >= WELL_KNOWN and w not in self.by_fold

    def spellings(self, word: str) -> list[str]:
        """Valid forms with the same letters as `word` up to accents and ñ (`publica` → `publica`,
        `pública`; `informacion` → `información`)."""
        f = fold(word)
        forms = self.by_fold.get(f)
        if forms is not None:
            return forms
        return [f] if self.valid(f) else []


@lru_cache(maxsize=1)
def load() -> Lexicon:
    """The lexicon, from its fast form in the cache folder, else built (and its fast form kept)."""
    fast = cache_dir() / f"lexicon-{_build_key()}.marshal"
    gc.disable()  # millions of new objects: each collection would walk them all (0.4 s in all)
    try:
        lexicon = _read_fast(fast)
        if lexicon is None:
            lexicon = _build()
            try:
                fast.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(fast, marshal.dumps((lexicon.forms, lexicon.freq, lexicon.by_fold)))
            except OSError:  # a read-only cache folder: built again by the next process
                pass
    finally:
        gc.enable()
    return lexicon


def _build_key() -> str:
    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(HUNSPELL_FORMS.read_bytes())
    h.update(importlib.metadata.version("wordfreq").encode())
    return h.hexdigest()[:16]


def _read_fast(path: Path) -> Lexicon | None:
    try:
        forms, freq, by_fold = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # none yet, or damaged: built again
        return None
    if not (isinstance(forms, set) and isinstance(freq, dict) and isinstance(by_fold, dict)):
        return None
    lexicon = Lexicon.__new__(Lexicon)
    lexicon.forms, lexicon.freq, lexicon.by_fold = forms, freq, by_fold
    return lexicon


def _build() -> Lexicon:
    from wordfreq import get_frequency_dict  # 0.15 s to import: only when the lexicon is built

    with lzma.open(HUNSPELL_FORMS, "rt", encoding="utf-8") as fh:
        forms = {ln for ln in fh.read().split("\n") if ln and not ln.startswith("#")}
    freq = get_frequency_dict("es", wordlist="large")
    lexicon = Lexicon(forms, freq)
    # accented spellings wordfreq knows for letters the dictionary has no accented form of
    # (`cocreación`, names like `Escazú`): Spanish letters only, one acute accent at most
    extra = [w for w, f in freq.items() if f >= ACCENTED_SEEN and _SPANISH.match(w) and not w.isascii()
             and sum(ch in "áéíóú" for ch in w) <= 1 and w.translate(_FOLD) not in lexicon.by_fold]
    lexicon.add(extra)
    return lexicon


# ---- building the hunspell form list -------------------------------------------------------------

def _affixes(aff: Path) -> dict[str, tuple[str, bool, list]]:
    rules: dict[str, tuple[str, bool, list]] = {}
    for line in aff.read_text(encoding="utf-8").splitlines():
        p = line.split()
        if len(p) == 4 and p[0] in ("SFX", "PFX") and p[2] in ("Y", "N"):
            rules[p[1]] = (p[0], p[2] == "Y", [])
        elif len(p) >= 5 and p[0] in ("SFX", "PFX") and p[1] in rules:
            strip = "" if p[2] == "0" else p[2]
            add, _, cont = p[3].partition("/")
            add = "" if add == "0" else add
            cond = None if p[4] == "." else re.compile(p[4] + "$" if p[0] == "SFX" else "^" + p[4])
            rules[p[1]][2].append((strip, add, cont, cond))
    return rules


def _suffixed(word: str, rule: tuple) -> str | None:
    strip, add, _, cond = rule
    if (cond and not cond.search(word)) or (strip and not word.endswith(strip)):
        return None
    return word[: len(word) - len(strip)] + add


def expand(dic: Path, aff: Path) -> set[str]:
    """Every form of a hunspell dictionary: stems, suffixes (with one level of continuation, e.g.
    clitics), prefixes, and prefix × suffix where both allow cross products."""
    rules = _affixes(aff)
    out: set[str] = set()
    for line in dic.read_text(encoding="utf-8").splitlines()[1:]:
        word, _, flags = line.strip().partition("/")
        if not word:
            continue
        flags = flags.split()[0] if flags else ""
        out.add(word)
        suffixed = []
        for f in flags:
            kind, cross, entries = rules.get(f, ("", False, []))
            if kind != "SFX":
                continue
            for rule in entries:
                form = _suffixed(word, rule)
                if form is None:
                    continue
                out.add(form)
                if cross:
                    suffixed.append(form)
                for f2 in rule[2]:
                    kind2, _, entries2 = rules.get(f2, ("", False, []))
                    if kind2 == "SFX":
                        out.update(x for x in (_suffixed(form, r) for r in entries2) if x)
        for f in flags:
            kind, cross, entries = rules.get(f, ("", False, []))
            if kind != "PFX":
                continue
            for strip, add, _, cond in entries:
                for base in [word] + (suffixed if cross else []):
                    if (cond is None or cond.search(base)) and base.startswith(strip):
                        out.add(add + base[len(strip):])
    return {w.lower() for w in out}


def build(dic: Path = Path("/usr/share/hunspell/es_ES.dic"), aff: Path = Path("/usr/share/hunspell/es_ES.aff"),
          target: Path = HUNSPELL_FORMS) -> int:
    forms = sorted(expand(dic, aff))
    header = (f"# Word forms of Debian's hunspell-es ({dic.name}, {aff.name}), every stem expanded with its\n"
              "# affix rules, lower-cased; made by `python -m pipeline.repair.lexicon`.\n")
    data = lzma.compress((header + "\n".join(forms) + "\n").encode("utf-8"), preset=9)
    atomic_write_bytes(target, data)
    return len(forms)


if __name__ == "__main__":
    n = build(*(Path(a) for a in sys.argv[1:3]))
    print(f"{n} forms → {HUNSPELL_FORMS}")
