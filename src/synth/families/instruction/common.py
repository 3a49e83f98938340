"""What the instruction (command-tier) families share: word pools, the Draw they
return, and the scorers.

Every pool is built once at import, so drawing an item is a handful of `rng` calls.
Every expected output is *render-safe*: the renderer tidies each message (strips line
ends, collapses runs of blank lines and of spaces), so an expected text that survives
that tidying verbatim is one that has no leading/trailing blanks, no `[ \\t]{2,}` run
except indentation, and no three newlines.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable
from typing import Any

from synth.families.base import Draw, ItemContext
from synth.filters.answer import stated_answer
from synth.world.names import ONSETS, VOWELS

# The renderer keeps indentation and fenced blocks as written (templating._finish), so
# code is indented with 4 spaces, JSON may be pretty-printed and YAML may use blocks.
_BLANK_RUN = re.compile(r"[ \t]{2,}")


def render_safe(text: str, *, indented: bool = False) -> bool:
    """True when `text` comes out of the renderer unchanged (and is not empty)."""
    if not text or text != text.strip() or "\n\n\n" in text:
        return False
    if any(ln != ln.rstrip() for ln in text.split("\n")):
        return False
    if indented:
        return True
    return _BLANK_RUN.search(text) is None


# -- word pools ----------------------------------------------------------------------------

WORDS = """
apple river stone cloud garden window silver candle forest market button pencil rocket
basket mirror ladder island meadow harbor lantern engine pocket velvet marble thunder
copper bridge castle planet butter tiger falcon violet orange yellow purple quiet brave
gentle swift happy clever bright early simple random golden hidden frozen wooden little
ancient modern narrow silent broken hollow jump write carry build paint listen follow
gather wander whisper dance climb borrow travel repair measure sketch kettle blanket
coffee pepper turtle rabbit monkey dragon spider parrot lemon cherry grape melon potato
carrot onion cookie muffin bottle jacket helmet saddle anchor compass needle hammer
shovel tunnel valley desert canyon glacier summit puzzle riddle letter number signal
method vector matrix buffer cursor folder socket server client token string record
column table chart graph model field value index cache query batch sample winter summer
spring autumn morning evening night crystal shadow feather pebble ribbon thimble walnut
pillow carpet curtain saucer teapot bucket camera ticket rocket magnet orbit comet
cactus tulip maple cedar willow acorn badger otter beaver walrus pigeon heron beetle
cricket lizard salmon oyster pirate wizard knight farmer sailor tailor baker doctor
mellow fuzzy sturdy crisp dusty stormy sunny windy rusty shiny plain proud calm bold
""".split()
WORDS = list(dict.fromkeys(WORDS))

# Short words a phrase can use (no vowel-only words: removing vowels never empties one).
SHORT_WORDS = [w for w in WORDS if len(w) <= 6]

# Pieces of programmer identifiers; none is a Python keyword or builtin on its own.
IDENT_WORDS = """
user name count total item index path size value key data result score price limit
offset page line word text node parent child level depth width height color flag mode
state status error retry timeout delay start end step row col cell grid temp rate amount
order target source buffer cache queue stack total label title owner group region
weight factor ratio speed angle point span chunk frame block layer entry token
""".split()
IDENT_WORDS = list(dict.fromkeys(IDENT_WORDS))

CODAS = [
    "",
    "",
    "",
    "n",
    "r",
    "l",
    "m",
    "s",
    "k",
]  # world.names' codas and k: identifiers, not names
_YAML_SPECIAL = {"null", "true", "false", "yes", "no", "on", "off", "none", "nan", "inf"}


def _nonce_pool(n: int, seed: int) -> list[str]:
    r = random.Random(seed)
    real = set(WORDS) | set(IDENT_WORDS) | _YAML_SPECIAL
    out: dict[str, None] = {}
    while len(out) < n:
        k = 1 + (r.random() < 0.7) + (r.random() < 0.15)
        w = "".join(r.choice(ONSETS) + r.choice(VOWELS) + r.choice(CODAS) for _ in range(k))
        if 3 <= len(w) <= 9 and w not in real:
            out[w] = None
    return list(out)


NONCE = _nonce_pool(3000, 20240611)
NONCE_SHORT = [w for w in NONCE if len(w) <= 6]
NAMES = [w.capitalize() for w in NONCE if 4 <= len(w) <= 7][:1200]
PLACE_ENDINGS = ["mora", "vale", "holm", "grad", "wick", "ford", "aro", "eth"]
PLACES = [
    (w + e).capitalize()
    for w, e in zip(NONCE_SHORT, PLACE_ENDINGS * 400, strict=False)
    if len(w) <= 5
][:600]
LANG_SUFFIXES = ["ish", "ese", "ic", "an", "i", "ar"]


# -- the Draw -------------------------------------------------------------------------------


def make_draw(
    ctx: ItemContext,
    task: str,
    inp: Any,
    expected: str,
    probe_kind: str | None = None,
    *,
    formal_steps: list[str] | None = None,
    **variables: Any,
) -> Draw:
    """A Draw whose answer is `expected` and whose formal form is {task, input, expected},
    plus `steps` (`formal_steps`) when the family computes a worked trace: the state after
    each step, exactly as a template writes it (the steps filter reads a text's trace
    against it).

    Templates get `expected` and `multiline` (end with `Answer: ...` only when False)."""
    variables["expected"] = expected
    variables["multiline"] = "\n" in expected
    formal: dict[str, Any] = {"task": task, "input": inp, "expected": expected}
    if formal_steps is not None:
        formal["steps"] = formal_steps
    return Draw(
        vars=variables,
        answer=expected,
        formal=formal,
        difficulty=ctx.difficulty,
        probe_kind=probe_kind or task,
    )


def level(ctx: ItemContext, lo: int = 1, hi: int = 8) -> int:
    return min(max(int(ctx.difficulty), lo), hi)


def retry(ctx: ItemContext, make: Callable[[random.Random], Draw | None], tries: int = 50) -> Draw:
    """Draw until `make` returns a Draw (it returns None for an unusable item)."""
    for _ in range(tries):
        d = make(ctx.rng)
        if d is not None:
            return d
    raise RuntimeError(f"could not draw a usable item at difficulty {ctx.difficulty}")


def choose(rng: random.Random, options: list, ok: Callable[[Any], bool], tries: int = 40) -> Any:
    """A uniformly random option among those `ok` accepts (by rejection: cheaper than
    testing every option when most are fine), or None."""
    for _ in range(tries):
        x = rng.choice(options)
        if ok(x):
            return x
    return None


# -- scoring --------------------------------------------------------------------------------

_FENCE = re.compile(r"```[^\n`]*\n(.*?)\n?```", re.S)


def _variants(s: str) -> list[str]:
    """A reply's answer as written, and without Markdown bold or backticks around it."""
    s = s.strip()
    out = [s]
    for mark in ("**", "__", "`"):
        if len(s) > 2 * len(mark) and s.startswith(mark) and s.endswith(mark):
            out.append(s[len(mark) : -len(mark)].strip())
    return out


def candidates(reply: str, expected: str, lang: str = "en") -> list[str]:
    """What in a reply may be the answer: the last `Answer:` line (read as the answer
    filter reads it) for a one-line expected output, the fenced blocks for a multi-line
    one; the whole reply too."""
    reply = reply.strip()
    if "\n" not in expected.strip():
        stated = stated_answer(reply, lang)
        if stated is not None:
            return _variants(stated)
        blocks = [b.strip() for b in _FENCE.findall(reply)]
        return _variants(reply) + blocks[-1:]
    blocks = [b.strip("\n") for b in _FENCE.findall(reply)]
    return blocks + [reply]


def scorer(normalise: Callable[[str], Any] | None = None) -> Callable[..., bool]:
    """A family's `score(reply, expected, lang="en") -> bool`: the reply's answer (see
    `candidates`) equals the expected output once both are normalised (exactly, with
    case, unless `normalise` says otherwise)."""

    def norm(s: str) -> Any:
        s = "\n".join(ln.rstrip() for ln in s.strip().split("\n"))
        if normalise is None:
            return s
        try:
            return normalise(s)
        except Exception:  # an unparsable reply is simply wrong
            return ("<unparsable>", s)

    def score(reply: str, expected: str, lang: str = "en") -> bool:
        if not isinstance(reply, str) or not isinstance(expected, str):
            return False
        want = norm(expected)
        return any(norm(c) == want for c in candidates(reply, expected, lang))

    return score


exact_score = scorer()


def python_ast(s: str) -> str:
    return ast.dump(ast.parse(s))
