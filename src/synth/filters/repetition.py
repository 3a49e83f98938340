"""Repetition: Gopher's repetition rules (datatrove's GopherRepetitionFilter semantics)
plus a detector for looping output.

Gopher (Rae et al. 2021, table A1), as datatrove computes it:
- paragraphs (split on 2+ newlines) and lines (split on newlines): the fraction of
  elements that repeat an earlier one, and their characters over the text length;
- top n-gram (n = 2, 3, 4): characters of the most frequent n-gram (words joined by a
  space) times its count, over the text length;
- duplicate n-grams (n = 5..10): scanning left to right, an n-gram seen before adds
  its characters (words joined without spaces) and skips n words.
Words are `\\w+` runs and runs of punctuation (so "-----" is one word, not five).

Adjusted for templated samples, which state facts about one subject in parallel
sentences by design: each message is checked on its own (an answer that restates its
prompt is not repetition); fenced code blocks and `Answer:` lines (a restatement by
convention) are left out; lines and paragraphs without a letter or digit ("}", "---")
are not counted; n-grams skip capitalized words (names are what knowledge text is
about: "Glaor Tranane is warm. Glaor Tranane lives in Faaro."); a top n-gram must occur
twice; and the n-gram rules apply from `min_words` words on.

Thresholds. Gopher's (top 0.20/0.18/0.16, duplicate 0.15..0.10; GOPHER_TOP, GOPHER_DUP)
were set on web pages. On this project's own command and ontology tiers (15k samples)
they reject 0.8% and 44% of samples (entity bios, derivations: 62-98% of their
template), and stop a run. With the adjustments above the samples' maxima are top
0.25/0.23/0.28 and duplicate 0.25 (5-grams) .. 0.21 (10-grams); a text pasted twice
scores 0.37. The defaults (top 0.35, duplicate 0.35..0.30) sit above the first and
below the second; a repeated paragraph or line is caught by the paragraph and line rules.

Loop: a span of >= `loop_min_chars` characters repeated `loop_repeats` or more times in
a row (up to `loop_max_period` words), wherever it is, code included. The span must not
itself be a shorter span repeated: "------" or "0 0 0 0" rows are left to entropy and
compression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from synth.filters.answer import ANSWER_LINE
from synth.filters.base import parts_of
from synth.filters.near_dedup import ngram_hashes, word_hashes
from synth.row import Row

TOKEN_RE = re.compile(r"\w+|[^\w\s]+")
PARA_RE = re.compile(r"\n{2,}")
LINE_RE = re.compile(r"\n+")
FENCE_RE = re.compile(r"```.*?(?:```|\Z)", re.S)
ALNUM_RE = re.compile(r"[^\W_]")


GOPHER_TOP = {2: 0.20, 3: 0.18, 4: 0.16}
GOPHER_DUP = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def _default_top() -> dict[int, float]:
    return {2: 0.35, 3: 0.35, 4: 0.35}


def _default_dup() -> dict[int, float]:
    return {5: 0.35, 6: 0.34, 7: 0.33, 8: 0.32, 9: 0.31, 10: 0.30}


def words_of_text(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def find_duplicates(items: list[str]) -> tuple[int, int]:
    """(number of items equal to an earlier one, their characters)."""
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


class _Tokens:
    """Words of a text as 64-bit word hashes, with prefix sums of their lengths."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.ids = word_hashes(words)
        self.cum = np.concatenate([[0], np.cumsum(np.array(list(map(len, words)), np.int64))])
        self._ngrams: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.words)

    def ngrams(self, n: int) -> np.ndarray:
        h = self._ngrams.get(n)
        if h is None:
            h = self._ngrams[n] = ngram_hashes(self.ids, n)
        return h

    def chars(self, start: np.ndarray | int, n: int) -> np.ndarray | int:
        return self.cum[start + n] - self.cum[start]


@dataclass
class RepetitionFilter:
    name: ClassVar[str] = "repetition"
    dup_para_frac: float = 0.30
    dup_para_char_frac: float = 0.20
    dup_line_frac: float = 0.30
    dup_line_char_frac: float = 0.20
    top_ngrams: dict = field(default_factory=_default_top)
    dup_ngrams: dict = field(default_factory=_default_dup)
    min_words: int = 50
    loop_repeats: int = 4
    loop_min_chars: int = 12
    loop_max_period: int = 64

    def __post_init__(self) -> None:
        self.top_ngrams = self._bands(self.top_ngrams, "top_ngrams")
        self.dup_ngrams = self._bands(self.dup_ngrams, "dup_ngrams")
        if self.loop_repeats < 3:
            raise ValueError("loop_repeats must be >= 3")

    @staticmethod
    def _bands(v: object, key: str) -> dict[int, float]:
        try:
            out = {int(n): float(f) for n, f in dict(v).items()}  # type: ignore[call-overload]
        except (TypeError, ValueError):
            raise ValueError(f"{key} must map n to a fraction, e.g. {{2: 0.2}}") from None
        if any(n < 1 or not 0 < f <= 1 for n, f in out.items()):
            raise ValueError(f"{key}: n must be >= 1 and fractions in (0, 1]")
        return dict(sorted(out.items()))

    def reason(self, row: Row) -> str | None:
        for part in parts_of(row):
            why = self.check(part)
            if why is not None:
                return why
        return None

    def check(self, text: str) -> str | None:
        """The reason code for one text, or None."""
        if not text.strip():
            return None
        toks = _Tokens(words_of_text(text))
        if self._loops(toks):
            return "loop"
        prose = ANSWER_LINE["ru"].sub("", FENCE_RE.sub("", text))
        if not prose.strip():
            return None
        # Names are what knowledge text is about ("Glaor Tranane is warm. Glaor Tranane
        # lives in Faaro."): repeating them is not repetition, so n-grams skip them.
        words = [w for w in words_of_text(prose) if not w[:1].isupper()]
        return self._gopher_blocks(prose) or self._gopher_ngrams(prose, _Tokens(words))

    # -- Gopher ----------------------------------------------------------------------

    def _gopher_blocks(self, text: str) -> str | None:
        n_chars = len(text)
        checks = (
            ("para", PARA_RE.split(text.strip()), self.dup_para_frac, self.dup_para_char_frac),
            ("line", LINE_RE.split(text), self.dup_line_frac, self.dup_line_char_frac),
        )
        for kind, items, frac, char_frac in checks:
            items = [x for x in items if ALNUM_RE.search(x)]
            if not items:
                continue
            dups, chars = find_duplicates(items)
            if dups / len(items) > frac:
                return f"dup_{kind}_frac"
            if chars / n_chars > char_frac:
                return f"dup_{kind}_char_frac"
        return None

    def _gopher_ngrams(self, text: str, toks: _Tokens) -> str | None:
        if len(toks) < self.min_words:
            return None
        n_chars = len(text)
        for n, frac in self.top_ngrams.items():
            h = toks.ngrams(n)
            if h.size == 0:
                continue
            values, first, counts = np.unique(h, return_index=True, return_counts=True)
            top = int(np.argmax(counts))
            if counts[top] < 2:
                continue
            gram_chars = int(toks.chars(int(first[top]), n)) + n - 1  # words joined by spaces
            if gram_chars * int(counts[top]) / n_chars > frac:
                return f"top_{n}_gram"
        return self._gopher_dup_ngrams(toks, n_chars)

    def _gopher_dup_ngrams(self, toks: _Tokens, n_chars: int) -> str | None:
        if not self.dup_ngrams:
            return None
        # Each n-gram the scan counts repeats an earlier one, and an n-gram that repeats
        # starts where a shorter one repeats. So the characters of the longest n-grams
        # starting where the shortest repeat bound every count: scan only above it.
        lo, hi = min(self.dup_ngrams), max(self.dup_ngrams)
        h = toks.ngrams(lo)
        if h.size == 0:
            return None
        repeat = np.ones(h.size, dtype=bool)
        repeat[np.unique(h, return_index=True)[1]] = False
        starts = np.flatnonzero(repeat)
        ends = np.minimum(starts + hi, len(toks))
        if (toks.cum[ends] - toks.cum[starts]).sum() / n_chars <= min(self.dup_ngrams.values()):
            return None
        for n, frac in self.dup_ngrams.items():
            if self._dup_ngram_chars(toks, n) / n_chars > frac:
                return f"dup_{n}_gram"
        return None

    @staticmethod
    def _dup_ngram_chars(toks: _Tokens, n: int) -> int:
        hashes = toks.ngrams(n).tolist()
        cum = toks.cum.tolist()
        seen: set[int] = set()
        i = chars = 0
        while i < len(hashes):
            h = hashes[i]
            if h in seen:
                chars += cum[i + n] - cum[i]  # words joined without spaces, as datatrove
                i += n
            else:
                seen.add(h)
                i += 1
        return chars

    # -- loops -----------------------------------------------------------------------

    def _loops(self, toks: _Tokens) -> bool:
        n, reps = len(toks), self.loop_repeats
        max_p = min(self.loop_max_period, n // reps)
        return any(self._loops_at(toks, p) for p in self._periods(toks, max_p))

    def _periods(self, toks: _Tokens, max_p: int) -> list[int]:
        """Candidate loop periods: 1, 2 and the distances between repeats of a 6-gram.

        With a period p >= 3 and r copies, the 6-gram at the loop's start occurs
        again p, 2p, ... words later: at least r - 1 times in all.
        """
        periods = [p for p in (1, 2) if p <= max_p]
        h = toks.ngrams(6)
        if max_p < 3 or h.size == 0:
            return periods
        values, inverse, counts = np.unique(h, return_inverse=True, return_counts=True)
        frequent = np.flatnonzero(counts[inverse] >= self.loop_repeats - 1)
        if frequent.size == 0:
            return periods
        dists: set[int] = set()
        by_value: dict[int, list[int]] = {}
        for pos, v in zip(frequent.tolist(), inverse[frequent].tolist(), strict=True):
            by_value.setdefault(v, []).append(pos)
        for positions in by_value.values():
            for i, a in enumerate(positions):
                dists.update(b - a for b in positions[i + 1 :] if b - a <= max_p)
        return periods + sorted(d for d in dists if d >= 3)

    def _loops_at(self, toks: _Tokens, p: int) -> bool:
        ids = toks.ids
        eq = np.concatenate([[0], (ids[p:] == ids[:-p]).view(np.int8), [0]])
        d = np.diff(eq)
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        long = starts[(ends - starts) >= (self.loop_repeats - 1) * p]
        long = long[toks.chars(long, p) >= self.loop_min_chars]
        return any(_primitive(ids[s : s + p]) for s in long[:8].tolist())


def _primitive(unit: np.ndarray) -> bool:
    """True unless the unit is a shorter unit repeated: "- - - -" is a rule, not a loop."""
    p = unit.size
    return not any(
        p % d == 0 and np.array_equal(unit, np.tile(unit[:d], p // d)) for d in range(1, p // 2 + 1)
    )
