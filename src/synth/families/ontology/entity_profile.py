"""A profile of one being: kind, attributes, relations in both directions, and (with
`params.derived`) what its kinds make true of it. Biographies, registry cards, articles,
quizzes, flashcards, interviews and fill-in-the-blank sheets all render it: the same
facts, studied in different ways."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, between, family
from synth.families.ontology.common import (
    both_ways,
    document_formal,
    entity_view,
    introduced_or_known,
    own_props,
    question_entity,
)


@dataclass(frozen=True)
class Params:
    intro_passes: int = between(2, 1, 100)  # times over each new entity before revisiting
    derived: bool = True  # state what the entity's kinds make true of it
    shuffle: bool = True  # sentence order shuffled (false: fixed, an ablation)
    fullnames: bool = True  # the full name in every sentence (false: pronouns, an ablation)
    # true: the document asks about the being (a quiz, flashcards, a dialogue): like a
    # question, it is about a stated being and never one held out for the eval probes
    asks: bool = False


@family("entity_profile", kind="ontology", params=Params)
def entity_profile(ctx: ItemContext) -> Draw:
    w = ctx.world
    n = len(w.entities)
    if ctx.params.asks:
        i = question_entity(ctx)
    else:
        i = introduced_or_known(ctx, n, ctx.scope.introduce_entities, ctx.scope.known_entities)
    e = entity_view(w, w.entities[i].id)
    states = [tuple(f) for f in e["facts"]] + both_ways(w, e["links"])
    props = own_props(w, e["name"]) if ctx.params.derived else []
    e["props"] = props
    states += [tuple(p["fact"]) for p in props]
    e["all_facts"] = [list(f) for f in states]
    # Efficacy ablations: `params.shuffle: false` keeps sentence order fixed,
    # `params.fullnames: false` names the entity in the first sentence only.
    return Draw(
        vars={"e": e, "shuffled": ctx.params.shuffle, "fullnames": ctx.params.fullnames},
        formal=document_formal(w, states, about=e["name"]),
        difficulty=1,
    )
