"""What ontology families share: choosing beings within the scope, and views of world
objects that templates render. Everything reads the world one being at a time
(`links_of`, `closure_of`, `facts_about`), so a family costs the same in a world of a
hundred beings and of a million."""

from __future__ import annotations

from typing import Any

from synth.families.base import ItemContext
from synth.world.model import HAS, ISA, World
from synth.world.rules import rule_kind
from synth.world.solver import Triple

__all__ = ["rule_kind"]


def introduced_or_known(ctx: ItemContext, n_total: int, intro: tuple[int, int], known: int) -> int:
    """Documents first state the unit's new slice (twice over, so one rejected sample
    does not leave a gap), then revisit anything stated so far. A template's
    `params.intro_passes` changes how many times over (`synth efficacy` uses 1 to
    render each entity exactly once when its budget holds one pass)."""
    lo, hi = intro
    passes = ctx.params.intro_passes
    if hi > lo and ctx.position < passes * (hi - lo):
        return lo + ctx.position % (hi - lo)
    pool = max(known, hi, 1)
    return ctx.rng.randrange(min(pool, n_total))


def question_entity(ctx: ItemContext) -> int:
    """Questions ask about stated entities only: train questions skip the held-out
    entities, eval probes ask only about them."""
    w = ctx.world
    known = max(1, min(ctx.scope.known_entities, len(w.entities)))
    want_held = ctx.split == "eval"
    for _ in range(64):
        i = ctx.rng.randrange(known)
        if ctx.scope.held_out(i) == want_held:
            return i
    # None of the known entities is on this side of the split (early in a curriculum
    # only one may be introduced): ask about the first entity that is, never crossing it.
    n = len(w.entities)
    side = (
        i
        for i in range(min(n, 10 * ctx.scope.holdout_every + known))
        if ctx.scope.held_out(i) == want_held
    )
    return next(side, 0)


def kind_view(w: World, kind: str) -> dict[str, Any]:
    props = []
    for k in [kind, *w.ancestors(kind)]:
        for p, holds in w.kind_props.get(k, []):
            props.append({"name": p, "holds": holds, "via": k, "own": k == kind})
    return {
        "name": kind,
        "parent": w.kinds[kind],
        "ancestors": w.ancestors(kind),
        "children": w.children(kind),
        "props": props,
        "own_props": [p for p in props if p["own"]],
    }


def gender_of(name: str) -> str:
    """A fictional being's gender, from its first name (Ilsa, Gonia: feminine)."""
    return "femn" if name.split(" ", 1)[0].endswith("a") else "masc"


def entity_view(w: World, eid: str) -> dict[str, Any]:
    """A being as templates see it: name, kind and kinds above, attributes, links in
    both directions, and `facts`, everything stated about it."""
    e = w.entity_by_id[eid]
    first, _, last = eid.partition(" ")
    links = []
    for s, r, o in w.links_of(eid):
        if s == eid:
            links.append({"rel": r, "other": o, "dir": "out", "fact": [s, r, o]})
        else:
            links.append({"rel": r, "other": s, "dir": "in", "fact": [s, r, o]})
    attrs = dict(e.attrs)
    return {
        "name": eid,
        "first": first,
        "last": last,
        "gender": gender_of(eid) if not w.source else "",
        "kind": e.kind,
        "ancestors": w.ancestors(e.kind),
        **{a: (list(v) if isinstance(v, tuple) else v) for a, v in attrs.items()},
        "attrs": [
            {"name": a, "value": list(v) if isinstance(v, tuple) else v} for a, v in attrs.items()
        ],
        "links": links,
        "facts": [[eid, ISA, e.kind], *[list(f) for f in e.attr_facts()]],
    }


def both_ways(w: World, links: list[dict]) -> list[Triple]:
    """Each link and its inverse (or symmetric) reading: both directions of every
    relation are stated."""
    out: list[Triple] = []
    for link in links:
        s, r, o = link["fact"]
        out.append((s, r, o))
        rel = w.relations.get(r)
        if rel is not None and rel.inverse:
            out.append((o, rel.inverse, s))
            link["inverse"] = rel.inverse
        elif rel is not None and rel.symmetric:
            out.append((o, r, s))
    return out


def derived_about(
    w: World, eid: str, relations: tuple[str, ...] = (ISA, HAS, "not:" + HAS)
) -> list[Triple]:
    c = w.closure_of(eid)
    return [f for f in w.facts_about(eid) if f[1] in relations and c.why.get(f) is not None]


def own_props(w: World, eid: str) -> list[dict[str, Any]]:
    """What follows about a being from its own facts alone (its kinds and the world's
    rules over its properties), each with the kind that gives it and its proof depth."""
    c = w.closure_of(eid)
    out = []
    for f in w.facts_about(eid):
        if f[1] in (HAS, "not:" + HAS) and all(x[0] == eid for x in c.support(f)[0]):
            why = c.why[f]
            via = "" if why is None else (why[0].split(":", 1)[0] if ":" in why[0] else "rule")
            out.append({"name": f[2], "holds": f[1] == HAS, "via": via, "depth": c.depth(f),
                        "steps": len(c.proof(f)), "fact": list(f)})  # fmt: skip
    return out


def step_view(step: dict) -> dict[str, Any]:
    """A proof step for templates: rule id, what it used and what it derived."""
    return {
        "rule": step["rule"],
        "uses": step["uses"],
        "derives": step["derives"],
        "kind": rule_kind(step["rule"]),
    }


def rule_view(w: World, rule_id: str) -> dict[str, Any]:
    r = w.rule_by_id[rule_id]
    return {
        "id": r.id,
        "if": [list(p) for p in r.premises],
        "then": list(r.conclusion),
        "kind": rule_kind(r.id),
    }


def document_formal(
    w: World, states: list[Triple], extra_rules: list[str] = (), about: str | None = None
) -> dict:
    return w.document_formal(states, extra_rules, about)
