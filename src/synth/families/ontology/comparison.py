"""Several beings side by side: a household or a town's residents in one table (kind,
home, trade, birth year, height), each cell a stated fact."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import document_formal, introduced_or_known
from synth.families.ontology.entity_profile import Params

COLUMNS = ("is_a", "lives_in", "works_as", "born_year", "height_cm", "speaks")


@family("comparison", kind="ontology", params=Params)
def comparison(ctx: ItemContext) -> Draw:
    w = ctx.world
    n = len(w.entities)
    i = introduced_or_known(ctx, n, ctx.scope.introduce_entities, ctx.scope.known_entities)
    first = w.entities[i]
    # Those it is linked to (a household), else those who share its home.
    peers = [f[2] if f[0] == first.id else f[0] for f in w.links_of(first.id)]
    if len(peers) < 2 and "lives_in" in first.attrs:
        peers += [
            e.id
            for e in w.residents("lives_in", first.attrs["lives_in"], limit=8)
            if e.id != first.id
        ]
    peers = list(dict.fromkeys(peers))
    ctx.rng.shuffle(peers)
    rows = [first] + [w.entity_by_id[p] for p in peers[: ctx.rng.randint(2, 4)]]
    cols = [c for c in COLUMNS if c == "is_a" or all(c in e.attrs for e in rows)]
    ctx.rng.shuffle(cols)
    cols = cols[: ctx.rng.randint(3, min(5, len(cols)))] if len(cols) > 3 else cols
    table = []
    states = []
    for e in rows:
        cells = {}
        for c in cols:
            v = e.kind if c == "is_a" else e.attrs[c]
            cells[c] = list(v) if isinstance(v, tuple) else v
            states.extend((e.id, c, x) for x in (v if isinstance(v, tuple) else (v,)))
        table.append({"name": e.id, "cells": cells})
    return Draw(
        vars={"columns": cols, "rows": table, "all_facts": [list(f) for f in states]},
        formal=document_formal(w, states),
        difficulty=1,
    )
