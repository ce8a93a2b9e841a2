"""Text accuracy against gold: CER and WER with whitespace folded and footnote markers ignored,
and the share of correct words a repair made wrong."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

_MARKER = re.compile(r"\[\^\d+\]")
_ILLEGIBLE = "⟦ilegible⟧"


def normalize(text: str) -> str:
    """Footnote markers `[^N]` and illegible spans out, bullets kept, whitespace folded."""
    text = _MARKER.sub("", text).replace(_ILLEGIBLE, " ")
    return " ".join(text.split())


def words(text: str) -> list[str]:
    return normalize(text).split()


@dataclass
class TextScore:
    cer: float
    wer: float
    chars: int
    words: int

    def as_dict(self) -> dict:
        return {"cer": round(self.cer, 4), "wer": round(self.wer, 4), "chars": self.chars, "words": self.words}


def score_text(reference: str, hypothesis: str) -> TextScore:
    ref, hyp = normalize(reference), normalize(hypothesis)
    rw, hw = ref.split(), hyp.split()
    cer = Levenshtein.distance(ref, hyp) / max(len(ref), 1)
    wer = Levenshtein.distance(rw, hw) / max(len(rw), 1)
    return TextScore(cer, wer, len(ref), len(rw))


def correct_made_wrong(reference: str, raw: str, repaired: str) -> tuple[int, int]:
    """(words right in the raw text that the repair changed to something wrong, words right in the
    raw text), counted over the reference words aligned to both."""
    ref = words(reference)

    def aligned(hyp: list[str]) -> dict[int, str]:
        out = {}
        for tag, i1, i2, j1, j2 in Levenshtein.opcodes(ref, hyp).as_list():
            if tag in ("equal", "replace") and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    out[i1 + k] = hyp[j1 + k]
        return out

    a_raw, a_rep = aligned(words(raw)), aligned(words(repaired))
    right = [i for i, w in a_raw.items() if w == ref[i]]
    broken = sum(1 for i in right if i in a_rep and a_rep[i] != ref[i])
    return broken, len(right)
