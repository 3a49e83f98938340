"""Shannon entropy of the characters (bits/char) within a band.

Calibrated on English (Python reference docs, GPL-3) and Russian prose in chunks of
100..3200 chars: prose lies in 3.8..5.0 bits/char (Russian 4.1..4.8); Russian text with
a Python code block reaches 5.4 (99th percentile), 5.6 at most. Padded ASCII tables go
down to ~2.6 (5% of the Python docs' chunks are under 3.0). Random letters+digits are
5.6..5.9 from 200 chars on, random printable ASCII 6.1..6.5. Below `min` is degenerate
text ("0 0 0 0", "!!!!"). Entropy cannot see a normal sentence repeated — that is for
compression and repetition. Short texts are too few characters for a stable estimate.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from synth.filters.base import content_of
from synth.row import Row

# The fast estimate's sum differs from char_entropy's by rounding only (~1e-14 on real
# text; at most 128 terms of ASCII, < 1e-12): nearer a bound than this, char_entropy decides.
_GUARD = 1e-6


def char_entropy(text: str) -> float:
    """Shannon entropy of the character distribution, in bits per character."""
    n = len(text)
    if n == 0:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _fast_entropy(text: str) -> float:
    """`char_entropy` of ASCII text up to rounding, counting bytes in numpy (twice as fast)."""
    counts = np.bincount(np.frombuffer(text.encode("ascii"), np.uint8))
    p = counts[counts.nonzero()] / len(text)
    return float(-(p * np.log2(p)).sum())


@dataclass
class EntropyFilter:
    name: ClassVar[str] = "entropy"
    min: float = 3.0
    max: float = 5.6
    min_chars: int = 100

    def __post_init__(self) -> None:
        if not 0 <= self.min <= self.max:
            raise ValueError(f"need 0 <= min <= max, got min={self.min}, max={self.max}")

    def reason(self, row: Row) -> str | None:
        text = content_of(row)
        if len(text) < self.min_chars:
            return None
        if text.isascii():
            h = _fast_entropy(text)
            if abs(h - self.min) <= _GUARD or abs(h - self.max) <= _GUARD:
                h = char_entropy(text)
        else:  # counting code points in numpy (a sort) is no faster than Counter
            h = char_entropy(text)
        if h < self.min:
            return "entropy_low"
        if h > self.max:
            return "entropy_high"
        return None
