"""Does a property hold of an entity? Open world: true and false both need a proof
(inheritance down the taxonomy, world rules); otherwise the answer is unknown."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import entity_view, question_entity, step_view
from synth.vocab import PROPERTIES
from synth.world.model import HAS


@family("property_question", kind="ontology", applies=lambda w: any(w.kind_props.values()))
def property_question(ctx: ItemContext) -> Draw:
    w = ctx.world
    e = entity_view(w, w.entities[question_entity(ctx)].id)
    name = e["name"]
    c = w.closure_of(name)
    derived = [f for f in w.facts_about(name) if f[1] in (HAS, "not:" + HAS)]
    # Prefer depths near the scheduled difficulty; a fifth of questions are unknowns.
    if derived and ctx.rng.random() > 0.2:
        near = sorted(derived, key=lambda f: (abs(c.depth(f) - ctx.difficulty), f))[:4]
        fact = near[ctx.rng.randrange(len(near))]
        query = (name, HAS, fact[2])
    else:
        settled = {f[2] for f in derived}
        vocab = w.properties or PROPERTIES
        free = [p for p in vocab if p not in settled] or [p for p in PROPERTIES if p not in settled]
        query = (name, HAS, free[ctx.rng.randrange(len(free))])
    formal = w.support_formal(query, assumption="open", context=[(name, "is_a", e["kind"])])
    answer = formal["answer"]
    depth = max(1, len(formal["proof"]))
    kind = "unknown" if answer == "unknown" else f"derived-depth-{depth}"
    return Draw(
        vars={
            "e": e,
            "prop": query[2],
            "answer": answer,
            "steps": [step_view(s) for s in formal["proof"]],
        },
        answer=answer,
        formal=formal,
        difficulty=depth,
        probe_kind=kind,
    )
