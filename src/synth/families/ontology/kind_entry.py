"""An encyclopedia entry for a kind: its place in the taxonomy and its properties."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, between, family
from synth.families.ontology.common import document_formal, introduced_or_known, kind_view


@dataclass(frozen=True)
class Params:
    intro_passes: int = between(2, 1, 100)  # times over each new kind before revisiting


@family("kind_entry", kind="ontology", params=Params)
def kind_entry(ctx: ItemContext) -> Draw:
    w = ctx.world
    kinds = list(w.kinds)
    kind = kinds[
        introduced_or_known(
            ctx, len(kinds), ctx.scope.introduce_kinds, ctx.scope.known_kinds or len(kinds)
        )
    ]
    view = kind_view(w, kind)
    rules = [r.id for r in w.rules if r.premises[0] == ("?x", "is_a", kind)]
    # Members named here are only entities already stated, so no fact comes early.
    known = w.entities[: ctx.scope.known_entities]
    members = [e.id for e in known if e.kind == kind][:4]
    view["members"] = members
    formal = document_formal(w, [(m, "is_a", kind) for m in members], rules)
    return Draw(vars={"kind": view}, formal=formal, difficulty=1)
