"""Code transformations on small Python snippets, with the exact expected code.

params: `mode` — "rename" (rename one or two variables everywhere they are used as
variables; text inside strings stays) or "loop" (a for-loop that builds a list, dict or
sum ↔ the equivalent comprehension / `sum(...)`).
Snippets are built from skeletons with placeholders, so the expected code is computed
by construction, never by editing text. Indentation is `INDENT` (4 spaces; the renderer
keeps it).
Vars: `code` (the input), `renames` (pairs [old, new]), `direction` ("to_comp" /
`to_loop`), `construct` ("list" / "dict" / "sum"), `filtered`, `out_name`, `expected`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, choices, family
from synth.families.instruction.common import (
    IDENT_WORDS,
    level,
    make_draw,
    python_ast,
    retry,
    scorer,
)

FAMILY = "code_transform"
INDENT = "    "
MAX_DEPTH = 3
FUNC_VERBS = [
    "compute",
    "find",
    "scale",
    "merge",
    "count",
    "build",
    "collect",
    "check",
    "update",
    "load",
    "parse",
    "sum",
]

# $role: a renameable name; @role: the role's original name, inside a string literal;
# %1 %2: small integer literals.
RENAME_SKELETONS = [
    "def $f($a, $b):\n    $t = $a * $b\n    $u = $t + $a\n    return $u - $b",
    "$xs = [%1, %2, %3]\n$acc = 0\nfor $x in $xs:\n    $acc += $x * %2\nprint($acc)",
    "def $f($s):\n    $w = $s.split()\n    $n = len($w)\n    return $n, $w[0]",
    "$v = %1\n$w = $v * %2\nprint('@v =', $v)\nprint('@w =', $w)",
    "$total = 0\n$count = 0\nfor $x in $xs:\n    $total += $x\n    $count += 1\n$mean = $total / $count",
    "$d = {}\nfor $k, $v in $pairs:\n    $d[$k] = $v\nprint(len($d), '@d')",
    "def $f($a):\n    $b = $a + %1\n    $c = $b * $b\n    print('@b is', $b)\n    return $c",
    "def $f($xs):\n    $acc = 0\n    for $x in $xs:\n        if $x > %1:\n            $acc += $x\n    return $acc",
    "def $f($items, $k):\n    $found = None\n    for $item in $items:\n        if $item == $k:\n            $found = $item\n            break\n    return $found",
    "$n = %1\n$s = 0\nwhile $n > 0:\n    $s += $n % 10\n    $n //= 10\nprint($s)",
]
_ROLE = re.compile(r"\$(\w+)")
_LIT = re.compile(r"@(\w+)")
_NUM = re.compile(r"%(\d)")


def _depth(code: str) -> int:
    return max((len(ln) - len(ln.lstrip(" "))) // 4 for ln in code.split("\n"))


SKELETONS_OK = [s for s in RENAME_SKELETONS if _depth(s) <= MAX_DEPTH]


def _indent(code: str) -> str:
    if INDENT == "    ":
        return code
    out = []
    for ln in code.split("\n"):
        body = ln.lstrip(" ")
        out.append(INDENT * ((len(ln) - len(body)) // 4) + body)
    return "\n".join(out)


def _fill(skel: str, names: dict[str, str], originals: dict[str, str], nums: dict[str, str]) -> str:
    code = _ROLE.sub(lambda m: names[m.group(1)], skel)
    code = _LIT.sub(lambda m: originals[m.group(1)], code)
    return _indent(_NUM.sub(lambda m: nums[m.group(1)], code))


def _name(r: random.Random, used: set[str], func: bool = False) -> str:
    for _ in range(50):
        if func:
            n = f"{r.choice(FUNC_VERBS)}_{r.choice(IDENT_WORDS)}"
        else:
            n = "_".join(r.sample(IDENT_WORDS, 1 + (r.random() < 0.45)))
        if n not in used:
            used.add(n)
            return n
    raise RuntimeError("identifier space exhausted")


def _rename(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    pool = SKELETONS_OK if d >= 3 else [s for s in SKELETONS_OK if "@" not in s]
    skel = r.choice(pool)
    roles = list(dict.fromkeys(_ROLE.findall(skel)))
    used: set[str] = set()
    names = {role: _name(r, used, func=role == "f") for role in roles}
    nums = {k: str(r.randint(2, 20)) for k in "123"}
    var_roles = [x for x in roles if x != "f"] + (
        ["f"] if "f" in roles and r.random() < 0.3 else []
    )
    n_ren = 2 if d >= 4 and len(var_roles) >= 3 and r.random() < 0.5 else 1
    targets = r.sample(var_roles, n_ren)
    if d >= 3 and r.random() < 0.4:
        # A distractor: another name that starts with the renamed one.
        others = [x for x in roles if x not in targets and x != "f"]
        if others:
            o = r.choice(others)
            cand = f"{names[targets[0]]}_{r.choice(IDENT_WORDS)}"
            if cand not in used:
                used.add(cand)
                names[o] = cand
    new = {t: _name(r, used, func=t == "f") for t in targets}
    code = _fill(skel, names, names, nums)
    expected = _fill(skel, {**names, **new}, names, nums)
    renames = [[names[t], new[t]] for t in targets]
    return make_draw(
        ctx,
        "code.rename",
        {"code": code, "renames": renames},
        expected,
        probe_kind="code.rename",
        code=code,
        renames=renames,
        has_strings="'" in code,
        is_function=code.startswith("def "),
    )


INT_EXPRS = [
    "$x * 2",
    "$x + %1",
    "$x ** 2",
    "-$x",
    "$x // 2",
    "$x % 10",
    "abs($x)",
    "str($x)",
    "$x * $x + 1",
    "$x - %1",
]
INT_CONDS = ["$x > %1", "$x % 2 == 0", "$x % 2 == 1", "$x != 0", "$x < %1", "$x % 3 == 0"]
STR_EXPRS = [
    "$x.upper()",
    "$x.lower()",
    "len($x)",
    "$x[0]",
    "$x + '!'",
    "$x.strip()",
    "$x[::-1]",
    "$x.title()",
]
STR_NUM_EXPRS = ["len($x)", "$x.count('a')"]
STR_CONDS = ["len($x) > %1", "$x.startswith('%c')", "$x != ''", "$x.isalpha()", "'%c' in $x"]
INT_SOURCES = ["nums", "values", "scores", "counts", "sizes", "ages", "prices", "readings"]
STR_SOURCES = ["words", "names", "tags", "labels", "lines", "titles", "keys", "tokens"]
INT_VARS = ["x", "n", "v", "num", "value", "k"]
STR_VARS = ["w", "s", "word", "name", "tag", "item"]
OUT_NAMES = [
    "result",
    "out",
    "squares",
    "doubled",
    "lengths",
    "mapped",
    "picked",
    "kept",
    "table",
    "lookup",
    "totals",
    "upper_words",
    "short",
    "clean",
]
ACC_NAMES = ["total", "acc", "score", "length_sum", "running", "count"]


def _loop(ctx: ItemContext, r: random.Random, d: int) -> Draw | None:
    construct = r.choice(["list", "list", "dict", "sum"])
    typ = r.choice(["int", "str"])
    xs = r.choice(INT_SOURCES if typ == "int" else STR_SOURCES)
    x = r.choice(INT_VARS if typ == "int" else STR_VARS)
    if construct == "sum":
        expr = r.choice(INT_EXPRS[:7] if typ == "int" else STR_NUM_EXPRS)
        expr = expr if expr != "str($x)" else "$x * 2"
        out = r.choice(ACC_NAMES)
    else:
        expr = r.choice(INT_EXPRS if typ == "int" else STR_EXPRS)
        out = r.choice(OUT_NAMES)
    filtered = MAX_DEPTH >= 2 and d >= 2 and r.random() < 0.5
    cond = r.choice(INT_CONDS if typ == "int" else STR_CONDS) if filtered else None

    def sub(s: str) -> str:
        s = s.replace("$x", x).replace("%1", str(r1)).replace("%c", c)
        return s

    r1 = r.randint(1, 9) if typ == "str" else r.randint(2, 50)
    c = r.choice("aeiost")
    e = sub(expr)
    cnd = sub(cond) if cond else None
    tail = f" if {cnd}" if cnd else ""
    if construct == "list":
        comp = [f"{out} = [{e} for {x} in {xs}{tail}]"]
        init, body = f"{out} = []", f"{out}.append({e})"
    elif construct == "dict":
        comp = [f"{out} = {{{x}: {e} for {x} in {xs}{tail}}}"]
        init, body = f"{out} = {{}}", f"{out}[{x}] = {e}"
    else:
        comp = [f"{out} = sum({e} for {x} in {xs}{tail})"]
        init, body = f"{out} = 0", f"{out} += {e}"
    loop = [init, f"for {x} in {xs}:"] + (
        [f"    if {cnd}:", f"        {body}"] if cnd else [f"    {body}"]
    )
    before: list[str] = []
    after: list[str] = []
    if d >= 2 and r.random() < 0.7:
        if typ == "int":
            lit = ", ".join(str(r.randint(-5 if d >= 4 else 0, 60)) for _ in range(r.randint(3, 6)))
        else:
            lit = ", ".join(
                f"'{w}'"
                for w in r.sample(
                    ["ant", "bee", "owl", "fox", "elk", "yak", "cat", "emu", "gnu", "asp"],
                    r.randint(3, 5),
                )
            )
        before.append(f"{xs} = [{lit}]")
    if d >= 2 and r.random() < 0.6:
        after.append(r.choice([f"print({out})", f"print(len({xs}), {out})"]))
    direction = r.choice(["to_comp", "to_loop"])
    src, dst = (loop, comp) if direction == "to_comp" else (comp, loop)
    code = _indent("\n".join(before + src + after))
    expected = _indent("\n".join(before + dst + after))
    return make_draw(
        ctx,
        f"code.{direction}",
        {"code": code, "direction": direction, "construct": construct},
        expected,
        probe_kind=f"code.{direction}.{construct}",
        code=code,
        direction=direction,
        construct=construct,
        filtered=filtered,
        out_name=out,
        src_name=xs,
        item_type=typ,
        context_lines=bool(before or after),
    )


@dataclass(frozen=True)
class Params:
    mode: str = choices("rename", "loop")


def _norm(s: str) -> str:
    """Code is compared by its syntax tree, so layout and quoting do not matter."""
    s = s.strip()
    if s.startswith("```"):
        s = s.split("\n", 1)[1].rsplit("```", 1)[0]
    return python_ast(s)


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def code_transform(ctx: ItemContext) -> Draw:
    """Rename variables in, or convert loops/comprehensions of, a small Python snippet."""
    d = level(ctx)
    make = _rename if ctx.params.mode == "rename" else _loop
    return retry(ctx, lambda r: make(ctx, r, d))
