"""The world's rules stated as rules: what follows from what, and the relation algebra."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import rule_view


@family(
    "rule_entry",
    kind="ontology",
    applies=lambda w: bool(w.world_rules or w.algebra_rules),
)
def rule_entry(ctx: ItemContext) -> Draw:
    w = ctx.world
    world_rules = [rule_view(w, r.id) for r in w.world_rules]
    algebra = [rule_view(w, r.id) for r in w.algebra_rules]
    chosen = (
        ctx.rng.sample(world_rules, min(len(world_rules), ctx.rng.randint(2, 5)))
        if world_rules
        else []
    )
    algebra = ctx.rng.sample(algebra, min(len(algebra), ctx.rng.randint(2, 4)))
    ids = [r["id"] for r in chosen + algebra]
    formal = {
        "facts": [],
        "rules": [w.rule_by_id[r].to_json() for r in ids],
        "states": [],
        "query": None,
        "assumption": "closed",
        "answer": None,
        "proof": [],
    }
    return Draw(vars={"rules": chosen, "algebra": algebra}, formal=formal, difficulty=1)
