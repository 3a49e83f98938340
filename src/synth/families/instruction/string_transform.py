"""String transformations: reverse, case styles, Caesar shift, vowel removal, counting.

params: `steps` — 1 (one operation; difficulty grows the input) or "chain" (a pipeline
of operations whose length grows with difficulty: 2 at d2–3, 3 at d4–5, 4 at d6–7, 5 at d8).
Vars: `text` (the input), `steps` (one dict per operation: `op` and its arguments),
`trace` (the text after each step; a chain's `formal` carries it as `steps`), `expected`,
`multiline` (always False).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, choices, family
from synth.families.instruction.common import (
    IDENT_WORDS,
    NONCE_SHORT,
    SHORT_WORDS,
    WORDS,
    choose,
    exact_score,
    level,
    make_draw,
    render_safe,
    retry,
)

FAMILY = "string_transform"
VOWELS = set("aeiouAEIOU")
LOWER = "abcdefghijklmnopqrstuvwxyz"

STYLES = {
    "snake": lambda ws: "_".join(ws),
    "kebab": lambda ws: "-".join(ws),
    "camel": lambda ws: ws[0] + "".join(w.capitalize() for w in ws[1:]),
    "pascal": lambda ws: "".join(w.capitalize() for w in ws),
    "constant": lambda ws: "_".join(w.upper() for w in ws),
    "spaced": lambda ws: " ".join(ws),
}
STYLE_NAMES = list(STYLES)


def caesar(s: str, k: int) -> str:
    out = []
    for ch in s:
        if "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 + k) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 + k) % 26 + 65))
        else:
            out.append(ch)
    return "".join(out)


def _title(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


# op -> (applies(state, last), draw args(rng, state), apply(state, args) -> (text, words))
# `state` is (text, words): `words` is the lowercase word list the text spells in some
# case style, or None once a character-level operation has scrambled it.


def _ok_any(s, ws, last):
    return any(c.isalpha() for c in s)


def _has_words(s, ws, last):
    return ws is not None and len(ws) >= 2


def _spaced_words(s, ws, last):
    return " " in s and len(s.split(" ")) >= 2


OPS: dict[str, tuple] = {
    "reverse": (
        lambda s, ws, last: len(s) >= 3 and s != s[::-1],
        lambda r, s, ws: {},
        lambda s, ws, a: (s[::-1], None),
    ),
    "reverse_words": (
        _spaced_words,
        lambda r, s, ws: {},
        lambda s, ws, a: (
            " ".join(reversed(s.split(" "))),
            list(reversed(ws)) if ws and " ".join(ws) == s.lower() else None,
        ),
    ),
    "upper": (
        lambda s, ws, last: s != s.upper(),
        lambda r, s, ws: {},
        lambda s, ws, a: (s.upper(), ws if ws and " " in s else None),
    ),
    "lower": (
        lambda s, ws, last: s != s.lower(),
        lambda r, s, ws: {},
        lambda s, ws, a: (s.lower(), ws if ws and " " in s else None),
    ),
    "title": (
        lambda s, ws, last: " " in s and s == s.lower() and _title(s) != s,
        lambda r, s, ws: {},
        lambda s, ws, a: (_title(s), ws),
    ),
    "style": (
        _has_words,
        lambda r, s, ws: {"style": r.choice([x for x in STYLE_NAMES if STYLES[x](ws) != s])},
        lambda s, ws, a: (STYLES[a["style"]](ws), ws),
    ),
    "caesar": (
        _ok_any,
        lambda r, s, ws: {
            "k": r.choice([1, 1, 2, 3, 3, 4, 5, 7, 10, 13]),
            "back": r.random() < 0.3,
        },
        lambda s, ws, a: (caesar(s, -a["k"] if a["back"] else a["k"]), None),
    ),
    "remove_vowels": (
        lambda s, ws, last: (
            any(c in VOWELS for c in s) and any(c.isalpha() and c not in VOWELS for c in s)
        ),
        lambda r, s, ws: {},
        lambda s, ws, a: ("".join(c for c in s if c not in VOWELS), None),
    ),
    "replace": (
        lambda s, ws, last: any(c in LOWER for c in s),
        lambda r, s, ws: _replace_args(r, s),
        lambda s, ws, a: (s.replace(a["a"], a["b"]), None),
    ),
    "sort_letters": (
        lambda s, ws, last: (
            s.isalpha()
            and (s.islower() or s.isupper())
            and 3 <= len(s) <= 12
            and "".join(sorted(s)) != s
        ),
        lambda r, s, ws: {},
        lambda s, ws, a: ("".join(sorted(s)), None),
    ),
    "double": (
        lambda s, ws, last: 2 <= len(s) <= 9 and " " not in s,
        lambda r, s, ws: {},
        lambda s, ws, a: ("".join(c + c for c in s), None),
    ),
    "initials": (
        _spaced_words,
        lambda r, s, ws: {},
        lambda s, ws, a: ("".join(w[0] for w in s.split(" ")), None),
    ),
    "swapcase": (
        lambda s, ws, last: s != s.lower() and s != s.upper(),
        lambda r, s, ws: {},
        lambda s, ws, a: (s.swapcase(), None),
    ),
    # Terminal operations: the answer is a number.
    "count_char": (
        _ok_any,
        lambda r, s, ws: {"c": _count_target(r, s)},
        lambda s, ws, a: (str(s.count(a["c"])), None),
    ),
    "count_vowels": (
        _ok_any,
        lambda r, s, ws: {},
        lambda s, ws, a: (str(sum(c in VOWELS for c in s)), None),
    ),
    "length": (
        lambda s, ws, last: len(s) <= 40,
        lambda r, s, ws: {},
        lambda s, ws, a: (str(len(s)), None),
    ),
}
UNDO = {
    ("upper", "lower"),
    ("lower", "upper"),
    ("swapcase", "swapcase"),
    ("reverse_words", "reverse_words"),
}
TERMINAL = ("count_char", "count_vowels", "length")
NON_TERMINAL = [op for op in OPS if op not in TERMINAL]

# For one-step items: which inputs suit each operation.
INPUTS = {
    "reverse": ("word", "phrase", "ident"),
    "reverse_words": ("phrase",),
    "upper": ("phrase", "word", "ident"),
    "lower": ("shout", "titled", "ident"),
    "title": ("phrase",),
    "style": ("ident", "phrase"),
    "caesar": ("word", "phrase"),
    "remove_vowels": ("word", "phrase", "ident"),
    "replace": ("word", "phrase"),
    "sort_letters": ("word",),
    "double": ("word",),
    "initials": ("phrase",),
    "swapcase": ("ident", "titled"),
    "count_char": ("word", "phrase"),
    "count_vowels": ("word", "phrase"),
    "length": ("word", "phrase", "ident"),
}
SINGLE_OPS = list(INPUTS)


def _replace_args(r: random.Random, s: str) -> dict:
    a = r.choice([c for c in s if c in LOWER])
    b = r.choice([c for c in LOWER if c != a] + ["*", "#", "_", "0"])
    return {"a": a, "b": b}


def _count_target(r: random.Random, s: str) -> str:
    letters = [c for c in s if c.isalpha()]
    if r.random() < 0.1:
        absent = [c for c in LOWER if c not in s]
        if absent:
            return r.choice(absent)
    return r.choice(letters)


def _word(r: random.Random) -> str:
    return r.choice(WORDS) if r.random() < 0.6 else r.choice(NONCE_SHORT)


def _input(r: random.Random, kind: str, d: int) -> tuple[str, list[str] | None]:
    n = min(2 + d // 2, 6)
    if kind == "word":
        w = (
            r.choice(WORDS)
            if r.random() < 0.5
            else r.choice(NONCE_SHORT) + (r.choice(NONCE_SHORT) if d >= 4 else "")
        )
        return w, None
    if kind in ("phrase", "shout", "titled"):
        ws = [
            r.choice(SHORT_WORDS) if r.random() < 0.7 else r.choice(NONCE_SHORT) for _ in range(n)
        ]
        s = " ".join(ws)
        if kind == "shout":
            s = s.upper()
        elif kind == "titled":
            s = _title(s)
        return s, ws
    # ident: an identifier in a random case style
    ws = r.sample(IDENT_WORDS, 2 + (d >= 3) + (d >= 6))
    style = r.choice(["snake", "kebab", "camel", "pascal", "constant"])
    return STYLES[style](ws), ws


def _chain_input(r: random.Random, d: int) -> tuple[str, list[str] | None]:
    kind = r.choice(["word", "phrase", "phrase", "ident"])
    s, ws = _input(r, kind, max(1, d - 2))
    return s, ws


def _run(r: random.Random, s: str, ws, n_steps: int, first_op: str | None = None):
    steps, trace = [], []
    for i in range(n_steps):
        last = i == n_steps - 1
        if i == 0 and first_op is not None:
            op = first_op
        else:
            pool = NON_TERMINAL + (list(TERMINAL) if last and r.random() < 0.35 else [])
            prev = steps[-1]["op"] if steps else None
            used = {st["op"] for st in steps}
            op = choose(
                r,
                pool,
                lambda o, used=used, prev=prev, s=s, ws=ws, last=last: (
                    o not in used and (prev, o) not in UNDO and OPS[o][0](s, ws, last)
                ),
            )
            if op is None:
                return None
        applies, args_of, apply = OPS[op]
        if not applies(s, ws, last):
            return None
        args = args_of(r, s, ws)
        s, ws = apply(s, ws, args)
        if not render_safe(s) or len(s) > 80:
            return None
        steps.append({"op": op, **args})
        trace.append(s)
    return steps, trace, s


@dataclass(frozen=True)
class Params:
    steps: int | str = choices(1, "chain")


@family(FAMILY, "instruction", params=Params, score=exact_score)
def string_transform(ctx: ItemContext) -> Draw:
    """String transformations (one step, or a chain), answered with the exact result."""
    d = level(ctx)
    chain = ctx.params.steps == "chain"

    def make(r: random.Random) -> Draw | None:
        if chain:
            n = min(2 + (d - 2) // 2, 5) if d >= 2 else 2
            text, ws = _chain_input(r, d)
            run = _run(r, text, ws, n)
        else:
            op = r.choice(SINGLE_OPS)
            text, ws = _input(r, r.choice(INPUTS[op]), d)
            run = _run(r, text, ws, 1, first_op=op)
        if run is None or not render_safe(text):
            return None
        steps, trace, out = run
        task = "string." + "|".join(s["op"] for s in steps)
        return make_draw(
            ctx,
            task,
            {"text": text, "words": ws, "steps": steps} if ws else {"text": text, "steps": steps},
            out,
            probe_kind="string." + (steps[0]["op"] if len(steps) == 1 else f"chain-{len(steps)}"),
            formal_steps=trace if chain else None,
            text=text,
            words=ws or [],
            steps=steps,
            trace=trace,
            numeric=steps[-1]["op"] in TERMINAL,
        )

    return retry(ctx, make)
