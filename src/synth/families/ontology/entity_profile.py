"""A profile of one entity: kind, attributes, relations in both directions, and (with
`params.derived`) what its kinds make true of it."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, between, family
from synth.families.ontology.common import document_formal, entity_view, introduced_or_known
from synth.world.model import HAS


@dataclass(frozen=True)
class Params:
    intro_passes: int = between(2, 1, 100)  # times over each new entity before revisiting
    derived: bool = True  # state what the entity's kinds make true of it
    shuffle: bool = True  # sentence order shuffled (false: fixed, an ablation)
    fullnames: bool = True  # the full name in every sentence (false: pronouns, an ablation)


@family("entity_profile", kind="ontology", params=Params)
def entity_profile(ctx: ItemContext) -> Draw:
    w = ctx.world
    n = len(w.entities)
    i = introduced_or_known(ctx, n, ctx.scope.introduce_entities, ctx.scope.known_entities)
    e = entity_view(w, w.entities[i].id)
    states = [(e["name"], "is_a", e["kind"])] + [
        (e["name"], a["name"], a["value"]) for a in e["attrs"]
    ]
    states += [tuple(link["fact"]) for link in e["links"]]
    # Both directions of every relation: the inverse (or symmetric) reading is stated too.
    for link in e["links"]:
        rel = w.relations[link["fact"][1]]
        s, _, o = link["fact"]
        if rel.inverse:
            states.append((o, rel.inverse, s))
            link["inverse"] = rel.inverse
        elif rel.symmetric:
            states.append((o, rel.id, s))
    props = []
    if ctx.params.derived:
        c = w.closure
        for f in w.facts_about.get(e["name"], []):
            # Only what follows from this entity's own facts: a property that rests on
            # another entity's facts is left to the documents that state those.
            if f[1] in (HAS, "not:" + HAS) and all(x[0] == e["name"] for x in c.support(f)[0]):
                steps = c.proof(f)
                props.append(
                    {
                        "name": f[2],
                        "holds": f[1] == HAS,
                        "via": _via(w, f),
                        "depth": c.depth(f),
                        "steps": len(steps),
                    }
                )
                states.append(f)
    e["props"] = props
    formal = document_formal(w, states)
    # Efficacy ablations: `params.shuffle: false` keeps sentence order fixed,
    # `params.fullnames: false` names the entity in the first sentence only.
    return Draw(
        vars={
            "e": e,
            "shuffled": ctx.params.shuffle,
            "fullnames": ctx.params.fullnames,
        },
        formal=formal,
        difficulty=1,
    )


def _via(w, fact) -> str:
    """The kind whose rule gives the property (or 'rule' for a world rule)."""
    why = w.closure.why[fact]
    if why is None:
        return ""
    rid = why[0]
    return rid.split(":", 1)[0] if ":" in rid else "rule"
