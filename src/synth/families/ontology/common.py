"""What ontology families share: choosing entities within the scope, and views of
world objects that templates can render."""

from __future__ import annotations

from typing import Any

from synth.families.base import ItemContext
from synth.world.model import HAS, ISA, World
from synth.world.solver import Triple


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
    side = (i for i in range(len(w.entities)) if ctx.scope.held_out(i) == want_held)
    return next(side, 0)


def kind_view(w: World, kind: str) -> dict[str, Any]:
    props = []
    for k in [kind, *w.ancestors(kind)]:
        for p, holds in w.kind_props[k]:
            props.append({"name": p, "holds": holds, "via": k, "own": k == kind})
    return {
        "name": kind,
        "parent": w.kinds[kind],
        "ancestors": w.ancestors(kind),
        "children": w.children(kind),
        "props": props,
        "own_props": [p for p in props if p["own"]],
    }


def entity_view(w: World, eid: str) -> dict[str, Any]:
    e = w.entity_by_id[eid]
    first, _, last = eid.partition(" ")
    links = []
    for s, r, o in w.links:
        if s == eid:
            links.append({"rel": r, "other": o, "dir": "out", "fact": [s, r, o]})
        elif o == eid:
            links.append({"rel": r, "other": s, "dir": "in", "fact": [s, r, o]})
    return {
        "name": eid,
        "first": first,
        "last": last,
        "kind": e.kind,
        "ancestors": w.ancestors(e.kind),
        **dict(e.attrs),  # e.colour etc., for templates written for one world's attributes
        "attrs": [{"name": a, "value": v} for a, v in e.attrs.items()],
        "links": links,
    }


def derived_about(
    w: World, eid: str, relations: tuple[str, ...] = (ISA, HAS, "not:" + HAS)
) -> list[Triple]:
    c = w.closure
    return [f for f in w.facts_about.get(eid, []) if f[1] in relations and c.why[f] is not None]


def step_view(step: dict) -> dict[str, Any]:
    """A proof step for templates: rule id, what it used and what it derived."""
    return {
        "rule": step["rule"],
        "uses": step["uses"],
        "derives": step["derives"],
        "kind": rule_kind(step["rule"]),
    }


def rule_kind(rule_id: str) -> str:
    """taxonomy | property | negative | transitive | symmetric | inverse | world."""
    if rule_id.endswith((":transitive", ":symmetric", ":inverse")):
        return rule_id.rsplit(":", 1)[1]
    if ":is_a:" in rule_id:
        return "taxonomy"
    if ":not:is:" in rule_id:
        return "negative"
    if ":is:" in rule_id:
        return "property"
    return "world"


def rule_view(w: World, rule_id: str) -> dict[str, Any]:
    r = w.rule_by_id[rule_id]
    return {
        "id": r.id,
        "if": [list(p) for p in r.premises],
        "then": list(r.conclusion),
        "kind": rule_kind(r.id),
    }


def document_formal(w: World, states: list[Triple], extra_rules: list[str] = ()) -> dict:
    """A document's formal form: what it states, and the given facts and rules those
    statements rest on (so anyone can re-derive every stated fact)."""
    facts: set[Triple] = set()
    rules: list[str] = list(extra_rules)
    for f in states:
        leaves, used = w.closure.support(tuple(f))
        facts.update(leaves)
        rules.extend(r for r in used if r not in rules)
    return {
        "facts": [list(f) for f in sorted(facts)],
        "rules": [w.rule_by_id[r].to_json() for r in rules],
        "states": [list(f) for f in states],
        "query": None,
        "assumption": "closed",
        "answer": None,
        "proof": [],
    }
