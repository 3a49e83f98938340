"""The symbolic world: the source of truth every answer is computed from.

A world is a taxonomy of kinds, properties that kinds pass down to their sub-kinds and
members, entities with attributes, relations between entities whose algebra
(transitive, symmetric, inverse) is written as Horn rules, and a few world rules.
Its closure (`world.closure`) holds every fact it implies and a proof for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property

from synth.world.solver import Closure, Rule, Triple, negate

ISA = "is_a"  # (entity, is_a, kind)
HAS = "is"  # (entity, is, property); negated: (entity, not:is, property)
ATTRIBUTES = ("colour", "lives_in", "works_as")  # what a fictional world's entities carry


@dataclass
class Relation:
    id: str
    transitive: bool = False
    symmetric: bool = False
    inverse: str | None = None
    # Kinds the relation's subject (domain) and object (range) belong to, as declared by
    # a user world (rdfs:domain / rdfs:range): which entities a template may relate.
    # Recorded only: nothing is derived from them.
    domain: tuple[str, ...] = ()
    range: tuple[str, ...] = ()


@dataclass
class Entity:
    id: str
    kind: str
    # attribute -> value. Fictional worlds carry exactly ATTRIBUTES; a user's world
    # carries whatever attributes it declares.
    attrs: Mapping[str, str]


@dataclass
class World:
    seed: int
    kinds: dict[str, str | None]  # kind -> parent kind
    kind_props: dict[str, list[tuple[str, bool]]]  # kind -> [(property, holds)]
    entities: list[Entity]
    relations: dict[str, Relation]
    links: list[Triple]  # stated relation facts between entities
    rules: list[Rule]  # every rule, including the taxonomy and relation algebra
    names: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> id -> surface
    # Stated facts beyond each entity's kind, attributes and links: an entity's second
    # types (RDF), properties stated of one entity, and inherited properties that an
    # exception keeps from being a kind rule (see synth.world.spec).
    extra_facts: list[Triple] = field(default_factory=list)
    # kind -> its other parents: `kinds` keeps one parent per kind (a tree the families
    # walk), an ontology may give a class several; each still has its taxonomy rule.
    extra_parents: dict[str, list[str]] = field(default_factory=dict)
    # What an imported ontology held that synth could not map, counted by construct.
    unmapped: dict[str, int] = field(default_factory=dict)
    source: str = ""  # the file a user's world came from ("" for a fictional world)
    iris: dict[str, str] = field(default_factory=dict)  # id -> IRI, for an RDF world

    # -- structure -------------------------------------------------------------------

    def ancestors(self, kind: str) -> list[str]:
        out = []
        k = self.kinds.get(kind)
        while k is not None:
            out.append(k)
            k = self.kinds.get(k)
        return out

    def children(self, kind: str) -> list[str]:
        return [k for k, p in self.kinds.items() if p == kind]

    @cached_property
    def entity_by_id(self) -> dict[str, Entity]:
        return {e.id: e for e in self.entities}

    def members(self, kind: str) -> list[Entity]:
        return [e for e in self.entities if e.kind == kind or kind in self.ancestors(e.kind)]

    def restricted(self, n_entities: int) -> World:
        """The same world with only its first `n_entities` entities (and the relation
        facts among them): what a small budget can state."""
        if n_entities >= len(self.entities):
            return self
        keep = {e.id for e in self.entities[:n_entities]}
        dropped = {e.id for e in self.entities[n_entities:]}
        links = [f for f in self.links if f[0] in keep and f[2] in keep]
        extra = [f for f in self.extra_facts if f[0] not in dropped and f[2] not in dropped]
        return replace(self, entities=self.entities[:n_entities], links=links, extra_facts=extra)

    # -- facts -----------------------------------------------------------------------

    def stated_facts(self) -> list[Triple]:
        """What the world states outright; everything else is derived by the rules."""
        out: list[Triple] = []
        for e in self.entities:
            out.append((e.id, ISA, e.kind))
            out.extend((e.id, a, v) for a, v in e.attrs.items())
        out.extend(self.links)
        out.extend(self.extra_facts)
        return out

    @cached_property
    def closure(self) -> Closure:
        return Closure(self.stated_facts(), self.rules)

    @cached_property
    def rule_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    @cached_property
    def facts_about(self) -> dict[str, list[Triple]]:
        """Every fact of the closure, stated or derived, by subject."""
        out: dict[str, list[Triple]] = {}
        for f in self.closure.facts():
            out.setdefault(f[0], []).append(f)
        for v in out.values():
            v.sort()
        return out

    def support_formal(
        self, query: Triple, assumption: str = "closed", context: list[Triple] = ()
    ) -> dict:
        """`formal` for a query about this world: the given facts and rules its answer
        rests on, the query, the answer and the proof steps. `context` adds facts whose
        own support is included too (for a "false" answer: what the sample showed)."""
        c = self.closure
        answer = c.answer(query, assumption)
        if answer == "true":
            target: list[Triple] = [tuple(query)]
        elif answer == "false" and assumption == "open":
            target = [negate(tuple(query))]
        else:
            target = []
        facts: set[Triple] = set()
        rule_ids: list[str] = []
        proof: list[dict] = []
        for t in list(target) + [tuple(x) for x in context]:
            f, r = c.support(t)
            facts.update(f)
            rule_ids.extend(x for x in r if x not in rule_ids)
        for t in target:
            proof = c.proof(t)
        return {
            "facts": [list(f) for f in sorted(facts)],
            "rules": [self.rule_by_id[r].to_json() for r in rule_ids],
            "query": list(query),
            "assumption": assumption,
            "answer": answer,
            "proof": proof,
        }
