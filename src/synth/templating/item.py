"""One item, drawn and rendered: the one path from `(template, world, rng)` to text.

The generator, the eval probes, `synth templates render` and `validate`, and the tests
all take this path, so what a preview shows is what a run writes: the family draws the
item's variables from the item's own generator, and the template renders them together
with the item helpers (`pick`, `shuffle`, ...), the world's names in the template's
language and the world's relations.
"""

from __future__ import annotations

import functools
import random
from collections import defaultdict
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from synth.families import ItemContext, get_family
from synth.families.base import Draw, Scope
from synth.templating.helpers import item_globals
from synth.templating.library import TemplateLibrary
from synth.templating.spec import TemplateSpec
from synth.wording import wording_for
from synth.world.model import World


@dataclass
class Sample:
    """A drawn item and its render: `text` for a document, `messages` for a chat."""

    draw: Draw
    text: str | None
    messages: list[dict[str, str]] | None

    @property
    def response(self) -> str:
        """What states the answer: the last assistant message, or the document."""
        if self.messages is not None:
            return next(
                (m["content"] for m in reversed(self.messages) if m["role"] == "assistant"), ""
            )
        return self.text or ""


def render_item(
    lib: TemplateLibrary,
    spec: TemplateSpec,
    world: World | None,
    rng: random.Random,
    difficulty: int,
    scope: Scope | None = None,
    *,
    split: str = "train",
    position: int = 0,
    seconds: defaultdict[str, float] | None = None,
) -> Sample:
    """Draw one item of `spec`'s family and render it. `difficulty` is clamped to the
    template's band; `scope` (default: the whole world known) says which entities the
    item may use; `seconds`, when given, gains the time spent drawing and rendering."""
    lo, hi = spec.difficulty
    if scope is None:
        scope = (
            Scope(known_entities=len(world.entities), known_kinds=len(world.kinds))
            if world is not None
            else Scope()
        )
    fam = get_family(spec.family, spec.where("family"))
    ctx = ItemContext(
        rng=rng,
        world=world,
        difficulty=min(max(difficulty, lo), hi),
        params=family_params(spec),
        lang=spec.lang,
        split=split,
        scope=scope,
        position=position,
    )
    t0 = perf_counter()
    draw = fam.fn(ctx)
    t1 = perf_counter()
    variables = {
        **draw.vars,
        **item_globals(rng),
        "difficulty": draw.difficulty,
        "lang": spec.lang,
        "names": world.names.get(spec.lang, {}) if world is not None else {},
        "relations": world.relations if world is not None else {},
    }
    if spec.kind == "ontology":
        fullnames = getattr(ctx.params, "fullnames", True)
        variables["say"] = wording_for(spec.lang, rng, world, fullnames=fullnames)
    text, messages = lib.render(spec.id, variables, spec.lang)
    if seconds is not None:
        seconds["sample"] += t1 - t0
        seconds["render"] += perf_counter() - t1
    return Sample(draw, text, messages)


def family_params(spec: TemplateSpec) -> Any:
    """The template's `params:` as its family's Params: validated once per template, a
    one-line error naming the file and line otherwise."""
    if spec.checked_params is None:
        fam = get_family(spec.family, spec.where("family"))
        spec.checked_params = fam.parse_params(spec.params, spec.where("params"))
    return spec.checked_params


def sample_world(seed: int, world_file: str | None = None) -> World:
    """The user's world if one is given, else a fictional one for the seed: what a
    preview or a validation renders over."""
    if world_file:
        from synth.world import load_world

        return load_world(world_file, seed)
    return _fictional_world(seed)


@functools.lru_cache(maxsize=4)
def _fictional_world(seed: int) -> World:
    # Validating or previewing several templates reuses the same few sample worlds.
    from synth.world.fictional import build_world

    return build_world(seed)
