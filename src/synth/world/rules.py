"""The rules every world is made of: its taxonomy (a member of a kind is a member of the
kind's parent, and has the kind's properties) and its relations' algebra (transitive,
symmetric, inverse), written as Horn rules for the solver. Fictional, YAML and RDF worlds
all build them here, with the same ids: `K:is_a:P`, `K:is:p`, `K:not:is:p`,
`R:transitive`, `R:symmetric`, `R:inverse`."""

from __future__ import annotations

from synth.world.model import HAS, ISA, Relation
from synth.world.solver import Rule


def relation_rules(relations: list[Relation]) -> list[Rule]:
    rules = []
    for r in relations:
        if r.transitive:
            rules.append(
                Rule(
                    f"{r.id}:transitive",
                    (("?x", r.id, "?y"), ("?y", r.id, "?z")),
                    ("?x", r.id, "?z"),
                )
            )
        if r.symmetric:
            rules.append(Rule(f"{r.id}:symmetric", (("?x", r.id, "?y"),), ("?y", r.id, "?x")))
        if r.inverse:
            rules.append(Rule(f"{r.id}:inverse", (("?x", r.id, "?y"),), ("?y", r.inverse, "?x")))
    return rules


def kind_rules(kind: str, parent: str | None, props: list[tuple[str, bool]]) -> list[Rule]:
    """One kind's rules: its place under its parent, and its properties."""
    rules = []
    if parent is not None:
        rules.append(Rule(f"{kind}:is_a:{parent}", (("?x", ISA, kind),), ("?x", ISA, parent)))
    for prop, holds in props:
        rel = HAS if holds else "not:" + HAS
        rules.append(Rule(f"{kind}:{rel}:{prop}", (("?x", ISA, kind),), ("?x", rel, prop)))
    return rules


def taxonomy_rules(
    kinds: dict[str, str | None], kind_props: dict[str, list[tuple[str, bool]]]
) -> list[Rule]:
    rules = []
    for k, parent in kinds.items():
        rules.extend(kind_rules(k, parent, kind_props.get(k, [])))
    return rules


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
