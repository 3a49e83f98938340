"""A fictional world drawn from a seed: the controlled case of knowledge injection.

Size knobs come from the tier config's `world:` mapping. Everything is drawn from one
`random.Random` seeded by (seed, "world"), so the same seed gives the same world in
every process.
"""

from __future__ import annotations

from typing import Any

from synth.errors import UserError
from synth.rng import rng_for
from synth.russian.names import russian_names
from synth.vocab import COLOURS, JOBS, PROPERTIES
from synth.world.model import ATTRIBUTES, HAS, ISA, Entity, Relation, World
from synth.world.names import NameMaker
from synth.world.solver import Contradiction, Rule

# Relations between entities and their algebra. Chains make the transitive ones deep.
RELATIONS = [
    Relation("ancestor_of", transitive=True, inverse="descendant_of"),
    Relation("descendant_of", transitive=True, inverse="ancestor_of"),
    Relation("older_than", transitive=True, inverse="younger_than"),
    Relation("younger_than", transitive=True, inverse="older_than"),
    Relation("neighbour_of", symmetric=True),
    Relation("mentor_of", inverse="apprentice_of"),
    Relation("apprentice_of", inverse="mentor_of"),
]

DEFAULTS: dict[str, Any] = {
    "kinds": 24,
    "depth": 4,
    "entities": 300,
    "properties_per_kind": 2,
    "negative_share": 0.25,
    "rules": 8,
    "chains": 40,
    "chain_length": [3, 6],
    "neighbours": 60,
    "mentors": 60,
    "places": 12,
    # true: kind properties alternate holds / does not hold (in kind order), so yes/no
    # questions about inherited properties are balanced (chance near one half)
    "balanced": False,
    # false: an entity is named by a first name alone (unique in the world); a compact
    # world for a character-level model spends fewer characters per fact on names
    "surnames": True,
}


def knobs(cfg: dict[str, Any]) -> dict[str, Any]:
    unknown = set(cfg) - set(DEFAULTS) - {"source"}
    if unknown:
        raise UserError(f"world: unknown size knob(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    k = {**DEFAULTS, **cfg}
    for key in ("kinds", "depth", "entities"):
        if not isinstance(k[key], int) or k[key] < 1:
            raise UserError(f"world: {key} must be a positive integer, got {k[key]!r}")
    return k


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


def taxonomy_rules(
    kinds: dict[str, str | None], kind_props: dict[str, list[tuple[str, bool]]]
) -> list[Rule]:
    rules = []
    for k, parent in kinds.items():
        if parent is not None:
            rules.append(Rule(f"{k}:is_a:{parent}", (("?x", ISA, k),), ("?x", ISA, parent)))
        for prop, holds in kind_props.get(k, []):
            rel = HAS if holds else "not:" + HAS
            rules.append(Rule(f"{k}:{rel}:{prop}", (("?x", ISA, k),), ("?x", rel, prop)))
    return rules


def build_world(seed: int, cfg: dict[str, Any] | None = None) -> World:
    k = knobs(cfg or {})
    rng = rng_for(seed, "world")
    names = NameMaker(rng)

    # Taxonomy: a forest whose roots are the first few kinds.
    kinds: dict[str, str | None] = {}
    depth: dict[str, int] = {}
    n_roots = max(1, min(4, k["kinds"] // 6))
    for i in range(k["kinds"]):
        name = names.kind()
        if i < n_roots:
            kinds[name], depth[name] = None, 0
        else:
            parents = [p for p in kinds if depth[p] < k["depth"] - 1] or list(kinds)
            parent = rng.choice(parents)
            kinds[name], depth[name] = parent, depth[parent] + 1

    # Properties: each kind adds a few that no ancestor already settled.
    kind_props: dict[str, list[tuple[str, bool]]] = {}
    alternate = 0
    for kind in kinds:
        settled = set()
        p = kinds[kind]
        while p is not None:
            settled.update(x for x, _ in kind_props[p])
            p = kinds[p]
        free = [x for x in PROPERTIES if x not in settled]
        chosen = rng.sample(free, min(len(free), k["properties_per_kind"]))
        if k["balanced"]:
            kind_props[kind] = [(x, (alternate + j) % 2 == 0) for j, x in enumerate(chosen)]
            alternate += len(chosen)
        else:
            kind_props[kind] = [(x, rng.random() >= k["negative_share"]) for x in chosen]

    # Entities: members of (mostly) the deeper kinds, so inheritance has depth.
    places = [names.place() for _ in range(k["places"])]
    weights = [1 + depth[x] for x in kinds]
    kind_list = list(kinds)
    entities = []
    for _ in range(k["entities"]):
        eid = f"{names.first()} {names.last()}" if k["surnames"] else names.first()
        kind = rng.choices(kind_list, weights)[0]
        attrs = {
            "colour": rng.choice(COLOURS),
            "lives_in": rng.choice(places),
            "works_as": rng.choice(JOBS),
        }
        assert tuple(attrs) == ATTRIBUTES
        entities.append(Entity(eid, kind, attrs))

    # Relation facts: chains for transitive relations, pairs for the others.
    ids = [e.id for e in entities]
    links = []
    lo, hi = k["chain_length"]
    # Related entities sit close together in entity order, so a world cut to its first
    # n entities (a small budget) keeps whole chains, and the curriculum introduces
    # people together with their relatives.
    window = max(2 * hi, 8)

    def near(k: int) -> list[str]:
        start = rng.randrange(max(1, len(ids) - window + 1))
        return rng.sample(ids[start : start + window], min(k, len(ids), window))

    for c in range(k["chains"]):
        rel = "ancestor_of" if c % 2 == 0 else "older_than"
        chain = near(rng.randint(lo, hi))
        links.extend((a, rel, b) for a, b in zip(chain, chain[1:]))
    for _ in range(k["neighbours"]):
        a, b = near(2)
        links.append((a, "neighbour_of", b))
    for _ in range(k["mentors"]):
        a, b = near(2)
        links.append((a, "mentor_of", b))
    links = sorted(set(links))

    # World rules: "whatever is P and Q is R", over properties that co-occur, so they fire.
    base_rules = taxonomy_rules(kinds, kind_props) + relation_rules(RELATIONS)
    relations = {r.id: r for r in RELATIONS}

    def with_rules(extra: list[Rule]) -> World:
        return World(seed, kinds, kind_props, entities, relations, links, base_rules + extra)

    world_rules: list[Rule] = []
    attempts = 0
    while len(world_rules) < k["rules"] and attempts < 20 * (k["rules"] + 1):
        attempts += 1
        kind = rng.choice(kind_list)
        inherited = [
            (p, h) for x in [kind, *_ancestors(kinds, kind)] for p, h in kind_props[x] if h
        ]
        if len(inherited) < 2:
            continue
        (p1, _), (p2, _) = rng.sample(inherited, 2)
        concl = rng.choice([x for x in PROPERTIES if x not in (p1, p2)])
        rule = Rule(
            f"rule{len(world_rules) + 1}", (("?x", HAS, p1), ("?x", HAS, p2)), ("?x", HAS, concl)
        )
        try:
            with_rules(world_rules + [rule]).closure  # noqa: B018 - a rule that makes the world contradict itself is dropped
        except Contradiction:
            continue
        world_rules.append(rule)

    world = with_rules(world_rules)
    world.closure  # noqa: B018 - fail here, not in a worker, if something is off
    world.names["ru"] = russian_names(world)
    return world


def _ancestors(kinds: dict[str, str | None], kind: str) -> list[str]:
    out, p = [], kinds[kind]
    while p is not None:
        out.append(p)
        p = kinds[p]
    return out
