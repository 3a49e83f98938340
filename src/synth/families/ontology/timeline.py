"""A being's life as dated events: when and where it was born, when it moved to its
home, and the births of those it is linked to (with the link that makes them part of
the story). Every event is a stated fact of the world; the years are the world's."""

from __future__ import annotations

from synth.families.base import Draw, ItemContext, family
from synth.families.ontology.common import document_formal, entity_view, introduced_or_known
from synth.families.ontology.entity_profile import Params


def _dated(w) -> bool:
    return bool(w.entities) and "born_year" in w.entities[0].attrs


@family("timeline", kind="ontology", params=Params, applies=_dated)
def timeline(ctx: ItemContext) -> Draw:
    w = ctx.world
    i = introduced_or_known(
        ctx, len(w.entities), ctx.scope.introduce_entities, ctx.scope.known_entities
    )
    e = entity_view(w, w.entities[i].id)
    name = e["name"]
    events: list[dict] = []
    states: list[tuple[str, str, str]] = []
    born = {"year": int(e["born_year"]), "who": name, "what": "born",
            "facts": [[name, "born_year", e["born_year"]]]}  # fmt: skip
    if "born_in" in e:
        born["facts"].append([name, "born_in", e["born_in"]])
    events.append(born)
    if "moved_year" in e:
        events.append({"year": int(e["moved_year"]), "who": name, "what": "moved",
                       "facts": [[name, "moved_year", e["moved_year"]], [name, "lives_in", e["lives_in"]]]})  # fmt: skip
    for link in e["links"][:6]:
        other = w.entity_by_id[link["other"]]
        y = other.attrs.get("born_year")
        if y is None:
            continue
        events.append({"year": int(y), "who": link["other"], "what": "kin born",
                       "facts": [link["fact"], [link["other"], "born_year", y]]})  # fmt: skip
    events.sort(key=lambda ev: (ev["year"], ev["who"]))
    for ev in events:
        states.extend(tuple(f) for f in ev["facts"])
    states = list(dict.fromkeys(states))
    return Draw(
        vars={"e": e, "events": events, "all_facts": [list(f) for f in states]},
        formal=document_formal(w, states, about=name),
        difficulty=1,
    )
