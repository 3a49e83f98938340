"""Human-friendly numbers: `--tokens 5M`, `--shard-tokens 100M`."""

from __future__ import annotations

import re

_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}


def parse_count(value: str | int, option: str = "--tokens") -> int:
    """Parse `5M`, `1.5B`, `20000`, `20_000` into a positive int, or raise UserError."""
    from synth.errors import UserError

    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    else:
        m = re.fullmatch(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?)\s*([kKmMbBgGtT]?)\s*", str(value))
        if not m:
            raise UserError(
                f"{option}: cannot parse {str(value)[:40]!r}; use a number like 20000, 5M or 1.5B"
            )
        try:
            n = int(float(m.group(1).replace("_", "")) * _SUFFIX[m.group(2).upper()])
        except OverflowError:  # more digits than a float holds
            raise UserError(f"{option}: {str(value)[:20]!r}... is too large") from None
    if n <= 0:
        raise UserError(f"{option}: must be positive, got {value!r}")
    return n


def human(n: float, down: bool = False) -> str:
    """5_123_456 → "5.12M"; `down`: never above n (a limit said back to the user must
    itself be within the limit)."""
    import math

    for suffix, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= size:
            x = n / size
            if down:
                digits = 3 - len(str(int(x)))
                x = math.floor(x * 10**digits) / 10**digits
            return f"{x:.3g}{suffix}"
    return f"{math.floor(n) if down else n:.0f}"
