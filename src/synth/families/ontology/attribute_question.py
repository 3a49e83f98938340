"""A question about a stated attribute: colour, home, trade, birthplace and year, height,
weight, or what kind a being is. A multi-valued attribute (the languages a being speaks)
is asked as yes or no about one value: a value it has, or one it has not (closed
world)."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, family, words
from synth.families.ontology.common import entity_view, question_entity


@dataclass(frozen=True)
class Params:
    attrs: tuple[str, ...] | None = words()  # attributes asked about (default: all, and the kind)


@family("attribute_question", kind="ontology", params=Params, applies=lambda w: len(w.entities) > 0)
def attribute_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    e = entity_view(w, w.entities[question_entity(ctx)].id)
    names = [a["name"] for a in e["attrs"]] + ["is_a"]
    attrs = [a for a in (ctx.params.attrs if ctx.params.attrs is not None else names) if a in names]
    attr = attrs[ctx.rng.randrange(len(attrs))] if attrs else "is_a"
    value = e["kind"] if attr == "is_a" else e[attr]
    if isinstance(value, list):  # several values: yes or no about one
        return _one_of(ctx, e, attr, value)
    formal = w.support_formal((e["name"], attr, value))
    formal["query"] = [e["name"], attr, "?v"]
    formal["answer"] = value
    return Draw(
        vars={"e": e, "attr": attr, "value": value, "asked": None, "answer": value},
        answer=value,
        formal=formal,
        difficulty=1,
        probe_kind="stated",
    )


def _one_of(ctx: ItemContext, e: dict, attr: str, values: list[str]) -> Draw:
    w = ctx.world
    others = (
        sorted({v for v in w.values_of(attr) if v not in values}) if hasattr(w, "values_of") else []
    )
    if others and ctx.rng.random() < 0.5:
        asked = others[ctx.rng.randrange(len(others))]
    else:
        asked = values[ctx.rng.randrange(len(values))]
    query = (e["name"], attr, asked)
    formal = w.support_formal(query, context=[(e["name"], attr, v) for v in values])
    answer = formal["answer"]
    return Draw(
        vars={"e": e, "attr": attr, "value": values, "asked": asked, "answer": answer},
        answer=answer,
        formal=formal,
        difficulty=1,
        probe_kind="stated" if answer == "true" else "negative",
    )
