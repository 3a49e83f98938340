"""Symbolic commands executed exactly: "do exactly this" edits of a text, and programs
in a tiny register or stack language defined in the prompt (at higher difficulty with
made-up opcode names).

params: `mode` — "steps" (numbered plain-language edits of a text buffer) or "program"
(a mini language). Difficulty is the number of steps / instructions.
Steps vars: `steps` (dicts: `op` and its arguments; the first is `start`), `trace` (the
text after each step, the start included).
Program vars: `machine` ("registers" / "stack"), `registers` (2, or 3 from d3), `ops` (the opcodes used,
each {op, name, arity}), `program` (the lines), `trace` (the state after each line, as it
is once that line has run: registers "a=3 b=0", the stack "[3, 4]" with its top last),
`outputs`, `nonce_ops` (opcode names are made up), `expected`.
`formal["steps"]` is `trace` in both modes: what a worked reply writes, line by line.
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
    render_safe,
    retry,
    scorer,
)

FAMILY = "command_program"
MAX_BUF = 48
WRAPS = {
    "brackets": ("[", "]"),
    "parens": ("(", ")"),
    "quotes": ('"', '"'),
    "angles": ("<", ">"),
    "stars": ("*", "*"),
}
SEPS = ["", " ", "-", "_"]
REPEAT_SEPS = ["", " ", "-", "|", ", ", "/"]


def _word(r: random.Random) -> str:
    return r.choice(SHORT_WORDS) if r.random() < 0.6 else r.choice(NONCE_SHORT)


# op -> (applies(buffer), draw arguments(rng, buffer))
STEP_OPS: dict[str, tuple] = {
    "append": (lambda s: True, lambda r, s: {"text": _word(r), "sep": r.choice(SEPS)}),
    "prepend": (lambda s: True, lambda r, s: {"text": _word(r), "sep": r.choice(SEPS)}),
    "wrap": (lambda s: True, lambda r, s: {"kind": r.choice(WRAP_KINDS)}),
    "append_length": (lambda s: True, lambda r, s: {"sep": r.choice([":", "-", " ", "#"])}),
    "upper": (lambda s: s != s.upper(), lambda r, s: {}),
    "lower": (lambda s: s != s.lower(), lambda r, s: {}),
    "capitalize": (lambda s: s[:1].isalpha() and s[:1].islower(), lambda r, s: {}),
    "reverse": (lambda s: len(s) >= 3 and s != s[::-1], lambda r, s: {}),
    "repeat": (
        lambda s: len(s) <= 14,
        lambda r, s: {"n": r.choice([2, 2, 3]), "sep": r.choice(REPEAT_SEPS)},
    ),
    "replace": (
        lambda s: any("a" <= ch <= "z" for ch in s),
        lambda r, s: {
            "a": r.choice([ch for ch in s if "a" <= ch <= "z"]),
            "b": r.choice("xyzqk0123*#"),
        },
    ),
    "drop_last": (lambda s: len(s) >= 5, lambda r, s: {"n": r.randint(1, min(3, len(s) - 2))}),
    "drop_first": (lambda s: len(s) >= 5, lambda r, s: {"n": r.randint(1, min(3, len(s) - 2))}),
}
STEP_NAMES = list(STEP_OPS)
WRAP_KINDS = list(WRAPS)


def _apply_step(s: str, op: str, a: dict) -> str:
    if op == "append":
        return s + a["sep"] + a["text"]
    if op == "prepend":
        return a["text"] + a["sep"] + s
    if op == "wrap":
        left, right = WRAPS[a["kind"]]
        return left + s + right
    if op == "append_length":
        return s + a["sep"] + str(len(s))
    if op == "upper":
        return s.upper()
    if op == "lower":
        return s.lower()
    if op == "capitalize":
        return s[:1].upper() + s[1:]
    if op == "reverse":
        return s[::-1]
    if op == "repeat":
        return a["sep"].join([s] * a["n"])
    if op == "replace":
        return s.replace(a["a"], a["b"])
    if op == "drop_last":
        return s[: -a["n"]]
    if op == "drop_first":
        return s[a["n"] :]
    raise ValueError(op)


def run_steps(steps: list[dict]) -> list[str]:
    """The buffer after each step (the first step is `start`)."""
    s = steps[0]["text"]
    trace = [s]
    for st in steps[1:]:
        s = _apply_step(s, st["op"], st)
        trace.append(s)
    return trace


def _steps(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    start = r.choice(SHORT_WORDS) if r.random() < 0.6 else r.choice(NONCE_SHORT)
    steps = [{"op": "start", "text": start}]
    s = start
    for _ in range(min(1 + d, 8)):
        prev = steps[-1]["op"]
        op = choose(r, STEP_NAMES, lambda o, prev=prev, s=s: o != prev and STEP_OPS[o][0](s))
        if op is None:
            return None
        args = STEP_OPS[op][1](r, s)
        s2 = _apply_step(s, op, args)
        if len(s2) > MAX_BUF or not render_safe(s2):
            return None
        steps.append({"op": op, **args})
        s = s2
    trace = run_steps(steps)
    return make_draw(
        ctx,
        "command.steps",
        {"steps": steps},
        s,
        probe_kind=f"command.steps-{len(steps) - 1}",
        formal_steps=trace,
        steps=steps,
        trace=trace,
    )


# -- the mini language -----------------------------------------------------------------------

REG_OPS = {  # op: (arity, kind of arguments)
    "set": "rn",  # r <- n
    "add": "rs",  # r <- r + (register or number)
    "sub": "rs",
    "mul": "rn",
    "swap": "rr",
    "copy": "rr",  # first <- second
    "inc": "r",
    "dec": "r",
    "print": "r",
}
STACK_OPS = {
    "push": "n",
    "pop": "",
    "add": "",
    "sub": "",
    "mul": "",
    "dup": "",
    "swap": "",
    "print": "",
}
REGISTER_SETS = [
    ["a", "b", "c", "d"],
    ["x", "y", "z", "w"],
    ["r1", "r2", "r3", "r4"],
    ["p", "q", "r", "s"],
]
LIMIT = 9999


def _reg_program(r: random.Random, d: int):
    regs = r.choice(REGISTER_SETS)[: 2 + (d >= 3)]
    vals = {x: 0 for x in regs}
    prog: list[tuple[str, list]] = []
    trace: list[dict[str, int]] = []  # the registers after each line, as they are then
    for x in regs:
        if r.random() < 0.85:
            n = r.randint(0, 12 + 3 * d)
            prog.append(("set", [x, n]))
            vals[x] = n
            trace.append(dict(vals))
    n_ops = min(2 + d, 8)
    outputs: list[int] = []
    for i in range(n_ops):
        last = i == n_ops - 1
        op = (
            "print"
            if last
            else r.choice(
                ["add", "add", "sub", "mul", "swap", "copy", "inc", "dec", "print", "set"]
            )
        )
        x = r.choice(regs)
        if op == "set":
            args = [x, r.randint(0, 20)]
            vals[x] = args[1]
        elif op in ("add", "sub"):
            y = r.choice(regs + [None])
            v = vals[y] if y else r.randint(1, 9)
            new = vals[x] + v if op == "add" else vals[x] - v
            if abs(new) > LIMIT:
                return None
            args = [x, y if y else v]
            vals[x] = new
        elif op == "mul":
            k = r.randint(2, 4)
            if abs(vals[x] * k) > LIMIT:
                return None
            args = [x, k]
            vals[x] *= k
        elif op in ("swap", "copy"):
            y = r.choice([z for z in regs if z != x])
            args = [x, y]
            if op == "swap":
                vals[x], vals[y] = vals[y], vals[x]
            else:
                vals[x] = vals[y]
        elif op in ("inc", "dec"):
            args = [x]
            vals[x] += 1 if op == "inc" else -1
        else:
            args = [x]
            outputs.append(vals[x])
        prog.append((op, args))
        trace.append(dict(vals))
    state = [" ".join(f"{k}={v}" for k, v in t.items()) for t in trace]
    return regs, prog, state, outputs


def _stack_program(r: random.Random, d: int):
    stack: list[int] = []
    prog: list[tuple[str, list]] = []
    trace: list[str] = []
    outputs: list[int] = []
    n_ops = min(3 + d, 9)
    for i in range(n_ops):
        last = i == n_ops - 1
        if last:
            if not stack:
                return None
            op = "print"
        else:
            ok = ["push", "push"]
            if stack:
                ok += ["dup", "print", "pop"] if len(stack) >= 2 else ["dup", "print"]
            if len(stack) >= 2:
                ok += ["add", "add", "sub", "mul", "swap"]
            op = r.choice(ok)
        args: list = []
        if op == "push":
            args = [r.randint(0, 9 + 2 * d)]
            stack.append(args[0])
        elif op == "pop":
            stack.pop()
        elif op == "dup":
            stack.append(stack[-1])
        elif op == "swap":
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif op in ("add", "sub", "mul"):
            b, a = stack.pop(), stack.pop()
            v = a + b if op == "add" else a - b if op == "sub" else a * b
            if abs(v) > LIMIT:
                return None
            stack.append(v)
        else:
            outputs.append(stack[-1])
        prog.append((op, args))
        trace.append("[" + ", ".join(map(str, stack)) + "]")
    return [], prog, trace, outputs


def _program(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    machine = r.choice(["registers", "stack"])
    got = _reg_program(r, d) if machine == "registers" else _stack_program(r, d)
    if got is None:
        return None
    regs, prog, trace, outputs = got
    table = REG_OPS if machine == "registers" else STACK_OPS
    used = [op for op in table if any(p[0] == op for p in prog)]
    nonce = d >= 3 and r.random() < 0.5
    upper = r.random() < 0.6
    if nonce:
        names = dict(zip(used, r.sample(NONCE_SHORT, len(used)), strict=True))
    else:
        names = {op: op for op in used}
    if upper:
        names = {k: v.upper() for k, v in names.items()}
    lines = [" ".join([names[op]] + [str(a) for a in args]) for op, args in prog]
    expected = " ".join(map(str, outputs))
    ops = [{"op": op, "name": names[op], "arity": len(table[op])} for op in used]
    return make_draw(
        ctx,
        f"command.program.{machine}",
        {
            "machine": machine,
            "registers": regs,
            "opcodes": {v: k for k, v in names.items()},
            "program": lines,
        },
        expected,
        probe_kind=f"command.program.{machine}" + ("-nonce" if nonce else ""),
        formal_steps=trace,
        machine=machine,
        registers=regs,
        ops=ops,
        program=lines,
        trace=trace,
        outputs=[str(o) for o in outputs],
        nonce_ops=nonce,
        n_prints=len(outputs),
    )


@dataclass(frozen=True)
class Params:
    mode: str = choices("steps", "program")


def _norm(s: str) -> str:
    s = s.strip()
    return (
        " ".join(s.replace(",", " ").split())
        if s.replace(",", " ").replace("-", "").replace(" ", "").isdigit()
        else s
    )


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def command_program(ctx: ItemContext) -> Draw:
    """Carry out plain-language edits, or run a tiny program, and give the exact output."""
    d = level(ctx)
    make = _steps if ctx.params.mode == "steps" else _program
    return retry(ctx, lambda r: make(ctx, r, d))
