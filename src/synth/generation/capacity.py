"""Capacity: what a world and its templates can say, before anything is drawn.

A corpus that tells each fact of its world more often than the tier's design allows
(`renderings`, the top of its band) repeats itself: past that point the dedup filters
reject most of what is drawn and the run spends hours making nothing (the zoo world of
docs/worlds.md rejected 84% at 5M tokens; the Turtle example 97.5%). So capacity is
computed first and a budget above it is refused with the number, unless the user asks
for repetition (`--allow-repeat`):

    capacity = facts the world holds (stated and derived)
             x the design's most renderings per fact
             x tokens per rendering (measured on the tier's documents over this world)

and the same for a stage that `covers: [kinds]` against the facts about kinds. Facts
are counted exactly for a user's world (its closure) and, for a fictional world of a
million beings, from a sample of beings (their closures) scaled to the world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from synth.curriculum.tier import TierConfig
from synth.families.base import Scope
from synth.templating import TemplateLibrary
from synth.templating.item import render_item
from synth.tokenizer import Tokenizer
from synth.units import human
from synth.world.model import World

SAMPLE_BEINGS = 200  # beings whose facts are counted in a large world
SAMPLE_DOCUMENTS = 48  # documents rendered to measure tokens per rendering


@dataclass
class Capacity:
    facts: int  # about beings (and places)
    kind_facts: int  # about kinds: their place in the taxonomy, their properties
    renderings: int  # the design's most renderings per fact
    tokens_per_rendering: float

    @property
    def tokens(self) -> int:
        return int((self.facts + self.kind_facts) * self.renderings * self.tokens_per_rendering)

    @property
    def kind_tokens(self) -> int:
        return int(self.kind_facts * self.renderings * self.tokens_per_rendering)

    def to_json(self) -> dict[str, Any]:
        return {
            "facts": self.facts,
            "kind_facts": self.kind_facts,
            "renderings_max": self.renderings,
            "tokens_per_rendering": round(self.tokens_per_rendering, 2),
            "tokens": self.tokens,
        }

    def describe(self) -> str:
        return (
            f"{self.facts + self.kind_facts:,} facts x {self.renderings} renderings x "
            f"{self.tokens_per_rendering:.1f} tokens = {human(self.tokens)} tokens"
        )


def world_facts(world: World) -> tuple[int, int]:
    """(facts about beings and places, facts about kinds) the world holds."""
    n = len(world.entities)
    # A kind's facts: its parent, and every property it has, its own and inherited
    # ("every krovex is venomous", as krovexes are glorpuses): what kind entries state.
    props: dict[str, int] = {}
    for k, parent in world.kinds.items():  # parents first in every world synth builds
        props[k] = (
            len(world.kind_props.get(k, [])) + props.get(parent, 0)
            if parent
            else len(world.kind_props.get(k, []))
        )
    kind_facts = sum(1 + n_props for n_props in props.values()) + len(world.world_rules)
    if n <= SAMPLE_BEINGS:
        beings = sum(len(world.facts_about(e.id)) for e in world.entities)
        scale = 1.0
    else:
        rng = random.Random(0)
        picks = rng.sample(range(n), SAMPLE_BEINGS)
        beings = sum(len(world.facts_about(world.entities[i].id)) for i in picks)
        scale = n / SAMPLE_BEINGS
    places = (
        sum(len(v) for v in world.place_facts.values())
        if len(world.place_facts) < 5000
        else (4 * len(world.place_facts))
    )
    return int(beings * scale) + places, kind_facts


def tokens_per_rendering(
    tier: TierConfig, lib: TemplateLibrary, world: World, tok: Tokenizer, lang: str = "en"
) -> float:
    """Tokens a document of this tier spends per fact it states, over this world: a
    fixed sample of the tier's document templates (by weight), rendered and counted."""
    docs = [
        t for t in tier.templates
        if lib.spec(t).shape == "document" and lib.spec(t).kind == "ontology" and lang in lib.langs(t)
    ]  # fmt: skip
    if not docs:
        return 20.0
    weights = [tier.templates[t] for t in docs]
    rng = random.Random(0)
    scope = Scope(
        known_entities=len(world.entities),
        known_kinds=len(world.kinds),
        introduce_entities=(0, len(world.entities)),
        introduce_kinds=(0, len(world.kinds)),
    )
    tokens = states = 0
    for i in range(SAMPLE_DOCUMENTS):
        tid = rng.choices(docs, weights)[0]
        spec = lib.spec(tid, lang)
        s = render_item(lib, spec, world, random.Random(i), 2, scope, position=10**6 + i)
        told = len((s.draw.formal or {}).get("states") or []) + len(
            (s.draw.formal or {}).get("rules") or []
        )
        if told and s.text:
            tokens += tok.count([s.text])[0]
            states += told
    return tokens / states if states else 20.0


def measure(tier: TierConfig, lib: TemplateLibrary, world: World, tok: Tokenizer,
            lang: str = "en") -> Capacity:  # fmt: skip
    facts, kind_facts = world_facts(world)
    return Capacity(
        facts, kind_facts, tier.renderings[1], tokens_per_rendering(tier, lib, world, tok, lang)
    )
