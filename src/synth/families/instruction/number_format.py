"""Number formatting: digit grouping, Roman numerals, English words, bases, ordinals,
rounding, percentages, zero padding — and back.

Difficulty is the size of the number (more digits, larger Roman numerals, bigger
numbers in words). Vars: `op`, `value` (the input as written), the op's arguments
(`sep`, `dec`, `style`, `base`, `prefix`, `case`, `k`, `width`), `expected`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from synth.families.base import Draw, ItemContext, family, words
from synth.families.instruction.common import level, make_draw, retry, scorer

FAMILY = "number_format"

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = [(10**9, "billion"), (10**6, "million"), (1000, "thousand")]
ROMAN = [
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
]
GROUP_SEPS = {
    ",": ".",
    " ": ",",
    "_": ".",
    ".": ",",
    "'": ".",
}  # thousands separator -> decimal mark


def to_roman(n: int) -> str:
    out = []
    for v, s in ROMAN:
        while n >= v:
            out.append(s)
            n -= v
    return "".join(out)


def _under_1000(n: int, british: bool) -> list[str]:
    out = []
    h, rest = divmod(n, 100)
    if h:
        out += [ONES[h], "hundred"]
        if rest and british:
            out.append("and")
    if rest:
        out.append(
            ONES[rest]
            if rest < 20
            else TENS[rest // 10] + (f"-{ONES[rest % 10]}" if rest % 10 else "")
        )
    return out


def to_words(n: int, british: bool = False) -> str:
    if n == 0:
        return "zero"
    out: list[str] = []
    for v, name in SCALES:
        if n >= v:
            q, n = divmod(n, v)
            out += _under_1000(q, british) + [name]
    if n:
        if british and out and n < 100:
            out.append("and")
        out += _under_1000(n, british)
    return " ".join(out)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def group(int_part: str, sep: str) -> str:
    s = int_part
    parts = []
    while len(s) > 3:
        parts.append(s[-3:])
        s = s[:-3]
    parts.append(s)
    return sep.join(reversed(parts))


def to_base(n: int, base: int, prefix: bool, upper: bool) -> str:
    digits = format(n, {2: "b", 8: "o", 16: "x"}[base])
    if upper:
        digits = digits.upper()
    return ({2: "0b", 8: "0o", 16: "0x"}[base] if prefix else "") + digits


WORD_MAX = [10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 10**9, 10**9, 10**9]
ROMAN_MAX = [1000, 2000, 3999, 3999, 3999, 3999, 3999, 3999]
OPS = [
    "group",
    "ungroup",
    "roman",
    "from_roman",
    "words",
    "from_words",
    "to_base",
    "from_base",
    "ordinal",
    "round",
    "percent",
    "pad",
]


def _spread(r: random.Random, hi: int) -> int:
    """A number in [0, hi]: first a digit count (up to two fewer than `hi` has, so a
    wide range does not fill up with one-digit numbers), then a number of that length."""
    top = len(str(hi - 1)) if hi > 1 else 1  # 10**k counts as k digits
    digits = r.randint(max(1, top - 2), top)
    lo = 10 ** (digits - 1) if digits > 1 else 0
    return r.randint(lo, min(hi, 10**digits - 1))


def _draw(r: random.Random, op: str, d: int) -> tuple[dict, str, str]:
    """(args, value as shown, expected)"""
    if op in ("group", "ungroup"):
        n = r.randint(10 ** (3 + d // 2), 10 ** (4 + d) - 1) if d > 1 else r.randint(1000, 99999)
        sep = r.choice(list(GROUP_SEPS))
        dec = GROUP_SEPS[sep]
        frac = (
            "".join(r.choice("0123456789") for _ in range(r.randint(1, 3)))
            if d >= 3 and r.random() < 0.4
            else ""
        )
        plain = str(n) + (f".{frac}" if frac else "")
        grouped = group(str(n), sep) + (f"{dec}{frac}" if frac else "")
        args = {"sep": sep, "dec": dec, "frac": bool(frac)}
        return (args, plain, grouped) if op == "group" else (args, grouped, plain)
    if op in ("roman", "from_roman"):
        n = max(1, _spread(r, ROMAN_MAX[d - 1]))
        return ({}, str(n), to_roman(n)) if op == "roman" else ({}, to_roman(n), str(n))
    if op in ("words", "from_words"):
        n = _spread(r, WORD_MAX[d - 1])
        british = r.random() < 0.3
        args = {"style": "british" if british else "american"}
        return (
            (args, str(n), to_words(n, british))
            if op == "words"
            else (args, to_words(n, british), str(n))
        )
    if op in ("to_base", "from_base"):
        base = r.choice([2, 2, 16, 16, 8])
        bits = min(5 + 2 * d, 32) if base == 2 else min(8 + 3 * d, 32)
        n = r.randint(2, 2**bits - 1)
        prefix = r.random() < 0.4
        upper = base == 16 and r.random() < 0.4
        args = {"base": base, "prefix": prefix, "case": "upper" if upper else "lower"}
        b = to_base(n, base, prefix, upper)
        return (args, str(n), b) if op == "to_base" else (args, b, str(n))
    if op == "ordinal":
        n = _spread(r, 10 ** min(4 + d // 2, 7))
        n = max(n, 1)
        return {}, str(n), ordinal(n)
    if op == "round":
        places = r.randint(3, 6)
        whole = r.randint(0, 10 ** min(d, 5))
        frac = "".join(r.choice("0123456789") for _ in range(places - 1)) + r.choice("123456789")
        x = Decimal(f"{whole}.{frac}")
        k = r.randint(0, min(places - 1, 3))
        q = Decimal(1).scaleb(-k)
        if (x / q) % 1 == Decimal("0.5"):
            raise _Redraw
        return {"k": k}, str(x), str(x.quantize(q, rounding=ROUND_HALF_UP))
    if op == "percent":
        places = r.randint(2, 3 + d // 3)
        x = Decimal("0." + "".join(r.choice("0123456789") for _ in range(places)))
        if r.random() < 0.15:
            x += r.randint(1, 2)
        k = r.randint(0, max(0, min(places - 2, 2)))
        pct = (x * 100).quantize(Decimal(1).scaleb(-k), rounding=ROUND_HALF_UP)
        if ((x * 100) / Decimal(1).scaleb(-k)) % 1 == Decimal("0.5") or x == 0:
            raise _Redraw
        return {"k": k}, str(x), f"{pct}%"
    # pad
    n = _spread(r, 10 ** min(4 + d // 2, 8))
    width = len(str(n)) + r.randint(1, 4)
    return {"width": width}, str(n), str(n).zfill(width)


class _Redraw(Exception):
    pass


@dataclass(frozen=True)
class Params:
    ops: tuple[str, ...] | None = words()  # the operations drawn from (default: all)


def _norm(s: str) -> str:
    """Numbers in words ignore case and commas; every other format is exact."""
    s = s.strip()
    if " " in s and s[:1].isalpha():
        return " ".join(s.replace(",", " ").lower().split())
    return s


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def number_format(ctx: ItemContext) -> Draw:
    """Write a number in a stated format (or read it back), exactly."""
    d = level(ctx)
    ops = ctx.params.ops or OPS

    def make(r: random.Random) -> Draw | None:
        op = r.choice(ops)
        try:
            args, value, expected = _draw(r, op, d)
        except _Redraw:
            return None
        return make_draw(
            ctx,
            f"number.{op}",
            {"value": value, "op": op, **args},
            expected,
            probe_kind=f"number.{op}",
            op=op,
            value=value,
            **args,
        )

    return retry(ctx, make)
