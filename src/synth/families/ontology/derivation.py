"""What follows about an entity: each derived fact with the steps that give it.
This is how derived facts become learnable, not just measurable."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import derived_about, document_formal, step_view


@family("derivation", kind="ontology", applies=lambda w: w.derived_any())
def derivation(ctx: ItemContext) -> Draw:
    w = ctx.world
    known = max(1, min(ctx.scope.known_entities, len(w.entities)))
    eid = w.entities[ctx.rng.randrange(known)].id
    c = w.closure_of(eid)
    facts = derived_about(w, eid)
    facts = sorted(facts, key=lambda f: (c.depth(f), f))[: 6 + ctx.difficulty]
    items = [
        {"fact": list(f), "steps": [step_view(s) for s in c.proof(f)], "depth": c.depth(f)}
        for f in facts
    ]
    return Draw(
        vars={"entity": eid, "kind": w.entity_by_id[eid].kind, "items": items},
        formal=document_formal(w, facts, about=eid),
        difficulty=max((x["depth"] for x in items), default=1),
    )
