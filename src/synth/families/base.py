"""The contract between item generators and the pipeline, reasoning-gym style.

A family registers with `@family(name, kind, params=Params, score=...)`:

- `fn(ctx) -> Draw` draws one item from the item's own `ctx.rng`: the variables its
  templates render, the gold answer, the `formal` form the answer was computed from;
- `params` is a frozen dataclass of the knobs a template may set in its front matter
  (`params: {mode: cipher}`), validated when the template is first used: an unknown key,
  a wrong type or a value outside its choices is a one-line error naming the template's
  file and line, never another task drawn silently;
- `score(reply, gold, lang) -> bool` says whether a reply states the gold answer. It reads
  the reply as the answer filter, `synth eval` and `synth efficacy` do
  (`synth.filters.answer`), so "correct" means one thing everywhere; a family may accept
  more spellings of the same value (JSON with other spacing, equivalent code).

docs/templates.md has the whole contract: answer lines, the `formal` schema, what
templates may call.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synth.errors import UserError
from synth.filters.answer import reply_correct
from synth.world.model import World


@dataclass
class Scope:
    """Which part of the world an item may draw on (fact-level curriculum layering).

    `introduce` lists entity (or kind) indices this unit must state first; `known`
    is how many entities are stated by earlier units, so questions only ask about
    those; `held_out(i)` entities are kept for the eval probes' questions.
    """

    known_entities: int = 0
    known_kinds: int = 0
    introduce_entities: tuple[int, int] = (0, 0)
    introduce_kinds: tuple[int, int] = (0, 0)
    holdout_every: int = 5

    def held_out(self, entity_index: int) -> bool:
        return self.holdout_every > 0 and entity_index % self.holdout_every == 0


@dataclass
class ItemContext:
    rng: random.Random
    world: World | None
    difficulty: int
    params: Any  # the family's Params instance, as the template set it
    lang: str
    split: str  # "train" or "eval"
    scope: Scope
    position: int  # the item's index within its unit and template (0, 1, 2, ...)


@dataclass
class Draw:
    vars: dict[str, Any]
    answer: str | None = None
    formal: dict | None = None
    difficulty: int = 1
    probe_kind: str | None = None


@dataclass(frozen=True)
class NoParams:
    """A family without knobs."""


def choices(default: Any, *allowed: Any) -> Any:
    """A param that takes one of `allowed` (the default first)."""
    return field(default=default, metadata={"choices": (default, *allowed)})


def share(default: float) -> Any:
    """A param that is a probability in [0, 1]."""
    return field(default=default, metadata={"range": (0.0, 1.0)})


def between(default: int, lo: int, hi: int) -> Any:
    """A whole-number param in [lo, hi]."""
    return field(default=default, metadata={"range": (lo, hi)})


def words(default: tuple[str, ...] | None = None) -> Any:
    """A param that is a list of names (None: the family's own choice)."""
    return field(default=default, metadata={"words": True})


def default_score(reply: str, gold: str, lang: str = "en") -> bool:
    """The reply's last `Answer:` line states the gold (synth.filters.answer's reading)."""
    return reply_correct(reply, gold, lang)[1]


Score = Callable[[str, str, str], bool]


@dataclass
class Family:
    name: str
    kind: str
    fn: Callable[[ItemContext], Draw]
    doc: str = ""
    params: type = NoParams
    score: Score = default_score
    # Whether the family has anything to say about a world (a user's world may lack
    # relation chains, say); templates of families that do not apply are left out.
    applies: Callable[[World], bool] | None = None

    def parse_params(self, raw: dict[str, Any], where: str) -> Any:
        """The template's `params:` as this family's Params, or a one-line UserError that
        names `where` (the template's file:line) and the key."""
        fields = {f.name: f for f in dataclasses.fields(self.params)}
        for key in raw:
            if key not in fields:
                known = ", ".join(fields) or "none"
                raise UserError(
                    f"{where}: params: unknown key {key!r} for family {self.name!r} (known: {known})"
                )
        for key, value in raw.items():
            problem = _check(fields[key], value)
            if problem:
                raise UserError(f"{where}: params: {key!r} {problem}, got {_show(value)}")
        try:
            return self.params(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            )
        except (TypeError, ValueError) as e:
            raise UserError(f"{where}: params: {e}") from None


def _check(f: dataclasses.Field, value: Any) -> str | None:
    meta, default = f.metadata, f.default
    if "choices" in meta:
        allowed = meta["choices"]
        ok = any(value == a and type(value) is type(a) for a in allowed)
        return None if ok else f"must be one of {', '.join(map(str, allowed))}"
    if meta.get("words"):
        ok = isinstance(value, list) and all(isinstance(x, str) for x in value)
        return None if ok else "must be a list of names"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, (int, float)):
        whole = isinstance(default, int)
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
            return "must be a whole number" if whole else "must be a number"
        lo, hi = meta.get("range", (None, None))
        if lo is not None and not lo <= value <= hi:
            return f"must be in [{lo}, {hi}]"
        return None
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be a string"
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


FAMILIES: dict[str, Family] = {}


def family(
    name: str,
    kind: str,
    *,
    params: type = NoParams,
    score: Score = default_score,
    applies: Callable[[World], bool] | None = None,
):
    """Register an item generator under `name` (what a template's `family:` names)."""

    def deco(fn: Callable[[ItemContext], Draw]) -> Callable[[ItemContext], Draw]:
        if name in FAMILIES:
            raise RuntimeError(f"family {name!r} registered twice")
        doc = (fn.__doc__ or "").strip()
        FAMILIES[name] = Family(name, kind, fn, doc, params, score, applies)
        return fn

    return deco


def get_family(name: str, where: str = "") -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(sorted(FAMILIES))
        raise UserError(f"{where}: unknown family {name!r}; known families: {known}") from None
