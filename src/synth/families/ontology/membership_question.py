"""Is an entity a member of a kind? Yes through the taxonomy chain, no otherwise."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import entity_view, question_entity, step_view


@family("membership_question", kind="ontology")
def membership_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    e = entity_view(w, w.entities[question_entity(ctx)].id)
    chain = [e["kind"], *e["ancestors"]]
    if ctx.rng.random() < 0.65:
        kind = chain[min(len(chain) - 1, ctx.rng.randint(0, ctx.difficulty))]
    else:
        kinds = w.kind_list
        kind = chain[-1]
        if len(kinds) > len(chain):
            while kind in chain:  # a kind outside the being's chain (most kinds are)
                kind = kinds[ctx.rng.randrange(len(kinds))]
    query = (e["name"], "is_a", kind)
    formal = w.support_formal(query, context=[(e["name"], "is_a", e["kind"])])
    answer = formal["answer"]
    depth = len(formal["proof"])
    kind_label = (
        "negative" if answer == "false" else ("stated" if depth == 0 else f"derived-depth-{depth}")
    )
    return Draw(
        vars={
            "e": e,
            "target": kind,
            "chain": chain,
            "answer": answer,
            "steps": [step_view(s) for s in formal["proof"]],
        },
        answer=answer,
        formal=formal,
        difficulty=max(1, depth),
        probe_kind=kind_label,
    )
