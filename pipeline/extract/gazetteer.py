"""The organisations gazetteer (`pipeline/data/extract/organizations.tsv`) and the word lists the
actor rules use (`heads.tsv`, `words.tsv`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

from rapidfuzz import fuzz, process

from pipeline.extract.text import fold, known_word

DATA = Path(__file__).resolve().parent.parent / "data" / "extract"


def data_path(name: str | Path) -> Path:
    path = Path(name)
    return path if path.is_absolute() else DATA / path


def _rows(path: Path) -> list[list[str]]:
    rows = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        rows.append([c.strip() for c in raw.split("\t")])
    return rows


@dataclass(frozen=True)
class Organization:
    key: str  # folded canonical name: identity within a report
    name: str
    acronym: str | None
    sector: str | None
    kind: str  # actor | forum | evaluator | collective
    aliases: tuple[str, ...] = ()
    source: str = ""


@dataclass
class Gazetteer:
    orgs: list[Organization]
    by_form: dict[str, Organization] = field(default_factory=dict)  # folded name/alias → org
    by_acronym: dict[str, Organization] = field(default_factory=dict)  # folded acronym → org
    form_text: dict[str, str] = field(default_factory=dict)  # folded form → form as written

    @classmethod
    def load(cls, path: Path, exclude: Iterable[str] = ()) -> "Gazetteer":
        """The rows of `path` but those whose canonical name is in `exclude`."""
        left_out = {fold(name) for name in exclude}
        orgs = []
        for n, row in enumerate(_rows(path), 1):
            if len(row) != 6:
                raise ValueError(f"{path}: row {n} needs 6 tab-separated columns, got {len(row)}: {row}")
            name, acronym, sector, kind, aliases, source = row
            if kind not in {"actor", "forum", "evaluator", "collective"}:
                raise ValueError(f"{path}: row {n}: unknown kind {kind!r}")
            if not source or source == "-":
                raise ValueError(f"{path}: row {n}: {name!r} cites no source")
            if fold(name) in left_out:
                continue
            alias_list = tuple(a.strip() for a in aliases.split(" | ") if a.strip() and a.strip() != "-")
            orgs.append(Organization(key=fold(name), name=name, acronym=None if acronym == "-" else acronym,
                                     sector=None if sector == "-" else sector, kind=kind, aliases=alias_list,
                                     source=source))
        gaz = cls(orgs)
        for org in orgs:
            for form in (org.name, *org.aliases):
                if form.isupper() and " " not in form:  # an alias that is an acronym
                    gaz.by_acronym.setdefault(fold(form), org)
                    continue
                gaz.by_form.setdefault(fold(form), org)
                gaz.form_text.setdefault(fold(form), form)
            if org.acronym:
                gaz.by_acronym.setdefault(fold(org.acronym), org)
        return gaz

    @cached_property
    def _forms(self) -> list[str]:
        return list(self.by_form)

    def fuzzy(self, text: str, cutoff: float) -> tuple[Organization, str] | None:
        """The organisation whose name or alias is closest to an OCR-damaged `text`."""
        folded = fold(text)
        if len(folded) < 6:
            return None
        hit = process.extractOne(folded, self._forms, scorer=fuzz.ratio, score_cutoff=cutoff)
        if hit is None or not 0.85 <= len(folded) / len(hit[0]) <= 1.15:
            return None
        return self.by_form[hit[0]], self.form_text[hit[0]]

    def distinctive(self, words: list[str], common: set[str]) -> tuple[Organization, str] | None:
        """The one organisation whose name holds all of `words` that are distinctive (at least two,
        not function words, head nouns or generic words): a name whose first words the OCR lost
        (`… Espinosa Yglesias` → Centro de Estudios Espinosa Yglesias)."""
        core = [w for w in words if len(w) >= 4 and w.isalpha() and w not in common]
        core = [w for w in core if w in self.vocabulary or known_word(w)]  # OCR debris dropped
        if len(core) < 2:
            return None
        def has(word: str, form_words: list[str]) -> bool:
            return any(w == word or (len(word) >= 5 and w.startswith(word)) for w in form_words)

        hits = {form for form in self.by_form if all(has(w, form.split()) for w in core)}
        orgs = {self.by_form[f].key for f in hits}
        if len(orgs) != 1:
            return None
        form = min(hits, key=len)
        return self.by_form[form], self.form_text[form]

    @cached_property
    def vocabulary(self) -> dict[str, str]:
        """Folded word → the word as the gazetteer writes it (accents), for repairing names the
        gazetteer does not list."""
        vocab: dict[str, str] = {}
        for org in self.orgs:
            for form in (org.name, *org.aliases):
                for word in form.replace(",", " ").split():
                    if word[:1].isupper() and not word.isupper():
                        vocab.setdefault(fold(word), word)
                    elif word.islower():
                        vocab.setdefault(fold(word), word)
        return vocab


@dataclass(frozen=True)
class Head:
    singular: str
    plural: str
    sector: str | None


def load_heads(path: Path) -> list[Head]:
    heads = []
    for n, row in enumerate(_rows(path), 1):
        if len(row) != 3:
            raise ValueError(f"{path}: row {n} needs 3 tab-separated columns: {row}")
        heads.append(Head(row[0], row[1], None if row[2] == "-" else row[2]))
    return heads


def load_words(path: Path) -> dict[str, set[str]]:
    classes: dict[str, set[str]] = {}
    for n, row in enumerate(_rows(path), 1):
        if len(row) != 2:
            raise ValueError(f"{path}: row {n} needs 2 tab-separated columns: {row}")
        classes.setdefault(row[0], set()).add(row[1])
    return classes
