"""A place and the beings who share it: its own facts (region, population, founding
year, elevation) where the world records them, and some of its residents with their
trades. Gazetteer entries, travellers' notes and place timelines render it."""

from __future__ import annotations

from dataclasses import dataclass

from synth.families.base import Draw, ItemContext, between, family
from synth.families.ontology.common import document_formal


@dataclass(frozen=True)
class Params:
    residents: int = between(8, 1, 20)  # residents named at most


def _has_values(w) -> bool:
    return bool(w.entities) and any(w.entities[i].attrs for i in range(min(50, len(w.entities))))


@family("place_entry", kind="ontology", params=Params, applies=_has_values)
def place_entry(ctx: ItemContext) -> Draw:
    """Everyone who shares a value of one attribute (a town's residents, in the
    fictional world: `lives_in`), with one more attribute each (their trade)."""
    w = ctx.world
    probe = w.entities[
        ctx.rng.randrange(max(1, min(len(w.entities), ctx.scope.known_entities or len(w.entities))))
    ]
    keys = sorted(a for a, v in probe.attrs.items() if not isinstance(v, tuple)) or sorted(
        {a for i in range(min(50, len(w.entities))) for a in w.entities[i].attrs}
    )
    by = "lives_in" if "lives_in" in keys else keys[ctx.rng.randrange(len(keys))]
    also = "works_as" if "works_as" in keys else next((k for k in keys if k != by), by)
    place = probe.attrs.get(by)
    if place is None or isinstance(place, tuple):
        values = w.values_of(by)
        place = values[ctx.rng.randrange(len(values))]
    found = w.residents(by, place, limit=4 * ctx.params.residents)
    residents = ctx.rng.sample(found, min(len(found), ctx.params.residents))
    rows = [
        {"name": e.id, "job": e.attrs.get(also, "") if also != by else "", "kind": e.kind}
        for e in residents
    ]
    states = [(e.id, by, place) for e in residents] + [
        (e.id, also, e.attrs[also]) for e in residents if also != by and also in e.attrs
    ]
    place_facts = [list(f) for f in w.place_facts.get(place, [])]
    states = [tuple(f) for f in place_facts] + states
    return Draw(
        vars={
            "place": place,
            "by": by,
            "also": also,
            "residents": rows,
            "facts": place_facts,
            "all_facts": [list(f) for f in states],
        },  # fmt: skip
        formal=document_formal(w, states),
        difficulty=1,
    )
