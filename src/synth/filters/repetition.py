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
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add, eq, floordiv, mul
from typing import ClassVar

import numpy as np

from synth.filters.answer import ANSWER_LINE
from synth.filters.base import parts_of
from synth.filters.near_dedup import ngram_hashes, word_hashes
from synth.row import Row

TOKEN_RE = re.compile(r"\w+|[^\w\s]+")
# TOKEN_RE for ASCII text, with explicit classes (faster than Unicode's \w); \x1c-\x1f are
# whitespace to str patterns.
_ASCII_TOKEN_RE = re.compile(r"[A-Za-z0-9_]+|[^A-Za-z0-9_\s\x1c-\x1f]+")
PARA_RE = re.compile(r"\n{2,}")
LINE_RE = re.compile(r"\n+")
FENCE_RE = re.compile(r"```.*?(?:```|\Z)", re.S)
ALNUM_RE = re.compile(r"[^\W_]")
_ANSWER_RE = ANSWER_LINE["ru"]  # either label, en or ru


_CHECKED_MAX = 4096  # texts one filter remembers (samples: a few MB at most)

GOPHER_TOP = {2: 0.20, 3: 0.18, 4: 0.16}
GOPHER_DUP = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def _default_top() -> dict[int, float]:
    return {2: 0.35, 3: 0.35, 4: 0.35}


def _default_dup() -> dict[int, float]:
    return {5: 0.35, 6: 0.34, 7: 0.33, 8: 0.32, 9: 0.31, 10: 0.30}


def words_of_text(text: str) -> list[str]:
    return (_ASCII_TOKEN_RE if text.isascii() else TOKEN_RE).findall(text)


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


class WordStats:
    """Words of a text, with what the rules derive from them, each computed on first use.

    The rules themselves work on the words (`grams`, `offsets`): samples are a few
    dozen words, where numpy's per-call overhead costs more than the work. Comparing
    words and word tuples decides as comparing their 64-bit hashes did (barring a hash
    collision). The hash views (`ids`, `cum`, `ngrams`) stay for callers that want arrays.
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self._ids: np.ndarray | None = None
        self._cum: np.ndarray | None = None
        self._offsets: list[int] | None = None
        self._longest: int | None = None
        self._ngrams: dict[int, np.ndarray] = {}
        self._grams: dict[int, list[tuple[str, ...]]] = {}

    def __len__(self) -> int:
        return len(self.words)

    @property
    def ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = word_hashes(self.words)
        return self._ids

    @property
    def cum(self) -> np.ndarray:
        """Prefix sums of the word lengths (0 first), as an array."""
        if self._cum is None:
            self._cum = np.array(self.offsets, dtype=np.int64)
        return self._cum

    @property
    def offsets(self) -> list[int]:
        """Prefix sums of the word lengths (0 first), as a list."""
        if self._offsets is None:
            self._offsets = list(accumulate(map(len, self.words), initial=0))
        return self._offsets

    @property
    def longest(self) -> int:
        """Characters of the longest word."""
        if self._longest is None:
            self._longest = max(map(len, self.words), default=0)
        return self._longest

    def ngrams(self, n: int) -> np.ndarray:
        h = self._ngrams.get(n)
        if h is None:
            h = self._ngrams[n] = ngram_hashes(self.ids, n)
        return h

    def grams(self, n: int) -> list[tuple[str, ...]]:
        """The word n-grams, in order (as many as `ngrams(n)` has hashes)."""
        g = self._grams.get(n)
        if g is None:
            w = self.words
            g = self._grams[n] = list(zip(*(w[k:] for k in range(n)))) if len(w) >= n else []
        return g

    def chars(self, start: np.ndarray | int, n: int) -> np.ndarray | int:
        if isinstance(start, int):
            off = self.offsets
            return off[start + n] - off[start]
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
        # check() of texts seen before: system prompts and other fixed turns recur in
        # every few rows. The settings are read at construction, like everything here.
        self._checked: dict[str, str | None] = {}

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
        checked = self._checked
        for part in parts_of(row):
            if part in checked:
                why = checked[part]
            else:
                if len(checked) >= _CHECKED_MAX:
                    checked.clear()
                why = checked[part] = self.check(part)
            if why is not None:
                return why
        return None

    def check(self, text: str) -> str | None:
        """The reason code for one text, or None."""
        if not text.strip():
            return None
        words, prose, prose_words = _split_answer_lines(text)
        toks = WordStats(words)
        if self._loops(toks):
            return "loop"
        if prose_words is None:  # fenced code: cut, then re-tokenize what is left
            prose = _ANSWER_RE.sub("", FENCE_RE.sub("", text))
            prose_words = words_of_text(prose)
        if not prose.strip():
            return None
        # Names are what knowledge text is about ("Glaor Tranane is warm. Glaor Tranane
        # lives in Faaro."): repeating them is not repetition, so n-grams skip them.
        if len(prose_words) >= self.min_words:
            prose_words = [w for w in prose_words if not w[0].isupper()]
        else:  # too few words for the n-gram rules, with or without the names
            prose_words = []
        return self._gopher_blocks(prose) or self._gopher_ngrams(prose, WordStats(prose_words))

    # -- Gopher ----------------------------------------------------------------------

    def _gopher_blocks(self, text: str) -> str | None:
        n_chars = len(text)
        stripped = text.strip()
        bands = (self.dup_para_frac, self.dup_para_char_frac)
        bands += (self.dup_line_frac, self.dup_line_char_frac)
        if min(bands) >= 0 and _distinct(text.split("\n")) and _distinct(stripped.split("\n")):
            # No line repeats, so no paragraph does either (it would repeat its lines):
            # nothing counts as a duplicate and no rule can fire (the usual case).
            return None
        # Splitting on "\n" instead of "\n+" only adds empty items, which the letter or
        # digit test drops; a text without a blank line is one paragraph.
        checks = (
            (
                "para",
                PARA_RE.split(stripped) if "\n\n" in stripped else [stripped],
                self.dup_para_frac,
                self.dup_para_char_frac,
            ),
            ("line", text.split("\n"), self.dup_line_frac, self.dup_line_char_frac),
        )
        search = ALNUM_RE.search
        for kind, items, frac, char_frac in checks:
            items = [x for x in items if search(x)]
            if not items:
                continue
            dups, chars = find_duplicates(items)
            if dups / len(items) > frac:
                return f"dup_{kind}_frac"
            if chars / n_chars > char_frac:
                return f"dup_{kind}_char_frac"
        return None

    def _gopher_ngrams(self, text: str, toks: WordStats) -> str | None:
        if len(toks) < self.min_words:
            return None
        n_chars = len(text)
        # At each place of an n-gram seen c times stands a word seen at least c times,
        # so c * (chars + n - 1) < n * max(count(w) * (len(w) + 1)): where that is within
        # the band, the rule cannot fire (most texts, for most n).
        freq = Counter(toks.words)
        weights = map(add, map(mul, map(len, freq), freq.values()), freq.values())
        heaviest = max(weights, default=0)  # count(w) * (len(w) + 1)
        for n, frac in self.top_ngrams.items():
            if n * heaviest / n_chars <= frac:
                continue
            grams = toks.grams(n)
            if not grams:
                continue
            counts = Counter(grams)
            top = max(counts.values())
            if top < 2:
                continue
            # The rule takes the most frequent n-gram with the smallest hash. Only its
            # length matters and the test grows with it, so the hash is needed only when
            # the shortest and the longest of the tied n-grams would decide differently.
            tied = [sum(map(len, g)) for g, c in counts.items() if c == top]
            short, long = min(tied), max(tied)
            if (short + n - 1) * top / n_chars > frac:  # words joined by spaces
                return f"top_{n}_gram"
            if (long + n - 1) * top / n_chars > frac:
                if (self._top_gram_chars(toks, n) + n - 1) * top / n_chars > frac:
                    return f"top_{n}_gram"
        return self._gopher_dup_ngrams(toks, n_chars)

    @staticmethod
    def _top_gram_chars(toks: WordStats, n: int) -> int:
        """Characters (without spaces) of the most frequent n-gram, ties to the smallest hash."""
        values, first, counts = np.unique(toks.ngrams(n), return_index=True, return_counts=True)
        return int(toks.chars(int(first[int(np.argmax(counts))]), n))

    def _gopher_dup_ngrams(self, toks: WordStats, n_chars: int) -> str | None:
        """Each dup rule's left-to-right scan (`_dup_ngram_chars`), visiting only the
        positions whose n-gram occurs more than once: an n-gram that occurs once is
        never counted and no later position looks it up, so the sums are the same."""
        if not self.dup_ngrams:
            return None
        lo, hi = min(self.dup_ngrams), max(self.dup_ngrams)
        grams = toks.grams(lo)
        counts = Counter(grams)
        if len(counts) == len(grams):  # no lo-gram repeats, so no longer n-gram does
            return None
        # Classes of positions with equal n-grams (two or more each), refined from n to
        # n + 1 by the next word: an n-gram repeats only where its first n - 1 words do.
        by_gram: dict[tuple[str, ...], list[int]] = {}
        for i, g in enumerate(grams):
            if counts[g] > 1:
                by_gram.setdefault(g, []).append(i)
        classes = list(by_gram.values())
        words, off, n_words = toks.words, toks.offsets, len(toks)
        # Every n-gram a scan counts repeats an earlier one, so it starts where a lo-gram
        # repeats and lies within the hi words from there; the counted n-grams do not
        # overlap. So the characters of the union of those spans bound every count.
        bound = end = 0
        for i in sorted(i for positions in classes for i in positions[1:]):
            stop = min(i + hi, n_words)
            if stop > end:
                bound += off[stop] - off[max(i, end)]
                end = stop
        if bound / n_chars <= min(self.dup_ngrams.values()):
            return None
        n = lo
        while classes:
            frac = self.dup_ngrams.get(n)
            if frac is not None and _dup_chars(classes, off, n) / n_chars > frac:
                return f"dup_{n}_gram"
            if n == hi:
                break
            refined: list[list[int]] = []
            for positions in classes:
                by_next: dict[str, list[int]] = {}
                for i in positions:
                    if i + n < n_words:  # an (n + 1)-gram starts here
                        by_next.setdefault(words[i + n], []).append(i)
                refined.extend(c for c in by_next.values() if len(c) > 1)
            classes = refined
            n += 1
        return None  # no repeats left: the longer n-grams count nothing

    @staticmethod
    def _dup_ngram_chars(toks: WordStats, n: int) -> int:
        grams = toks.grams(n)
        off = toks.offsets
        seen: set[tuple[str, ...]] = set()
        i = chars = 0
        while i < len(grams):
            g = grams[i]
            if g in seen:
                chars += off[i + n] - off[i]  # words joined without spaces, as datatrove
                i += n
            else:
                seen.add(g)
                i += 1
        return chars

    # -- loops -----------------------------------------------------------------------

    def _loops(self, toks: WordStats) -> bool:
        n, reps = len(toks), self.loop_repeats
        max_p = min(self.loop_max_period, n // reps)
        if max_p < 1:
            return False
        # Each word of a unit repeated r times occurs r times per place in the unit, so
        # the unit has at most sum(len(w) * (count(w) // r)) characters: most texts
        # cannot hold a loop of loop_min_chars, whatever the period.
        counts = Counter(toks.words)
        longest = sum(map(mul, map(len, counts), map(floordiv, counts.values(), repeat(reps))))
        if longest < self.loop_min_chars:
            return False
        return any(self._loops_at(toks, p) for p in self._periods(toks, max_p))

    def _periods(self, toks: WordStats, max_p: int) -> list[int]:
        """Candidate loop periods: 1, 2 and the distances between repeats of a 6-gram.

        With a period p >= 3 and r copies, the 6-gram at the loop's start occurs
        again p, 2p, ... words later: at least r - 1 times in all.
        """
        periods = [p for p in (1, 2) if p <= max_p]
        if max_p < 3:
            return periods
        w = toks.words
        if len(set(zip(w, w[1:], w[2:], w[3:], w[4:], w[5:]))) == len(w) - 5:
            return periods  # no 6-gram repeats (r - 1 >= 2 would be needed): the usual case
        grams = toks.grams(6)
        need = self.loop_repeats - 1
        counts = Counter(grams)
        if max(counts.values()) < need:
            return periods
        by_gram: dict[tuple[str, ...], list[int]] = {}
        for pos, g in enumerate(grams):
            if counts[g] >= need:
                by_gram.setdefault(g, []).append(pos)
        dists: set[int] = set()
        for positions in by_gram.values():
            for i, a in enumerate(positions):
                dists.update(b - a for b in positions[i + 1 :] if b - a <= max_p)
        return periods + sorted(d for d in dists if d >= 3)

    def _loops_at(self, toks: WordStats, p: int) -> bool:
        """A run of >= (r - 1) * p words each equal to the word p before, whose unit is
        long enough and not itself a shorter unit repeated (the first 8 such runs)."""
        if p * toks.longest < self.loop_min_chars:
            return False  # no unit of p words is long enough
        w = toks.words
        need = (self.loop_repeats - 1) * p
        same = bytes(map(eq, w, w[p:]))  # 1 where a word equals the word p later
        run = b"\x01" * need
        start = same.find(run)  # searched from the end of the last run: a run's start
        checked = 0
        while start != -1:
            end = same.find(0, start + need)
            if end == -1:
                end = len(same)
            if toks.chars(start, p) >= self.loop_min_chars:
                if _primitive(w[start : start + p]):
                    return True
                checked += 1
                if checked == 8:
                    return False
            start = same.find(run, end)
        return False


def _split_answer_lines(text: str) -> tuple[list[str], str, list[str] | None]:
    """(words of the text, the text without `Answer:` lines, its words) in one pass.

    An `Answer:` match is a whole line and no word spans a newline, so the words of the
    text are those of the kept pieces and the cut lines, in order. With fenced code
    (which may start mid-line) the last two are left to the caller: ("```" ...), None.
    """
    if "```" in text:  # FENCE_RE cannot match without one
        return words_of_text(text), text, None
    if ":" not in text and "\uff1a" not in text:  # nor can an `Answer:` line without a colon
        words = words_of_text(text)
        return words, text, words
    findall = (_ASCII_TOKEN_RE if text.isascii() else TOKEN_RE).findall
    words: list[str] = []
    prose_words: list[str] = []
    kept: list[str] = []
    pos = 0
    for m in _ANSWER_RE.finditer(text):
        start, end = m.span()
        before = findall(text, pos, start)
        words += before
        words += findall(text, start, end)
        prose_words += before
        kept.append(text[pos:start])
        pos = end
    if not kept:
        words = findall(text)
        return words, text, words
    rest = findall(text, pos)
    kept.append(text[pos:])
    return words + rest, "".join(kept), prose_words + rest


def _dup_chars(classes: list[list[int]], off: list[int], n: int) -> int:
    """`_dup_ngram_chars` over the positions of the classes (positions of equal n-grams)."""
    cls = {i: k for k, positions in enumerate(classes) for i in positions}
    seen: set[int] = set()
    chars = resume = 0
    for i in sorted(cls):
        if i < resume:  # inside a counted n-gram: the scan skips it
            continue
        k = cls[i]
        if k in seen:
            chars += off[i + n] - off[i]
            resume = i + n
        else:
            seen.add(k)
    return chars


def _distinct(lines: list[str]) -> bool:
    """No line repeats, empty lines aside (they have no letter or digit, so never count)."""
    n = len(set(lines))
    return n == len(lines) or n + lines.count("") - 1 == len(lines)


def _primitive(unit: list[str]) -> bool:
    """True unless the unit is a shorter unit repeated: "- - - -" is a rule, not a loop."""
    p = len(unit)
    return not any(p % d == 0 and unit == unit[:d] * (p // d) for d in range(1, p // 2 + 1))
