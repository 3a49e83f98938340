"""A question about a stated attribute: colour, home, trade, or what kind a being is."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, family, words
from synth.families.ontology.common import entity_view, question_entity


@dataclass(frozen=True)
class Params:
    attrs: tuple[str, ...] | None = words()  # attributes asked about (default: all, and the kind)


@family("attribute_question", kind="ontology", params=Params)
def attribute_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    e = entity_view(w, w.entities[question_entity(ctx)].id)
    # Whatever this world records about its entities (a user world has its own attributes).
    attrs = [
        a
        for a in (
            ctx.params.attrs
            if ctx.params.attrs is not None
            else [a["name"] for a in e["attrs"]] + ["is_a"]
        )
        if a == "is_a" or a in e
    ]
    attr = attrs[ctx.rng.randrange(len(attrs))]
    value = e["kind"] if attr == "is_a" else e[attr]
    formal = w.support_formal((e["name"], attr, value))
    formal["query"] = [e["name"], attr, "?v"]
    formal["answer"] = value
    return Draw(
        vars={"e": e, "attr": attr, "value": value},
        answer=value,
        formal=formal,
        difficulty=1,
        probe_kind="stated",
    )
