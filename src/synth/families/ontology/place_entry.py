"""A gazetteer entry for a place: who lives there and what they do."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import document_formal


@family("place_entry", kind="ontology")
def place_entry(ctx: ItemContext) -> Draw:
    w = ctx.world
    known = w.entities[: max(1, ctx.scope.known_entities)]
    places = sorted({e.attrs["lives_in"] for e in known})
    place = places[ctx.rng.randrange(len(places))]
    residents = [e for e in known if e.attrs["lives_in"] == place]
    residents = ctx.rng.sample(residents, min(len(residents), 8))
    rows = [{"name": e.id, "job": e.attrs["works_as"], "kind": e.kind} for e in residents]
    states = [(e.id, "lives_in", place) for e in residents] + [(e.id, "works_as", e.attrs["works_as"]) for e in residents]
    return Draw(vars={"place": place, "residents": rows}, formal=document_formal(w, states), difficulty=1)
