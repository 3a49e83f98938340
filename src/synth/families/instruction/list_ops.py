"""List operations: sort, dedupe, filter, top-k, map, sum/min/max/count.

params: `steps` — 1 (one operation; difficulty grows the list) or "chain" (a pipeline
of 2–4 operations, longer with difficulty).
Vars: `items` (the input list, as strings), `item_type` ("int" or "word"), `steps` (one
dict per operation), `trace` (the list or value after each step, formatted; a chain's
`formal` carries it as `steps`), `fmt`
(how a list result is written: comma, brackets, json, space, pipe), `scalar` (the
answer is one value), `expected`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, choices, family
from synth.families.instruction.common import (
    NONCE_SHORT,
    SHORT_WORDS,
    choose,
    level,
    make_draw,
    retry,
    scorer,
)

FAMILY = "list_ops"
FORMATS = ("comma", "brackets", "json", "space", "pipe")


def fmt_list(xs: list, fmt: str, kind: str) -> str:
    if fmt == "comma":
        return ", ".join(map(str, xs))
    if fmt == "space":
        return " ".join(map(str, xs))
    if fmt == "pipe":
        return " | ".join(map(str, xs))
    if kind == "int":
        return "[" + ", ".join(map(str, xs)) + "]"
    q = "'" if fmt == "brackets" else '"'
    return "[" + ", ".join(f"{q}{x}{q}" for x in xs) + "]"


def _dedupe(xs):
    return list(dict.fromkeys(xs))


# op -> (kinds, applies(xs), args(r, xs, kind), apply(xs, args)); scalar ops end a chain.
INT_OPS = {
    "sort_asc": (lambda xs: xs != sorted(xs), lambda r, xs: {}, lambda xs, a: sorted(xs)),
    "sort_desc": (
        lambda xs: xs != sorted(xs, reverse=True),
        lambda r, xs: {},
        lambda xs, a: sorted(xs, reverse=True),
    ),
    "dedupe": (lambda xs: len(set(xs)) < len(xs), lambda r, xs: {}, lambda xs, a: _dedupe(xs)),
    "reverse": (lambda xs: len(xs) >= 3, lambda r, xs: {}, lambda xs, a: xs[::-1]),
    "keep_gt": (
        lambda xs: len(set(xs)) >= 3,
        lambda r, xs: {"t": r.choice(sorted(set(xs))[:-1])},
        lambda xs, a: [x for x in xs if x > a["t"]],
    ),
    "keep_lt": (
        lambda xs: len(set(xs)) >= 3,
        lambda r, xs: {"t": r.choice(sorted(set(xs))[1:])},
        lambda xs, a: [x for x in xs if x < a["t"]],
    ),
    "keep_even": (
        lambda xs: any(x % 2 == 0 for x in xs) and any(x % 2 for x in xs),
        lambda r, xs: {},
        lambda xs, a: [x for x in xs if x % 2 == 0],
    ),
    "keep_odd": (
        lambda xs: any(x % 2 == 0 for x in xs) and any(x % 2 for x in xs),
        lambda r, xs: {},
        lambda xs, a: [x for x in xs if x % 2],
    ),
    "keep_mult": (
        lambda xs: any(x % 3 == 0 for x in xs),
        lambda r, xs: {"k": r.choice([m for m in (3, 4, 5) if any(x % m == 0 for x in xs)] or [3])},
        lambda xs, a: [x for x in xs if x % a["k"] == 0],
    ),
    "top_k": (
        lambda xs: len(xs) >= 4,
        lambda r, xs: {"k": r.randint(2, min(4, len(xs) - 1))},
        lambda xs, a: sorted(xs, reverse=True)[: a["k"]],
    ),
    "bottom_k": (
        lambda xs: len(xs) >= 4,
        lambda r, xs: {"k": r.randint(2, min(4, len(xs) - 1))},
        lambda xs, a: sorted(xs)[: a["k"]],
    ),
    "first_n": (
        lambda xs: len(xs) >= 4,
        lambda r, xs: {"k": r.randint(2, len(xs) - 2)},
        lambda xs, a: xs[: a["k"]],
    ),
    "last_n": (
        lambda xs: len(xs) >= 4,
        lambda r, xs: {"k": r.randint(2, len(xs) - 2)},
        lambda xs, a: xs[-a["k"] :],
    ),
    "add": (
        lambda xs: True,
        lambda r, xs: {"k": r.choice([1, 2, 3, 5, 10, -1, -2])},
        lambda xs, a: [x + a["k"] for x in xs],
    ),
    "mul": (
        lambda xs: max(map(abs, xs)) <= 200,
        lambda r, xs: {"k": r.choice([2, 3, 10])},
        lambda xs, a: [x * a["k"] for x in xs],
    ),
    "abs": (
        lambda xs: any(x < 0 for x in xs),
        lambda r, xs: {},
        lambda xs, a: [abs(x) for x in xs],
    ),
}
INT_SCALAR = {
    "sum": (lambda xs: True, lambda r, xs: {}, lambda xs, a: sum(xs)),
    "max": (lambda xs: len(xs) >= 2, lambda r, xs: {}, lambda xs, a: max(xs)),
    "min": (lambda xs: len(xs) >= 2, lambda r, xs: {}, lambda xs, a: min(xs)),
    "count": (lambda xs: True, lambda r, xs: {}, lambda xs, a: len(xs)),
    "count_distinct": (
        lambda xs: len(set(xs)) < len(xs),
        lambda r, xs: {},
        lambda xs, a: len(set(xs)),
    ),
}
WORD_OPS = {
    "sort_asc": INT_OPS["sort_asc"],
    "sort_desc": INT_OPS["sort_desc"],
    "dedupe": INT_OPS["dedupe"],
    "reverse": INT_OPS["reverse"],
    "sort_len": (
        lambda xs: xs != sorted(xs, key=len) and len(set(map(len, xs))) >= 2,
        lambda r, xs: {},
        lambda xs, a: sorted(xs, key=len),
    ),
    "keep_prefix": (
        lambda xs: True,
        lambda r, xs: {"c": r.choice(xs)[0]},
        lambda xs, a: [x for x in xs if x.startswith(a["c"])],
    ),
    "keep_longer": (
        lambda xs: len(set(map(len, xs))) >= 2,
        lambda r, xs: {"n": r.choice(sorted(set(map(len, xs)))[:-1])},
        lambda xs, a: [x for x in xs if len(x) > a["n"]],
    ),
    "upper": (lambda xs: True, lambda r, xs: {}, lambda xs, a: [x.upper() for x in xs]),
    "first_n": INT_OPS["first_n"],
    "last_n": INT_OPS["last_n"],
}
WORD_SCALAR = {
    "count": INT_SCALAR["count"],
    "count_distinct": INT_SCALAR["count_distinct"],
    "longest": (lambda xs: len(xs) >= 2, lambda r, xs: {}, lambda xs, a: max(xs, key=len)),
    "shortest": (lambda xs: len(xs) >= 2, lambda r, xs: {}, lambda xs, a: min(xs, key=len)),
    "join": (
        lambda xs: len(xs) >= 2,
        lambda r, xs: {"sep": r.choice(["-", "+", "/", "."])},
        lambda xs, a: a["sep"].join(xs),
    ),
}
ORDERING = {"sort_asc", "sort_desc", "sort_len", "reverse"}  # never two in a row
NAMES = {"int": (INT_OPS, INT_SCALAR), "word": (WORD_OPS, WORD_SCALAR)}


def _items(r: random.Random, kind: str, d: int) -> list:
    n = min(4 + d + r.randint(0, 2), 14)
    if kind == "int":
        hi = 10 + 8 * d
        lo = -hi // 2 if d >= 4 and r.random() < 0.5 else 0
        span = max(6, hi - lo)
        pool = r.sample(range(lo, lo + span + 1), min(n, span))
        return [r.choice(pool) if r.random() < 0.25 else pool[i % len(pool)] for i in range(n)]
    base = SHORT_WORDS if r.random() < 0.7 else NONCE_SHORT
    pool = r.sample(base, n)
    return [r.choice(pool[: i + 1]) if i and r.random() < 0.2 else pool[i] for i in range(n)]


def _run(r: random.Random, xs: list, kind: str, n_steps: int, scalar_end: bool):
    ops, scalars = NAMES[kind]
    steps, trace = [], []
    for i in range(n_steps):
        last = i == n_steps - 1
        table = scalars if (last and scalar_end) else ops
        prev = steps[-1]["op"] if steps else None
        op = choose(
            r,
            list(table),
            lambda o, prev=prev, table=table, xs=xs: (
                o != prev and not (prev in ORDERING and o in ORDERING) and table[o][0](xs)
            ),
        )
        if op is None:
            return None
        _, args_of, apply = table[op]
        args = args_of(r, xs)
        out = apply(xs, args)
        steps.append({"op": op, **args})
        if table is scalars:
            trace.append(out)
            return steps, trace, out
        if not out or out == xs and op not in ("reverse",):
            return None
        xs = out
        trace.append(xs)
    return steps, trace, xs


@dataclass(frozen=True)
class Params:
    steps: int | str = choices(1, "chain")


def _norm(s: str) -> str:
    """Spacing around separators and brackets does not matter; the order does."""
    s = s.strip()
    for sep in (",", "|"):
        s = sep.join(part.strip() for part in s.split(sep))
    s = s.replace("[ ", "[").replace(" ]", "]")
    return " ".join(s.split())


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def list_ops(ctx: ItemContext) -> Draw:
    """List operations (one, or a pipeline), answered with the resulting list or value."""
    d = level(ctx)
    chain = ctx.params.steps == "chain"

    def make(r: random.Random) -> Draw | None:
        kind = "int" if r.random() < 0.65 else "word"
        xs = _items(r, kind, d if not chain else max(1, d - 2))
        n = (min(2 + (d - 2) // 2, 4) if d >= 2 else 2) if chain else 1
        scalar_end = r.random() < (0.3 if chain else 0.25)
        run = _run(r, xs, kind, n, scalar_end)
        if run is None:
            return None
        steps, trace, out = run
        fmt = r.choice(FORMATS)
        scalar = not isinstance(out, list)
        if not scalar and len(out) < 2:
            return None
        expected = str(out) if scalar else fmt_list(out, fmt, kind)
        trace_s = [str(t) if not isinstance(t, list) else fmt_list(t, fmt, kind) for t in trace]
        task = "list." + "|".join(s["op"] for s in steps)
        return make_draw(
            ctx,
            task,
            # a chain writes its lists in `fmt` even when it ends in one value
            {"items": xs, "steps": steps, "format": None if scalar and not chain else fmt},
            expected,
            probe_kind="list." + (steps[0]["op"] if len(steps) == 1 else f"chain-{len(steps)}"),
            formal_steps=trace_s if chain else None,
            items=[str(x) for x in xs],
            items_text=fmt_list(xs, fmt if fmt != "space" else "comma", kind),
            item_type=kind,
            steps=steps,
            trace=trace_s,
            fmt=fmt,
            scalar=scalar,
        )

    return retry(ctx, make)
