"""zlib compressed/raw byte ratio within a band that depends on length.

Too low = collapse (a sentence repeated), too high = noise (random characters, token
soup). zlib carries a fixed cost (header, checksum, Huffman tables) and short texts
have few repeats to exploit, so the upper bound is relaxed for short texts:

    ratio > max + slack / sqrt(bytes)   -> "compression_high"
    ratio < min                         -> "compression_low"

Calibrated (zlib level 6, UTF-8) on English (Python reference docs, GPL-3) and Russian
prose: the 99th percentile of the ratio is 0.82 / 0.70 / 0.62 / 0.56 / 0.51 at
200 / 400 / 800 / 1600 / 3200 bytes, fitted by 0.40 + 5.9/sqrt(bytes). The default
bound 0.45 + 6/sqrt(bytes) (0.87 / 0.75 / 0.66 / 0.60 / 0.56) keeps a ~0.05 margin.
Random letters+digits (0.76..0.91) are over it at every length, random lowercase
letters and shuffled characters (0.61..0.70) from ~1500 bytes on. Russian is 2 bytes a
letter and compresses to lower ratios than English, so its noise shows only in
`entropy`. Collapse: one sentence repeated is 0.18 at 400 bytes, 0.09 at 800; prose
stays above 0.3 and indented code above ~0.17, hence min 0.15.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import ClassVar

from synth.filters.base import content_of
from synth.row import Row


def compression_ratio(data: bytes) -> float:
    """zlib level 6 compressed length over raw length.

    The window is the smallest that still covers the whole text (deflate reaches back
    at most window - 262 bytes): the same compressed length as zlib's default 32 KiB
    window, without setting up and clearing that window for a text of a few hundred
    bytes (15% of the call)."""
    if not data:
        return 0.0
    wbits = min(15, max(9, (len(data) + 261).bit_length()))
    z = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return (len(z.compress(data)) + len(z.flush())) / len(data)


@dataclass
class CompressionFilter:
    name: ClassVar[str] = "compression"
    min: float = 0.15
    max: float = 0.45  # the bound for long texts; short ones get + slack/sqrt(bytes)
    slack: float = 6.0
    min_chars: int = 200

    def __post_init__(self) -> None:
        if not 0 <= self.min <= self.max:
            raise ValueError(f"need 0 <= min <= max, got min={self.min}, max={self.max}")
        if self.slack < 0:
            raise ValueError("slack must be >= 0")

    def upper(self, n_bytes: int) -> float:
        return self.max + self.slack / math.sqrt(max(n_bytes, 1))

    def reason(self, row: Row) -> str | None:
        text = content_of(row)
        if len(text) < self.min_chars:
            return None
        data = text.encode("utf-8", "surrogatepass")
        r = compression_ratio(data)
        if r < self.min:
            return "compression_low"
        if r > self.upper(len(data)):
            return "compression_high"
        return None
