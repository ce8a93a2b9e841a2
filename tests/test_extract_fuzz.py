"""Extraction on hostile and long inputs: no crash, and cost linear in the input (seeded, bounded;
the ratio is measured in the same test, in CPU time, not against a fixed time)."""
from __future__ import annotations

import gc
import random
import statistics
import time
from pathlib import Path

import pytest

from pipeline.extract import build_pipeline, extract_commitments
from pipeline.models import Line

SEED_WORDS = Path("corpus/000_5431f427d6bef971.txt").read_text(encoding="utf-8").split()


def _text(rng: random.Random, kind: str, chars: int) -> str:
    if kind == "words":
        out, size = [], 0
        while size < chars:
            w = rng.choice(SEED_WORDS)
            out.append(w)
            size += len(w) + 1
        return " ".join(out)[:chars]
    if kind == "unicode":
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(chars))
    if kind == "control":
        return "".join(rng.choice("\x00\x01\x07\x0b\x1b\u200b\ufeff a1") for _ in range(chars))
    if kind == "digits":
        return "".join(rng.choice("0123456789 .:%") for _ in range(chars))
    raise ValueError(kind)


def _as_lines(text: str, per_line: int | None) -> list[Line]:
    if per_line is None:
        return [Line(text=text, page=1, line=1)]
    parts = [text[i:i + per_line] for i in range(0, len(text), per_line)]
    return [Line(text=t, page=1 + n // 50, line=n + 1) for n, t in enumerate(parts)]


def _cpu(lines: list[Line], runs: int = 1) -> float:
    """CPU seconds to extract `lines`, the median of `runs`, without the cyclic garbage collector,
    whose passes come at moments that vary from run to run (the algorithm's cost is what is
    measured: one run of the small input, 0.03-0.05 s, varied enough to flip the test, and so did
    the best and the median of several runs of each, taken one input after the other while the
    machine was busy: 17x; measured in turns, 9-14x)."""
    times = []
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            extract_commitments(lines, "fuzz")
            times.append(time.process_time() - start)
        finally:
            gc.enable()
    return statistics.median(times)


@pytest.mark.parametrize("kind", ["words", "unicode", "control", "digits"])
@pytest.mark.parametrize("per_line", [None, 80])
def test_ten_times_the_input_costs_at_most_twenty_times(kind, per_line):
    """Linear cost, with the slack the machine needs: the cost a character of these inputs is flat
    from 50k to 200k characters (measured, each kind), but at 5k it is up to 1.4x lower than at
    50k (the small document's data still fits the processor's caches; every component of the
    pipeline scales 8-10x, none more), so a linear extraction measures 11-14x here, and the
    machine's noise took that to 15.8x in CI. A quadratic step would cost 100x, n^1.3 20x."""
    build_pipeline()
    rng = random.Random(f"{kind}-{per_line}")
    small, large = (_as_lines(_text(rng, kind, n), per_line) for n in (5_000, 50_000))
    _cpu(small)  # warm caches
    # in turns (small, large, small …), so that a slower minute of the machine weighs on both
    smalls, larges = [], []
    for _ in range(3):
        smalls.append(_cpu(small))
        larges.append(_cpu(large))
        smalls.append(_cpu(small))
    assert statistics.median(larges) <= 20 * max(statistics.median(smalls), 0.01)


def test_many_short_hostile_inputs_never_crash():
    rng = random.Random(7)
    for n in range(200):
        kind = rng.choice(["words", "unicode", "control", "digits"])
        text = _text(rng, kind, rng.randrange(0, 400))
        if rng.random() < 0.3:
            text = "Compromiso " + str(rng.randrange(1, 20)) + ": " + text
        extract_commitments(_as_lines(text, rng.choice([None, 20, 60])), f"fuzz-{n}")


@pytest.mark.slow
def test_a_line_of_a_million_characters():
    build_pipeline()
    rng = random.Random("million")
    small, large = (_as_lines(_text(rng, "words", n), None) for n in (100_000, 1_000_000))
    _cpu(small)
    assert _cpu(large) <= 15 * max(_cpu(small), 0.01)
