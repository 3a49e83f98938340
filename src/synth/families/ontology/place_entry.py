"""A gazetteer entry for a place: who lives there and what they do."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import document_formal


@family("place_entry", kind="ontology", applies=lambda w: any(e.attrs for e in w.entities))
def place_entry(ctx: ItemContext) -> Draw:
    """Everyone who shares a value of one attribute (a town's residents, in the
    fictional world: `lives_in`), with one more attribute each (their trade)."""
    w = ctx.world
    known = w.entities  # a document states the facts it tells, so any entity may appear
    keys = sorted({a for e in known for a in e.attrs})
    by = "lives_in" if "lives_in" in keys else keys[ctx.rng.randrange(len(keys))]
    also = "works_as" if "works_as" in keys else next((k for k in keys if k != by), by)
    places = sorted({e.attrs[by] for e in known if by in e.attrs})
    place = places[ctx.rng.randrange(len(places))]
    residents = [e for e in known if e.attrs.get(by) == place]
    residents = ctx.rng.sample(residents, min(len(residents), 8))
    rows = [{"name": e.id, "job": e.attrs.get(also, ""), "kind": e.kind} for e in residents]
    states = [(e.id, by, place) for e in residents] + [
        (e.id, also, e.attrs[also]) for e in residents if also in e.attrs
    ]
    return Draw(
        vars={"place": place, "by": by, "also": also, "residents": rows},
        formal=document_formal(w, states),
        difficulty=1,
    )
