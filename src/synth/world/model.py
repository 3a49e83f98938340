"""The symbolic world: the source of truth every answer is computed from.

A world is a taxonomy of kinds, properties that kinds pass down to their sub-kinds and
members, entities with attributes, relations between entities whose algebra
(transitive, symmetric, inverse) is written as Horn rules, and a few world rules.

Families read a world through the methods below, one entity at a time: its stated facts
and links (`links_of`), the closure that decides questions about it (`closure_of`), every
fact about it (`facts_about`), who shares an attribute value (`residents`). A user's
world (YAML or RDF, thousands of entities at most) answers them from one global closure;
the fictional world (`synth.world.fictional`, a million entities and more) from columns
and a closure per family block, computed on demand, so no process ever closes the whole
world. Either way the facts and proofs are the solver's (`synth.world.solver`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from synth.world.solver import Closure, Rule, Triple, negate

ISA = "is_a"  # (entity, is_a, kind)
HAS = "is"  # (entity, is, property); negated: (entity, not:is, property)

Value = str | tuple[str, ...]  # an attribute's value; several for a multi-valued one


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
    # attribute -> value (a tuple for a multi-valued attribute such as `speaks`). A
    # fictional world's entities carry its ATTRIBUTES; a user's world whatever it declares.
    attrs: Mapping[str, Value]

    def attr_facts(self) -> list[Triple]:
        out: list[Triple] = []
        for a, v in self.attrs.items():
            if isinstance(v, tuple):
                out.extend((self.id, a, x) for x in v)
            else:
                out.append((self.id, a, v))
        return out


@dataclass
class World:
    seed: int
    kinds: dict[str, str | None]  # kind -> parent kind
    kind_props: dict[str, list[tuple[str, bool]]]  # kind -> [(property, holds)]
    entities: Sequence[Entity]
    relations: dict[str, Relation]
    links: Sequence[Triple]  # stated relation facts between entities
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
    # Facts about things that are not entities (a fictional world's places: population,
    # founding year, region), by subject.
    place_facts: dict[str, list[Triple]] = field(default_factory=dict)
    # label -> how it reads, for a user's world: its role (property, relation,
    # attribute) and its forms per language (synth.world.forms). A fictional world's
    # labels are the words the wording's phrase banks were written for: it has none.
    forms: dict[str, dict[str, str]] = field(default_factory=dict)

    # -- structure -------------------------------------------------------------------

    def ancestors(self, kind: str) -> list[str]:
        out = []
        k = self.kinds.get(kind)
        while k is not None:
            out.append(k)
            k = self.kinds.get(k)
        return out

    @cached_property
    def _children(self) -> dict[str | None, list[str]]:
        out: dict[str | None, list[str]] = defaultdict(list)
        for k, p in self.kinds.items():
            out[p].append(k)
        return out

    def children(self, kind: str) -> list[str]:
        return list(self._children.get(kind, []))

    @cached_property
    def entity_by_id(self) -> Mapping[str, Entity]:
        return {e.id: e for e in self.entities}

    @cached_property
    def properties(self) -> list[str]:
        """Every property some kind settles, sorted."""
        return sorted({p for props in self.kind_props.values() for p, _ in props})

    @cached_property
    def kind_list(self) -> list[str]:
        return list(self.kinds)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {e.id: i for i, e in enumerate(self.entities)}

    def index_of(self, eid: str) -> int | None:
        """The entity's position in world order (None if it is not an entity)."""
        return self._index.get(eid)

    def members(
        self, kind: str, limit: int | None = None, below: int | None = None
    ) -> list[Entity]:
        """Entities of exactly `kind` among the first `below` (the first `limit`)."""
        out = []
        for e in self.entities[: len(self.entities) if below is None else below]:
            if e.kind == kind:
                out.append(e)
                if limit is not None and len(out) >= limit:
                    break
        return out

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

    # -- one entity at a time ----------------------------------------------------------

    @cached_property
    def _links_by_entity(self) -> dict[str, list[Triple]]:
        out: dict[str, list[Triple]] = defaultdict(list)
        for f in self.links:
            out[f[0]].append(f)
            if f[2] != f[0]:
                out[f[2]].append(f)
        return out

    def links_of(self, eid: str) -> list[Triple]:
        """The stated links with `eid` at either end, in world order."""
        return list(self._links_by_entity.get(eid, ()))

    def closure_of(self, ident: str) -> Closure:
        """A closure that holds every fact about `ident` (and its proofs); for what is
        not an entity (a place), facts the world states about it are given facts."""
        return self.closure

    def facts_about(self, eid: str) -> list[Triple]:
        """Every fact with subject `eid`, stated or derived, sorted."""
        return sorted(f for f in self.closure_of(eid).facts() if f[0] == eid)

    @cached_property
    def _by_value(self) -> dict[tuple[str, str], list[int]]:
        out: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, e in enumerate(self.entities):
            for _, a, v in e.attr_facts():
                out[(a, v)].append(i)
        return out

    def residents(self, attr: str, value: str, limit: int | None = None) -> list[Entity]:
        """Entities whose `attr` has `value` (the first `limit`, in world order)."""
        idx = self._by_value.get((attr, value), [])
        return [self.entities[i] for i in (idx if limit is None else idx[:limit])]

    def values_of(self, attr: str) -> list[str]:
        """The values `attr` takes in this world, sorted."""
        return sorted({v for (a, v) in self._by_value if a == attr})

    def surface(self, ident: str, lang: str) -> str:
        """How an id reads in `lang` (its name in the world, else the id itself; Russian
        names are derived from ids the world does not name)."""
        named = self.names.get(lang, {}).get(ident)
        if named is not None:
            return named
        if lang == "ru":
            from synth.russian.names import surface_ru

            return surface_ru(ident)
        return ident

    def form(self, label: str) -> dict[str, str]:
        """How a property, relation or attribute label reads: {"role", "en", "en_not",
        "ru", "ru_not"} as far as known (synth.world.forms); {} for a label that reads as
        it is written (every label of a fictional world)."""
        return self.forms.get(label, {})

    # -- facts -----------------------------------------------------------------------

    def stated_facts(self) -> list[Triple]:
        """What the world states outright; everything else is derived by the rules."""
        out: list[Triple] = []
        for e in self.entities:
            out.append((e.id, ISA, e.kind))
            out.extend(e.attr_facts())
        out.extend(self.links)
        out.extend(self.extra_facts)
        return out

    @cached_property
    def closure(self) -> Closure:
        """The whole world's closure (a user's world; a fictional one is closed per block)."""
        return Closure(self.stated_facts(), self.rules)

    @cached_property
    def rule_by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}

    def kind_rules(self, kind: str) -> list[Rule]:
        """The rules of one kind: its place in the taxonomy and its properties."""
        return [r for r in self.rules if r.premises and r.premises[0] == ("?x", ISA, kind)]

    @property
    def world_rules(self) -> list[Rule]:
        """The world's own rules (neither taxonomy nor relation algebra)."""
        from synth.world.rules import rule_kind

        return [r for r in self.rules if rule_kind(r.id) == "world" and not self._is_kind_rule(r)]

    @property
    def algebra_rules(self) -> list[Rule]:
        from synth.world.rules import rule_kind

        return [r for r in self.rules if rule_kind(r.id) in ("transitive", "symmetric", "inverse")]

    def _is_kind_rule(self, r: Rule) -> bool:
        return len(r.premises) == 1 and r.premises[0][1] == ISA and r.premises[0][2] in self.kinds

    def derived_any(self) -> bool:
        """Whether the rules derive anything at all."""
        return bool(self.closure.derived())

    def support_formal(
        self, query: Triple, assumption: str = "closed", context: Sequence[Triple] = ()
    ) -> dict:
        """`formal` for a query about this world: the given facts and rules its answer
        rests on, the query, the answer and the proof steps. `context` adds facts whose
        own support is included too (for a "false" answer: what the sample showed)."""
        c = self.closure_of(query[0])
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

    def document_formal(
        self, states: Sequence[Triple], extra_rules: Sequence[str] = (), about: str | None = None
    ) -> dict:
        """A document's formal form: what it states, and the given facts and rules those
        statements rest on (so anyone can re-derive every stated fact). `about`: the
        being the document is about, whose closure holds most of what it states (its
        links from either side among them), tried first."""
        facts: set[Triple] = set()
        rules: list[str] = list(extra_rules)
        main = self.closure_of(about) if about is not None else None
        for f in states:
            f = tuple(f)
            c = main if main is not None and f in main.why else self.closure_of(f[0])
            if f in c.why:
                leaves, used = c.support(f)
            else:  # a fact about something the closure does not hold (a place): given
                leaves, used = [f], []
            facts.update(leaves)
            rules.extend(r for r in used if r not in rules)
        return {
            "facts": [list(f) for f in sorted(facts)],
            "rules": [self.rule_by_id[r].to_json() for r in rules],
            "states": [list(f) for f in states],
            "query": None,
            "assumption": "closed",
            "answer": None,
            "proof": [],
        }
