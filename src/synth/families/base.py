"""The contract between item generators and the pipeline.

Read docs/templates.md (the full contract: answer line conventions, the `formal`
schema, what templates may call, how tests render an item).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from synth.errors import UserError
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
    params: dict[str, Any]
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


@dataclass
class Family:
    name: str
    kind: str
    fn: Callable[[ItemContext], Draw]
    doc: str = ""
    probe_kinds: tuple[str, ...] = field(default_factory=tuple)
    # Whether the family has anything to say about a world (a user's world may lack
    # relation chains, say); templates of families that do not apply are left out.
    applies: Callable[[World], bool] | None = None


FAMILIES: dict[str, Family] = {}


def family(name: str, kind: str, applies: Callable[[World], bool] | None = None):
    """Register an item generator under `name` (what a template's `family:` names)."""

    def deco(fn: Callable[[ItemContext], Draw]) -> Callable[[ItemContext], Draw]:
        if name in FAMILIES:
            raise RuntimeError(f"family {name!r} registered twice")
        FAMILIES[name] = Family(name, kind, fn, (fn.__doc__ or "").strip(), applies=applies)
        return fn

    return deco


def get_family(name: str, where: str = "") -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(sorted(FAMILIES))
        raise UserError(f"{where}: unknown family {name!r}; known families: {known}") from None
