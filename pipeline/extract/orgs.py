"""Organisations named in the report (`ogp_orgs`) and which of them are a commitment's actors, with
their roles (`ogp_actors`).

Mentions come from the gazetteer (PhraseMatcher on accent-free lower case), from head-noun patterns
for organisations it does not list (`Secretaría de …`, `Ministerio de …`, `… A.C.`), from acronyms
(in parentheses after a name, also a name with commas or with no head noun that the report defines
so, or bare once the report has printed them), from the items of a list of organisations (`las
organizaciones de la sociedad civil X, Y y Z`), and from names coordinated with an organisation or
following a participation noun (`con el acompañamiento de X, Y y la Z`). Names the gazetteer does
not know get their sector from the report (head noun, legal suffix, a civil-society list). A plural head
opens a coordinated list that is split into one organisation per item (`las Secretarías de Marina,
Defensa Nacional` → Secretaría de Marina, Secretaría de la Defensa Nacional).

Actors are the mentions inside a commitment's section that the annotation rules count as taking
part: not the plan's evaluators or international forums, not a parent named only to qualify a unit
(`… de la SHCP`), not organisations named as examples, objects, authors of a norm, or whose
participation is only recommended or was declined.
"""
from __future__ import annotations

import re
from dataclasses import replace

from rapidfuzz import fuzz
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from pipeline.extract.components import build_matcher, load_patterns
from pipeline.extract.gazetteer import Gazetteer, Head, Organization, data_path, load_heads, load_words
from pipeline.extract.state import ActorFound, Extraction, Mention, Section, state
from wordfreq import zipf_frequency

from pipeline.extract.text import BULLET, fold, known_word

_ACRONYM = re.compile(r"^(?=[A-Z0-9ÁÉÍÓÚÑ-]*[A-ZÁÉÍÓÚÑ][A-Z0-9ÁÉÍÓÚÑ-]*$)[A-Z0-9ÁÉÍÓÚÑ-]{2,10}$")
_MIXED_ACRONYM = re.compile(r"^[A-ZÁÉÍÓÚÑ][a-záéíóúñ]{3,11}$")
_INFINITIVE = re.compile(r"^[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?:ar|er|ir)$")
_LIST_TRIGGER = {"organizacion", "organizaciones"}
_LIST_SKIP = {"de", "la", "sociedad", "civil", "civiles", "sociales", "feministas", "corresponsables",
              "corresponsable", "acompanante", "acompanantes", "como", "el", "los", "las", "participantes",
              "integrantes", "siguientes", ":"}


def _prep_chain(norms: list[str]) -> bool:
    return bool(norms) and norms[0] in ("de", "del")


@Language.factory("ogp_orgs", requires=["token.norm", "token._.ogp_name"], default_config={"gazetteer": "organizations.tsv", "heads": "heads.tsv",
                                               "words": "words.tsv", "fuzzy_cutoff": 88, "exclude": []})
def make_orgs(nlp: Language, name: str, gazetteer: str, heads: str, words: str, fuzzy_cutoff: float,
              exclude: list[str]):
    """`exclude`: canonical names of gazetteer rows left out (the leave-own-organisations-out
    evaluation, `pipeline.evaluate_loo`)."""
    return OrgFinder(nlp, gazetteer, heads, words, fuzzy_cutoff, exclude)


class OrgFinder:
    """Organisations named anywhere; the gazetteer and word lists are loaded in `initialize`."""

    def __init__(self, nlp: Language, gazetteer: str, heads: str, words: str, fuzzy_cutoff: float,
                 exclude: list[str] = ()):
        self.config = (gazetteer, heads, words, fuzzy_cutoff, list(exclude))
        self.vocab = nlp.vocab

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        self._load(nlp, *self.config)

    def _load(self, nlp: Language, gazetteer: str, heads: str, words: str, fuzzy_cutoff: float,
              exclude: list[str]) -> None:
        self.gaz = Gazetteer.load(data_path(gazetteer), exclude=exclude)
        self.heads: list[Head] = load_heads(data_path(heads))
        self.words = load_words(data_path(words))
        self.cutoff = fuzzy_cutoff
        self.phrases = PhraseMatcher(nlp.vocab, attr="NORM")
        self.forms_by_first: dict[str, list[tuple[str, int]]] = {}
        for form, text in self.gaz.form_text.items():
            pattern = nlp.make_doc(text)
            for tok in pattern:
                tok.norm_ = fold(tok.text)
            self.phrases.add(form, [pattern])
            self.forms_by_first.setdefault(pattern[0].norm_, []).append((form, len(pattern)))
        self.head_matcher = Matcher(nlp.vocab)
        self.head_by_key: dict[str, tuple[Head, bool]] = {}
        for head in self.heads:
            for form, plural in ((head.singular, False), (head.plural, True)):
                pattern = [{"NORM": fold(w)} for w in form.split()]
                key = f"{'plural' if plural else 'singular'}|{head.singular}"
                self.head_by_key[key] = (head, plural)
                self.head_matcher.add(key, [pattern])
        self.singular_heads = {fold(h.singular.split()[0]) for h in self.heads}
        self.head_words = self.singular_heads | {fold(h.plural.split()[0]) for h in self.heads}
        self.connectors = self.words.get("connector", set())
        self.suffixes = self.words.get("suffix", set())
        self.generic = self.words.get("generic", set())
        self.confusable = self.words.get("confusable", set())
        self.participation = self.words.get("participation", set())
        self.articles = self.words.get("article", set())
        self.linking = self.words.get("linking", set())

    # ------------------------------------------------------------------ helpers
    def _is_head_at(self, doc: Doc, i: int) -> bool:
        return i < len(doc) and doc[i].norm_ in self.head_words and doc[i]._.ogp_name

    def _display(self, tokens) -> str:
        """A printed name with accents restored from the gazetteer's vocabulary."""
        out = []
        for tok in tokens:
            text = tok.text
            if tok.norm_ in self.connectors and not text.isupper():
                out.append(text.lower() if out else text)
                continue
            known = self.gaz.vocabulary.get(fold(text.rstrip("#")))
            if known and not (text.isupper() and len(text) > 1):
                out.append(known[0].upper() + known[1:] if text[:1].isupper() else known)
            else:
                out.append(text)
        return _join(out)

    def _run_end(self, doc: Doc, i: int, limit: int) -> int:
        """End of the name that runs from token i: capitalised words and the function words
        between them, stopping before `y la Secretaría …` or `y la Guardia Nacional` (the next
        organisation: a head noun or a name the gazetteer knows)."""
        j = i
        last_name = i
        while j < limit:
            tok = doc[j]
            if j > i and tok.is_sent_start:
                break
            if tok._.ogp_name or (tok.text.isdigit() and j > i):
                last_name = j + 1
                j += 1
                continue
            if re.fullmatch(r"[#|_~*]+", tok.text) and j + 1 < limit and doc[j + 1].text[:1].isalpha():
                j += 1  # OCR debris inside a name (`Contralo#`)
                continue
            if tok.norm_ in self.connectors and not tok.text[:1].isupper():
                k = j
                if tok.norm_ in ("y", "e"):
                    k = j + 1
                    article = k < limit and doc[k].norm_ in ("la", "el", "los", "las", "al")
                    if article:
                        k += 1
                    if (article and self._is_head_at(doc, k)) or k in self._known_starts or (
                            self._is_head_at(doc, k) and doc[k].norm_ in self.singular_heads) or (
                            article and k + 1 < limit and doc[k]._.ogp_name and doc[k + 1]._.ogp_name
                            and doc[k].norm_ not in self.connectors and doc[k + 1].norm_ not in self.connectors):
                        break  # `… y la Guardia Nacional`: an article and a capitalised name open the next one
                    if not article and k < limit and doc[k]._.ogp_name and doc[k].norm_ not in self.connectors and (
                            (doc[k].text.isupper() and len(doc[k].text) >= 3 and not doc[j - 1].text.isupper())
                            or (any(t.norm_ in ("y", "e") for t in doc[i:j]) and k + 1 < limit
                                and doc[k + 1]._.ogp_name and doc[k + 1].norm_ not in self.connectors)):
                        break  # `… y FUNDAR`, `… de Defensa y Promoción de los Derechos Humanos y México Evalúa`
                j += 1
                continue
            break
        return last_name

    def _suffix_end(self, doc: Doc, end: int) -> int:
        """Past a printed legal suffix (`, A.C.`) right after a name."""
        k = end
        if k < len(doc) and doc[k].text == ",":
            k += 1
        for n in (3, 2, 1):
            if k + n <= len(doc):
                text = fold(" ".join(t.text for t in doc[k:k + n]))
                text2 = fold("".join(t.text for t in doc[k:k + n]))
                if text in self.suffixes or text2 in self.suffixes:
                    return k + n
        return end

    # ------------------------------------------------------------------ main
    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        self._known_starts: set[int] = set()
        cands: list[Mention] = []
        for match_id, s, e in self.phrases(doc):
            if not doc[s].text[:1].isupper():
                continue
            form = self.vocab.strings[match_id]
            org = self.gaz.by_form[form]
            cands.append(Mention(s, e, self.gaz.form_text[form], org.key, org.sector, org.kind,
                                 "gazetteer", org_name=org.name))
            self._known_starts.add(s)
        plural_items: list[Mention] = []
        longest: dict[int, tuple[int, int]] = {}
        for match_id, s, e in self.head_matcher(doc):
            if not doc[s]._.ogp_name:
                continue
            if s not in longest or e > longest[s][1]:
                longest[s] = (match_id, e)
        for s, (match_id, e) in sorted(longest.items()):
            head, plural = self.head_by_key[self.vocab.strings[match_id]]
            if plural:
                plural_items.extend(self._plural(doc, head, s, e))
                continue
            end = self._run_end(doc, e, len(doc))
            if end <= e and head.sector == "sociedad_civil":
                end = self._sentence_case_end(doc, e)
            if end <= e:
                continue
            known = [c for c in cands if c.source == "gazetteer" and c.start == s and c.end < end
                     and doc[c.end].norm_ not in ("de", "del", "para", "en")]
            if known:
                continue  # the gazetteer knows where this name ends; what follows is the next item
            end = self._split_before_suffix(doc, e, end)
            tokens = doc[s:end]
            if all(t.norm_ in self.connectors or t.norm_ in self.generic for t in doc[e:end]):
                continue
            name = self._display(tokens)
            hit = self.gaz.by_form.get(fold(name))
            if hit:
                cands.append(Mention(s, end, self.gaz.form_text[fold(name)], hit.key, hit.sector, hit.kind,
                                     "gazetteer", org_name=hit.name))
                continue
            intact = all(t.norm_ in self.connectors or zipf_frequency(t.text.lower(), "es") >= 2.5 for t in tokens)
            fz = None if intact else self._fuzzy_at(doc, s)
            if fz:  # only a name the OCR damaged (a rare word in it): an intact one is what the report prints
                org, form, fz_end = fz
                cands.append(Mention(s, fz_end, form, org.key, org.sector, org.kind, "fuzzy", org_name=org.name))
            else:
                cands.append(Mention(s, end, name, fold(name), head.sector, "actor", "head"))
        mentions = _choose(cands + plural_items)
        mentions = self._suffixed(doc, mentions)
        mentions = _choose(mentions + self._defined(doc, mentions))
        mentions = self._acronyms(doc, ex, mentions)
        mentions = _choose(mentions + self._listed(doc, mentions))
        mentions = self._sectors(doc, self._coordinated(doc, self._short_names(doc, mentions)))
        ex.mentions = mentions
        self._printed_acronyms(doc, ex)
        return doc

    def _fuzzy_at(self, doc: Doc, s: int) -> tuple[Organization, str, int] | None:
        """A gazetteer name that the OCR damaged, read from token s: each name that opens with the
        same word is compared with as many of the text's tokens as it has (one more or less)."""
        best = None
        for form, n in self.forms_by_first.get(doc[s].norm_, ()):
            for size in (n - 1, n, n + 1):
                if size < 2 or s + size > len(doc):
                    continue
                text = fold(doc[s:s + size].text)
                score = fuzz.ratio(text, form)
                if score >= self.cutoff and (best is None or score > best[0]):
                    best = (score, form, s + size)
        if best is None:
            return None
        _, form, end = best
        org = self.gaz.by_form[form]
        return org, self.gaz.form_text[form], end

    def _sentence_case_end(self, doc: Doc, e: int) -> int:
        """`Red en defensa de los derechos digitales,`: civil-society names are often printed in
        sentence case. After such a head noun, a connector and lower-case words up to a comma,
        semicolon, stop, slash or parenthesis (at most eight words) are the name; anything else
        (a verb's clause running on) is not."""
        if e >= len(doc) or doc[e].norm_ not in self.connectors:
            return e
        for k in range(e, min(e + 9, len(doc))):
            tok = doc[k]
            if tok.text in (",", ";", ".", "/", "(", ")"):
                return k if k > e + 1 and doc[k - 1].norm_ not in self.connectors else e
            if not (tok.text.islower() and tok.text.isalpha()) or k > e and tok.is_sent_start:
                return e
        return e

    def _split_before_suffix(self, doc: Doc, e: int, end: int) -> int:
        """`Colectivo Medicamentos Accesibles y Datos para la Salud Pública, A.C.`: a legal suffix
        belongs to one organisation, so a run of two capitalised names joined by `y` that ends
        in one is two organisations (unless the gazetteer knows the whole name)."""
        if self._suffix_end(doc, end) == end or fold(doc[e - 1:end].text) in self.gaz.by_form:
            return end
        for k in range(end - 2, e, -1):
            if doc[k].norm_ not in ("y", "e"):
                continue
            right = doc[k + 1:end]
            left = doc[e:k]
            if (len(right) >= 2 and right[0]._.ogp_name and sum(t._.ogp_name for t in right) >= 2
                    and any(t._.ogp_name for t in left)):
                return k
            break
        return end

    def _plural(self, doc: Doc, head: Head, s: int, e: int) -> list[Mention]:
        """`las Comisiones Nacionales de Acuacultura y Pesca, del Agua y Forestal` → one mention
        per item, named with the singular head; none when the list names no organisation the
        gazetteer knows and has a single item (a generic `las Unidades de Transparencia`)."""
        pieces: list[tuple[int, int]] = []
        i = e
        while i < len(doc):
            start = i
            end = self._run_end(doc, i if doc[i].norm_ not in ("de", "del") else i + 1, len(doc))
            if doc[i].norm_ in ("de", "del") and end <= i + 1:
                break
            if end <= start or (end - start == 1 and doc[start].text.isupper()):
                break
            if self._is_head_at(doc, start + (1 if doc[start].norm_ in ("de", "del") else 0) + (
                    1 if start + 1 < len(doc) and doc[start + 1].norm_ in ("la", "las", "los", "el") else 0)):
                break
            pieces.append((start, end))
            i = end
            if i < len(doc) and doc[i].text == "(":
                close = next((k for k in range(i + 1, min(i + 5, len(doc))) if doc[k].text == ")"), None)
                if close is None:
                    break
                i = close + 1
            if i + 1 < len(doc) and doc[i].text == ",":
                nxt = doc[i + 1]
                if nxt.norm_ in ("de", "del") and not self._is_head_at(doc, i + 2) and not (
                        doc[i + 2].norm_ in ("la", "las", "los", "el") and self._is_head_at(doc, i + 3)):
                    i += 1
                    continue
                if nxt._.ogp_name and not self._is_head_at(doc, i + 1):
                    i += 1
                    continue
            break
        items: list[Mention] = []
        for ps, pe in pieces:
            items.extend(self._resolve_piece(doc, head, ps, pe))
        if len(items) < 2 and not any(m.source == "gazetteer" for m in items):
            return []
        if items:
            items[0] = replace(items[0], start=s)
        for m in items:
            m.plural = head.singular
            if m.org_name:  # the official name, article restored (`de la Defensa Nacional`)
                m.name = m.org_name
        return items

    def _resolve_piece(self, doc: Doc, head: Head, ps: int, pe: int) -> list[Mention]:
        tokens = doc[ps:pe]
        text = tokens.text
        norms = [t.norm_ for t in tokens]
        if _prep_chain(norms):
            tries = [f"{head.singular} {text}"]
        else:
            tries = [f"{head.singular} {text}", f"{head.singular} de {text}", f"{head.singular} de la {text}",
                     f"{head.singular} del {text}"]
        for cand in tries:
            org = self.gaz.by_form.get(fold(cand))
            if org:
                return [Mention(ps, pe, self.gaz.form_text[fold(cand)], org.key, org.sector, org.kind, "gazetteer",
                                org_name=org.name)]
        for k in range(ps + 1, pe - 1):
            if doc[k].norm_ in ("y", "e"):
                left = self._resolve_piece(doc, head, ps, k)
                right = self._resolve_piece(doc, head, k + 1, pe)
                if not (left and all(m.source == "gazetteer" for m in left)):
                    continue
                if right and all(m.source == "gazetteer" for m in right):
                    return left + right
                for cut in range(pe - 1, k + 1, -1):  # the item's name, then words the scan ran into it
                    right = self._resolve_piece(doc, head, k + 1, cut)
                    if right and all(m.source == "gazetteer" for m in right):
                        return left + right
                if not known_word(doc[k + 1].text):
                    return left  # what follows `y` is OCR debris: keep the item that can be read
        name = self._display_with_head(head, tokens)
        return [Mention(ps, pe, name, fold(name), head.sector, "actor", "head")]

    def _display_with_head(self, head: Head, tokens) -> str:
        body = self._display(tokens)
        if not body[:1].islower():
            body = "de " + body
        return f"{head.singular} {body}"

    def _suffixed(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """Mentions extended over a printed `, A.C.`; civil-society names that only the suffix
        reveals (`Bios Participación Política y Desarrollo A.C.`) added."""
        covered = _covered(mentions)
        out = []
        for m in mentions:
            end = self._suffix_end(doc, m.end)
            if end > m.end and not any(i in covered for i in range(m.end + 1, end)):
                m = replace(m, end=end, name=f"{m.name}, A.C." if "A.C" not in m.name else m.name)
            out.append(m)
        covered = _covered(out)
        for tok in doc:
            if tok.i in covered or fold(tok.text) not in self.suffixes:
                continue
            end = tok.i + 1
            j = tok.i - 1
            if j >= 0 and doc[j].text == ",":
                j -= 1
            start = j + 1
            while j >= 0 and j not in covered and (doc[j]._.ogp_name or doc[j].norm_ in self.connectors):
                if doc[j]._.ogp_name:
                    start = j
                j -= 1
            if start > tok.i - 1:
                continue
            while start < tok.i and (doc[start].norm_ in self.connectors):
                start += 1
            name_tokens = [t for t in doc[start:tok.i] if t.text != ","]
            if not name_tokens or not any(t._.ogp_name and t.norm_ not in self.generic for t in name_tokens):
                continue
            bare = self._display(name_tokens)
            org = self.gaz.by_form.get(fold(bare))
            if org:
                out.append(Mention(start, end, f"{self.gaz.form_text[fold(bare)]}, A.C.", org.key, org.sector,
                                   org.kind, "gazetteer", org_name=org.name))
            else:
                out.append(Mention(start, end, f"{bare}, A.C.", fold(bare), "sociedad_civil", "actor", "suffix"))
        return _choose(out)

    def _acronyms(self, doc: Doc, ex: Extraction, mentions: list[Mention]) -> list[Mention]:
        """`Nombre (SIGLA)`: the acronym is attached to the name and known for the rest of the
        report; `(SIGLA: Nombre …)` likewise. Then every bare acronym the report has attached or the
        gazetteer knows is a mention of its organisation."""
        by_acronym: dict[str, Mention] = {}
        out = []
        starts = {m.start for m in mentions}
        for m in mentions:
            m = self._defined_over_commas(doc, m, starts)
            e = m.end
            if e + 2 < len(doc) and doc[e].text == "(" and doc[e + 2].text == ")" and self._acronym_like(doc[e + 1].text, True):
                m = replace(m, end=e + 3, acronym=doc[e + 1].text)
            elif m.start >= 3 and doc[m.start - 1].text == ":" and doc[m.start - 3].text == "(" and \
                    self._acronym_like(doc[m.start - 2].text):
                m = replace(m, start=m.start - 2, acronym=doc[m.start - 2].text)
            if m.acronym:
                by_acronym.setdefault(fold(m.acronym), m)
            out.append(m)
        covered = _covered(out)
        printed = {fold(t.text) for t in doc if self._acronym_like(t.text)}
        readable = dict(by_acronym)  # acronyms a misread one may stand for: attached or printed
        for acr, org in self.gaz.by_acronym.items():
            if acr in printed and acr not in readable:
                readable[acr] = Mention(0, 0, org.name, org.key, org.sector, org.kind, "acronym",
                                        acronym=org.acronym, org_name=org.name)
        for tok in doc:
            if tok.i in covered or not (self._acronym_like(tok.text) or (tok._.ogp_name and fold(tok.text) in by_acronym)):
                continue
            key = fold(tok.text)
            known = by_acronym.get(key)
            if known is None and key not in self.gaz.by_acronym:
                known = self._misread_acronym(key, readable)
            if known is not None:
                out.append(replace(known, start=tok.i, end=tok.i + 1, source="acronym", acronym=tok.text))
                continue
            org = self.gaz.by_acronym.get(key)
            if org is None or (not tok.text.isupper() and org.acronym and not org.acronym.isupper()):
                continue
            if len(tok.text) < 3 and tok.text != (org.acronym or ""):
                continue
            out.append(Mention(tok.i, tok.i + 1, org.name, org.key, org.sector, org.kind, "acronym",
                               acronym=tok.text, org_name=org.name))
        return sorted(out, key=lambda m: m.start)

    def _defined(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """`el Núcleo de Organizaciones de la Sociedad Civil (NOSC)`: a name with no head noun that
        the report defines with an acronym. The name is the capitalised words and connectors right
        before the parenthesis; it counts when the acronym opens with the name's initial and its
        letters appear, in order, in the name."""
        ends = {m.end for m in mentions}
        covered = _covered(mentions)
        found = []
        for tok in doc:
            k = tok.i
            if not (tok.text == "(" and k + 2 < len(doc) and doc[k + 2].text == ")" and k not in ends
                    and k - 1 not in covered and _ACRONYM.match(doc[k + 1].text)):
                continue
            s = k
            while s - 1 >= 0 and s - 1 not in covered and not doc[s].is_sent_start and (
                    doc[s - 1]._.ogp_name or doc[s - 1].norm_ in self.connectors):
                s -= 1
            while s < k and not (doc[s]._.ogp_name and fold(doc[s].text[0]) == fold(doc[k + 1].text[0])):
                s += 1  # the name opens with the acronym's initial (`Participaron el Núcleo … (NOCA)`)
            words = [t for t in doc[s:k] if t.norm_ not in self.connectors]
            if len(words) < 2 or any(t.norm_ in self.generic for t in words[:1]):
                continue
            acr, name = fold(doc[k + 1].text), fold(" ".join(t.text for t in words))
            letters = iter(name)
            if acr[0] != name[0] or not all(ch in letters for ch in acr if ch.isalpha()):
                continue
            head = self.head_by_key.get(f"singular|{doc[s].text}")
            display = self._display(doc[s:k])
            found.append(Mention(s, k, display, fold(display), head[0].sector if head else None, "actor", "head"))
        return found

    def _coordinated(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """`con el acompañamiento de Global Exchange, el Centro … y Global Thought`, `… a Víctimas
        y la Guardia Nacional`: a capitalised name that no rule knows is an organisation when it
        follows a participation noun and `de` (`participación de`, `apoyo de`), or is coordinated
        (`,` / `y`, an article) with an organisation named right before it in the same sentence."""
        mentions = sorted(mentions, key=lambda m: m.start)
        covered = _covered(mentions)
        out = list(mentions)
        anchors = [m.end for m in mentions]
        anchors += [t.i + 2 for t in doc if t.norm_ in self.participation and t.i + 1 < len(doc)
                    and doc[t.i + 1].norm_ in ("de", "del")]
        queue = sorted(set(anchors))
        seen: set[int] = set()
        while queue:
            i = queue.pop(0)
            if i in seen or i >= len(doc):
                continue
            seen.add(i)
            prev = next((n for n, m in enumerate(out) if m.end == i), None)
            rest = self._rest_end(doc, i) if prev is not None and out[prev].source in ("head", "list") \
                and "A.C" not in out[prev].name else None
            if rest is not None and not any(j in covered for j in range(i, rest)):
                name = self._display(doc[out[prev].start:rest])
                out[prev] = replace(out[prev], end=rest, name=name, key=fold(name))
                covered.update(range(i, rest))
                queue.append(rest)
                queue.sort()
                continue
            k = i
            if doc[k].text == "," or doc[k].norm_ in ("y", "e"):
                k += 1
                if k < len(doc) and doc[k].norm_ in ("y", "e"):
                    k += 1
            elif i not in anchors[len(mentions):]:
                continue  # after an organisation, only `,` or `y` coordinates
            if k < len(doc) and doc[k].norm_ in ("el", "la", "los", "las"):
                k += 1
            if k >= len(doc) or k in covered or not doc[k]._.ogp_name or doc[k].is_sent_start:
                continue
            end = self._run_end(doc, k, len(doc))
            end = self._lower_tail(doc, end)
            tokens = doc[k:end]
            core = [t for t in tokens if t.norm_ not in self.connectors and t.norm_ not in self.generic]
            if not core or any(j in covered for j in range(k, end)) or self._is_head_at(doc, k):
                continue
            if len(tokens) == 1 and (known_word(tokens[0].text) and zipf_frequency(tokens[0].text.lower(), "es") >= 3.0
                                     or _ACRONYM.match(tokens[0].text) or len(tokens[0].text) < 5):
                continue
            name = self._display(tokens)
            out.append(Mention(k, end, name, fold(name), None, "actor", "list"))
            covered.update(range(k, end))
            queue.append(end)
            queue.sort()
        return sorted(out, key=lambda m: m.start)

    def _sectors(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """The sector of an organisation no gazetteer row gives one, from what the report says:
        a legal suffix of an association (`A.C.`, `S.C.`), a civil-society word right after the head
        (`Contraloría Ciudadana`) or anywhere in a name with no head (`Núcleo de Organizaciones de
        la Sociedad Civil`), a place in a list the report opens as civil society's (`las
        organizaciones de la sociedad civil X, Y …`, up to the sentence's end or the first
        organisation of another sector the gazetteer knows; it overrides no sector but a public
        head noun's default); the same name elsewhere with or
        without its suffix takes that sector."""
        civil = self.words.get("civil", set())
        scopes = []
        for tok in doc:
            if tok.norm_ in _LIST_TRIGGER and tok.text.islower():
                nxt = [t.norm_ for t in doc[tok.i + 1:tok.i + 5]]
                if "civil" in nxt[:4] or any(m.start in (tok.i + 1, tok.i + 2) for m in mentions):
                    scopes.append((tok.i, tok.sent.end))
        out = []
        for m in mentions:
            sector = m.sector
            if m.source in ("head", "list", "suffix") and not m.org_name:
                words = [t.norm_ for t in doc[m.start:m.end]]
                head = self.head_by_key.get(f"singular|{doc[m.start].text}")
                if "a.c." in fold(m.name) or "s.c." in fold(m.name) or (head and len(words) > 1 and words[1] in civil) or (
                        head is None and any(w in civil for w in words)):
                    sector = "sociedad_civil"
                for s0, s1 in scopes:
                    if sector in (None, "gobierno") and s0 < m.start < s1 and not any(
                            o.source == "gazetteer" and o.sector not in (None, "sociedad_civil") and s0 < o.start < m.start
                            for o in mentions):
                        sector = "sociedad_civil"
            out.append(replace(m, sector=sector) if sector != m.sector else m)
        by_base = {}
        for m in out:
            if m.sector and m.source in ("head", "list", "suffix") and not m.org_name:
                by_base.setdefault(_base(m.key), m.sector)
        return [replace(m, sector=by_base[_base(m.key)]) if m.sector is None and _base(m.key) in by_base else m
                for m in out]

    def _lower_tail(self, doc: Doc, end: int) -> int:
        """`…, Equis justicia para las mujeres y Global Thought`: in a list of organisations, lower-case
        words after a name, up to the next item (`y` and a capital, a comma) or the stop, are the
        rest of its name when no verb is among them (an infinitive or a past tense would be the
        sentence going on)."""
        k = end
        while k < min(end + 7, len(doc)) and doc[k].text.isalpha() and doc[k].text.islower() and \
                doc[k].norm_ not in ("y", "e"):
            if doc[k].norm_ in self.linking:
                return end  # `… Guardia Nacional como coadyuvantes`
            if re.search(r"(?:ar|er|ir|ó|aron|ieron|ando|iendo)$", doc[k].text) or doc[k].is_sent_start:
                return end
            k += 1
        if k == end or k >= len(doc) or doc[k - 1].norm_ in self.connectors:
            return end
        if doc[k].text in (",", ";", ".") or (doc[k].norm_ in ("y", "e") and k + 1 < len(doc) and doc[k + 1]._.ogp_name):
            return k
        return end

    def _rest_end(self, doc: Doc, i: int) -> int | None:
        """`Agencia de Seguridad, Energía y Ambiente`, `Proyecto sobre Organización, Desarrollo,
        Educación e Investigación`: after a name, `, A(, B) y C` made of single capitalised common
        nouns (or words the OCR damaged) is the rest of that name, not more organisations. The end
        of that enumeration, or None."""
        if i >= len(doc) or doc[i].text != ",":
            return None
        k, seen_y = i, False
        while k + 1 < len(doc) and (doc[k].text == "," and not seen_y or doc[k].norm_ in ("y", "e")):
            seen_y = seen_y or doc[k].norm_ in ("y", "e")
            word = doc[k + 1]
            if not (word._.ogp_name and not word.text.isupper() and word.norm_ not in self.connectors
                    and (zipf_frequency(word.text.lower(), "es") >= 3.0 or not known_word(word.text))):
                return None
            k += 2
            if seen_y:
                if k < len(doc) and doc[k]._.ogp_name:
                    return None  # `…, y México Evalúa`: a name of its own
                k = self._run_end(doc, k - 1, len(doc))  # `… y Territorio del Sur`
                return k if k >= len(doc) or not doc[k]._.ogp_name else None
        return None

    def _short_names(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """`Ethos, Laboratorio de Políticas Públicas`, `GESOC, Agencia para el Desarrollo`: one
        capitalised word that is not a common word (or an acronym the report or the gazetteer
        knows), then a comma and a head-noun name, is one organisation: its short name and what it
        is; `Miel que vino del cielo / Red de …`: a name and its network, one organisation."""
        covered = _covered(mentions)
        out = []
        for m in mentions:
            w = m.start - 2
            short = out[-1] if out and out[-1].end - out[-1].start == 1 else None
            if (short is not None and m.source == "head" and short.source in ("acronym", "gazetteer")
                    and (short.end == m.start or short.end == w + 1 and doc[w + 1].text == ",")):
                # `GESOC, Agencia para el Desarrollo`: the acronym's organisation, named as printed
                out[-1] = replace(short, end=m.end, name=self._display(doc[short.start:m.end]))
                continue
            if m.source == "head" and m.start >= 2 and doc[m.start - 1].text == "/":
                j = m.start - 2
                while j > m.start - 8 and j > 0 and doc[j].text.islower() and doc[j].text.isalpha():
                    j -= 1
                if doc[j]._.ogp_name and j not in covered and not doc[j - 1]._.ogp_name and j < m.start - 1:
                    name = self._display(doc[j:m.end])  # `Miel que vino del cielo / Red de …`: name / network
                    out.append(replace(m, start=j, name=name, key=fold(name)))
                    continue
            if (m.source == "head" and w >= 0 and doc[m.start - 1].text == "," and doc[w]._.ogp_name
                    and w not in covered and not doc[m.start].is_sent_start
                    and (w == 0 or doc[w - 1].norm_ in self.articles or doc[w - 1].text in (",", ";", ":")
                         or doc[w - 1].norm_ in ("y", "e") or doc[w].is_sent_start)
                    and zipf_frequency(doc[w].text.lower(), "es") < 3.0 and len(doc[w].text) >= 4):
                name = f"{doc[w].text}, {m.name}"
                m = replace(m, start=w, name=name, key=fold(name), sector="sociedad_civil")
            out.append(m)
        return out

    def _defined_over_commas(self, doc: Doc, m: Mention, starts: set[int]) -> Mention:
        """`Instituto Nacional de Transparencia, Acceso a la Información y Protección de Datos
        Personales (INAI)`: a name the report defines with an acronym runs over its commas up to the
        parenthesis, when only capitalised words, connectors and commas come between, no other
        organisation starts there, and the acronym opens with the name's initial."""
        if m.source == "gazetteer" or m.end >= len(doc) or doc[m.end].text != ",":
            return m
        for k in range(m.end + 1, min(m.end + 16, len(doc) - 2)):
            tok = doc[k]
            if tok.text == "(":
                acr = doc[k + 1].text
                if (k > m.end + 1 and doc[k + 2].text == ")" and _ACRONYM.match(acr)
                        and fold(acr[0]) == fold(doc[m.start].text[0])):
                    name = self._display(doc[m.start:k])
                    return replace(m, end=k, name=name, key=fold(name))
                return m
            if k in starts or tok.is_sent_start or not (tok._.ogp_name or tok.text == ","
                                                        or tok.norm_ in self.connectors):
                return m
        return m

    def _misread_acronym(self, key: str, by_acronym: dict[str, Mention]) -> Mention | None:
        """`INAL` for `INAI`: an acronym of four letters or more the report attached to a name,
        misread in one letter for one OCR takes it for."""
        if len(key) < 4:
            return None
        hits = []
        for acr, mention in by_acronym.items():
            if len(acr) != len(key):
                continue
            diff = [(a, b) for a, b in zip(acr, key) if a != b]
            if len(diff) == 1 and any(diff[0][0] in group and diff[0][1] in group for group in self.confusable):
                hits.append(mention)
        return hits[0] if len(hits) == 1 else None

    def _acronym_like(self, text: str, after_name: bool = False) -> bool:
        """An acronym: capitals (`SFP`, `R3D`), or a short name the gazetteer lists as one
        (`Conapred`); right after a name in parentheses, any rare capitalised word (`Banobras`)."""
        if _ACRONYM.match(text):
            return not text.isdigit() and not re.match(r"^\d+[A-Z]{1,3}$", text)
        if not _MIXED_ACRONYM.match(text):
            return False
        return fold(text) in self.gaz.by_acronym or (after_name and zipf_frequency(fold(text), "es") < 2.5)

    def _listed(self, doc: Doc, mentions: list[Mention]) -> list[Mention]:
        """Items of `las organizaciones (de la sociedad civil) X, Y y Z` that no other rule named:
        civil-society organisations by their place in the list. The list is cut into items at
        commas, semicolons and `y`; an item is read from its first capitalised word (OCR debris
        before it is skipped); the list ends with the sentence or after two items that name
        nothing."""
        covered = _covered(mentions)
        found = []
        for tok in doc:
            if tok.norm_ not in _LIST_TRIGGER or tok.i in covered:
                continue
            i = tok.i + 1
            while i < len(doc) and (doc[i].norm_ in _LIST_SKIP or doc[i].text == ":") and not doc[i].is_sent_start:
                i += 1
            sent_end = doc[i].sent.end if i < len(doc) else len(doc)
            idle = 0
            for seg_start, seg_end in self._segments(doc, i, sent_end):
                if idle >= 2:
                    break
                if any(k in covered for k in range(seg_start, seg_end)):
                    idle = 0
                    continue
                mention = self._list_item(doc, seg_start, seg_end)
                if mention is None:
                    idle += 1
                    continue
                idle = 0
                found.append(mention)
                covered.update(range(mention.start, mention.end))
        return found

    @staticmethod
    def _segments(doc: Doc, i: int, end: int):
        start = i
        for k in range(i, end):
            t = doc[k]
            sep = t.text in (",", ";") or (t.norm_ in ("y", "e") and k + 1 < end and (
                doc[k + 1].text[:1].isupper() or doc[k + 1].norm_ in ("el", "la", "los", "las")))
            if sep:
                if k > start:
                    yield start, k
                start = k + 1
        if end > start:
            yield start, end

    def _list_item(self, doc: Doc, s: int, e: int) -> Mention | None:
        while s < e and doc[s].norm_ in ("el", "la", "los", "las", "al", "del", "por"):
            s += 1
        if s >= e:
            return None
        first = doc[s]
        if not first._.ogp_name:
            if known_word(first.text) and zipf_frequency(first.norm_, "es") >= 3.5:
                return None  # running text, not a name
            s = next((k for k in range(s, e) if doc[k]._.ogp_name), e)
            if s >= e:
                return None
        if self._is_head_at(doc, s):
            return None
        end = min(self._run_end(doc, s, e), e)
        if end < e and e - s <= 12 and (doc[end].norm_ in self.singular_heads and doc[end].text.islower() or any(
                t.text == "/" and self._is_head_at(doc, t.i + 1) for t in doc[end:e - 1])):
            end = e  # `Ethos laboratorio de políticas públicas`, `Miel que vino del cielo / Red de …`: the item's name
        name_tokens = doc[s:end]
        if not name_tokens or end - s > 10 or not any(x._.ogp_name and x.norm_ not in self.generic for x in name_tokens):
            return None
        name = self._display(name_tokens)
        fz = (self.gaz.fuzzy(name, self.cutoff)
              or self.gaz.fuzzy(" ".join(x.text for x in name_tokens if x.norm_ not in self.generic), self.cutoff)
              or self.gaz.distinctive([x.norm_ for x in doc[s:e]], self.connectors | self.generic | self.head_words))
        if fz:
            org, form = fz
            return Mention(s, end, form, org.key, org.sector, org.kind, "fuzzy", org_name=org.name)
        if len(name_tokens) == 1 and (known_word(name) or len(name) < 5 or end < e and not doc[end].is_punct):
            return None
        return Mention(s, end, name, fold(name), "sociedad_civil", "actor", "list")

    def _printed_acronyms(self, doc: Doc, ex: Extraction) -> None:
        """For each organisation, the acronym the report prints for it: after its name in
        parentheses, or the gazetteer's acronym when the report prints that word anywhere."""
        printed: dict[str, str] = {}
        for tok in doc:
            if self._acronym_like(tok.text):
                printed.setdefault(fold(tok.text), tok.text)
        for m in ex.mentions:
            if m.acronym and m.source != "acronym":
                ex.acronyms.setdefault(m.key, m.acronym)
        for org in self.gaz.orgs:
            if org.acronym and org.key not in ex.acronyms and fold(org.acronym) in printed and len(org.acronym) >= 3:
                ex.acronyms[org.key] = printed[fold(org.acronym)]
        for m in ex.mentions:
            if m.acronym and m.key not in ex.acronyms:
                ex.acronyms[m.key] = m.acronym


def _join(words: list[str]) -> str:
    text = " ".join(words)
    return re.sub(r"\s+([,.;:)])", r"\1", text).replace("( ", "(")


def _base(key: str) -> str:
    """A folded name without its legal suffix."""
    return re.sub(r",?\s*(?:a\.\s?c\.?|s\.\s?c\.?)$", "", key).strip()


def _covered(mentions: list[Mention]) -> set[int]:
    return {i for m in mentions for i in range(m.start, m.end)}


def _choose(cands: list[Mention]) -> list[Mention]:
    """Non-overlapping mentions: longer first, then gazetteer before patterns."""
    rank = {"gazetteer": 0, "fuzzy": 1, "acronym": 2, "suffix": 3, "head": 4, "list": 5}
    taken: set[int] = set()
    out = []
    for m in sorted(cands, key=lambda m: (-(m.end - m.start), rank.get(m.source, 9), m.start)):
        span = set(range(m.start, m.end))
        if span & taken:
            continue
        taken |= span
        out.append(m)
    return sorted(out, key=lambda m: m.start)


# ======================================================================================= actors
@Language.factory("ogp_actors", requires=["token.norm", "token.is_sent_start"], default_config={"roles": "roles.jsonl", "contexts": "contexts.jsonl",
                                                 "words": "words.tsv"})
def make_actors(nlp: Language, name: str, roles: str, contexts: str, words: str):
    return ActorReader(nlp, roles, contexts, words)


class ActorReader:
    """Which organisations take part in each commitment, and their roles; patterns and word lists
    are loaded in `initialize`."""

    def __init__(self, nlp: Language, roles: str, contexts: str, words: str):
        self.config = (roles, contexts, words)
        self.vocab = nlp.vocab

    def initialize(self, get_examples=None, *, nlp: Language | None = None) -> None:
        self._load(nlp, *self.config)

    def _load(self, nlp: Language, roles: str, contexts: str, words: str) -> None:
        self.roles = build_matcher(nlp, roles)
        self.contexts = build_matcher(nlp, contexts)
        classes = load_words(data_path(words))
        self.participation = classes.get("participation", set())
        self.linking = classes.get("linking", set())
        self.boundary = classes.get("boundary", set())
        self.articles = classes.get("article", set())
        for item in load_patterns(roles):
            role, _, attach = item["label"].partition("|")
            if attach not in ("prefix", "prefix1", "postfix", "group"):
                raise ValueError(f"{roles}: label {item['label']!r} needs role|prefix|prefix1|postfix|group")

    def __call__(self, doc: Doc) -> Doc:
        ex = state(doc)
        for sec in ex.sections:
            sec.actors = self._section(doc, ex, sec)
        return doc

    # ---------------------------------------------------------------- rules
    def _recommendation_items(self, doc: Doc, ex: Extraction, sec: Section) -> list[tuple[int, int]]:
        """Token ranges of list items that open with an infinitive (`d) Promover la participación
        de …`): what should be done, not who took part."""
        lm = ex.lm
        out = []
        lines = [ln for ln in lm.kept if sec.first_line < ln <= sec.last_line]
        for n, line in enumerate(lines):
            text = lm.lines[line].text.strip()
            m = BULLET.match(text)
            if not m:
                continue
            first_word = text[m.end():].split(" ", 1)[0].strip(",.;:")
            if not _INFINITIVE.match(first_word):
                continue
            end_line = sec.last_line + 1
            for later in lines[n + 1:]:
                if BULLET.match(lm.lines[later].text.strip()) or later in lm.gap_before:
                    end_line = later
                    break
            start_tok = ex.line_first_tok[line]
            end_tok = min([ex.line_first_tok[ln] for ln in lines if ln >= end_line] or [sec.end])
            out.append((start_tok, end_tok))
        return out

    def _is_qualifier(self, doc: Doc, m, covered_ends: set[int]) -> bool:
        """`X de la Y`: Y only qualifies X when X is a name or a noun that is not about taking
        part (`los países de la OCDE`, `el acuerdo del INAI`)."""
        k = m.start - 1
        if k >= 0 and doc[k].norm_ in self.articles and doc[k].norm_ not in ("del", "al"):
            k -= 1
        if k < 0 or doc[k].norm_ not in ("de", "del", "en"):
            return False
        before = k - 1
        if before < 0 or doc[before].is_sent_start and doc[before].i == doc[k].sent.start:
            return False
        prev = doc[before]
        if prev.text == ")" or before + 1 in covered_ends:
            return True
        if prev.norm_ in self.participation or prev.norm_ in self.linking or prev.text in (",", ";", ":"):
            return False
        return True

    def _section(self, doc: Doc, ex: Extraction, sec: Section) -> list[ActorFound]:
        start, end = sec.title_end, sec.end
        mentions = [m for m in ex.mentions if start <= m.start and m.end <= end]
        if not mentions:
            return []
        span = doc[start:end]
        ctx = [(self.vocab.strings[i], s + start, e + start) for i, s, e in self.contexts(span)]
        roles = [(self.vocab.strings[i], s + start, e + start) for i, s, e in self.roles(span)]
        roles = _longest(roles)
        covered_ends = {m.end for m in mentions}
        items = self._recommendation_items(doc, ex, sec)

        excluded: set[int] = set()
        for n, m in enumerate(mentions):
            if m.kind != "actor":
                excluded.add(n)
            elif any(s <= m.start < e for s, e in items):
                excluded.add(n)
            elif not (m.plural and m.start > start and n > 0 and mentions[n - 1].plural == m.plural
                      and mentions[n - 1].end <= m.start) and self._is_qualifier(doc, m, covered_ends):
                excluded.add(n)
        for n, m in enumerate(mentions):
            sent = doc[m.start].sent
            opens = all(t.is_punct for t in doc[sent.start:m.start])
            alone = opens and (m.end >= sent.end or doc[m.end].text in (".", ";"))
            if alone and not (sent.start > 0 and doc[sent.start - 1].text == ":"):
                excluded.add(n)  # a name standing alone, as in a list of documents or a caption
        for label, s, e in ctx:
            sent_end = doc[s].sent.end
            if label == "exclude_next":
                after = [n for n, m in enumerate(mentions) if e <= m.start <= e + 2]
                excluded.update(after[:1])
            elif label == "exclude_rest":
                excluded.update(n for n, m in enumerate(mentions) if e <= m.start < sent_end)
            elif label == "decline":
                before = [n for n, m in enumerate(mentions) if m.end <= s and doc[m.start].sent.start == doc[s].sent.start]
                excluded.update(before[-1:])

        role_of: dict[int, str] = {}
        explicit: set[int] = set()
        self._assign_roles(doc, mentions, roles, role_of, explicit, start)
        keep = [n for n in range(len(mentions)) if n not in excluded or (n in explicit and mentions[n].kind == "actor"
                                                                          and not any(s <= mentions[n].start < e for s, e in items))]
        actors: dict[str, ActorFound] = {}
        for n in keep:
            m = mentions[n]
            role = role_of.get(n, "participante")
            found = actors.get(m.key)
            if found is None:
                actors[m.key] = ActorFound(mention=m, name=m.name, key=m.key, sector=m.sector, role=role,
                                           explicit_role=n in explicit, line=ex.tok_line[m.start])
            elif not found.explicit_role and n in explicit:
                found.role, found.explicit_role = role, True
        for label, s, e in roles:
            role, _, attach = label.partition("|")
            if attach == "group" and not self._opens_list(doc, e, mentions):
                for a in actors.values():
                    if a.sector == "sociedad_civil" and not a.explicit_role:
                        a.role = role
        return list(actors.values())

    def _opens_list(self, doc: Doc, e: int, mentions) -> bool:
        return (e < len(doc) and doc[e].text == ":") or any(m.start in (e, e + 1) for m in mentions)

    def _group_start(self, doc: Doc, s: int, floor: int) -> int:
        """Where the coordinated group closed by a postfix role phrase at token s begins."""
        sent_start = max(doc[s].sent.start, floor)
        k = s - 1
        while k > sent_start:
            tok = doc[k]
            if tok.norm_ in self.boundary:
                return k + 1
            if tok.norm_ == "como" and k > 0 and doc[k - 1].norm_ == "asi":
                return k + 1
            if tok.norm_ in _LIST_TRIGGER:
                return k
            k -= 1
        return sent_start

    def _assign_roles(self, doc: Doc, mentions, roles, role_of: dict, explicit: set, floor: int) -> None:
        ordered = sorted(roles, key=lambda r: ({"prefix": 1, "prefix1": 1, "group": 1, "postfix": 2}[r[0].partition("|")[2]]
                                                if "cargo" not in doc[r[1]:r[2]].text.lower() else 0, r[1]))
        for label, s, e in ordered:
            role, _, attach = label.partition("|")
            sent_end = doc[s].sent.end
            later_roles = [rs for _, rs, _ in roles if rs >= e]
            if attach == "postfix":
                prev_roles = [re_ for _, rs, re_ in roles if re_ <= s and doc[rs].sent.start == doc[s].sent.start]
                g0 = max([self._group_start(doc, s, floor)] + prev_roles)
                members = [n for n, m in enumerate(mentions) if m.start >= g0 and m.end <= s]
            elif attach in ("prefix", "group"):
                if attach == "group" and not self._opens_list(doc, e, mentions):
                    continue
                stop = min([sent_end] + later_roles)
                members = [n for n, m in enumerate(mentions) if e <= m.start < stop]
            else:  # prefix1
                members = [n for n, m in enumerate(mentions) if e <= m.start <= e + 2][:1]
            for n in members:
                role_of[n] = role
                explicit.add(n)


def _longest(matches: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    for m in sorted(matches, key=lambda m: (m[1], -(m[2] - m[1]))):
        if out and m[1] < out[-1][2]:
            continue
        out.append(m)
    return out
