"""An encyclopedia entry for a kind: its place in the taxonomy, its properties, and a few
of its members already stated."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, between, family
from synth.families.ontology.common import document_formal, introduced_or_known, kind_view


@dataclass(frozen=True)
class Params:
    intro_passes: int = between(2, 1, 100)  # times over each new kind before revisiting
    members: int = between(4, 0, 12)  # members named (stated beings only)


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
    rules = [r.id for r in w.kind_rules(kind)]
    # Members named here are only entities already stated, so no fact comes early.
    members = [e.id for e in w.members(kind, ctx.params.members, below=ctx.scope.known_entities)]
    view["members"] = members
    formal = document_formal(w, [(m, "is_a", kind) for m in members], rules)
    return Draw(vars={"kind": view}, formal=formal, difficulty=1)
