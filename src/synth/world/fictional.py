"""A fictional world drawn from a seed: the controlled case of knowledge injection, at the
size the budget needs.

Size. A tier's budget buys a world (`sizes`): its entities are what the covering stage
can introduce at `tokens_per_entity`, and kinds, taxonomy depth, places, regions, chains,
rules and the value vocabularies grow with them, so 10B tokens describe about a million
beings, each told a bounded number of times, instead of a few hundred told thousands of
times. Knobs the tier's `world:` mapping sets explicitly win.

What a being carries (ATTRIBUTES, about twelve stated facts and as many derived):
its kind; colour, home, trade; birthplace and birth year, the year it moved to its home
(when it was born elsewhere); height and weight (numbers with units); the languages it
speaks and the crafts it is skilled in (several values each); links to other beings
(ancestor and seniority chains, neighbours, mentors, friends); and what its kinds and
the world's rules make true of it. Places carry a population, a founding year, a
region and an elevation. Every number agrees with every relation: an ancestor is born
at least a generation before its descendants, the elder of an `older_than` link is born
first, a mentor is older than an apprentice, neighbours share a home.

Layout. Beings are columns (numpy), built in one vectorised pass; names are a bijection
of the index (`NameBank`), so a million names cost no memory and lead back to their
index. Beings come in blocks of `block` consecutive indices (a household): every link
stays inside a block, so the closure that decides anything about a being is the closure
of its own facts and its block's links under its kinds' rules, computed on demand and
cached (`closure_of`), never the whole world's. That closure is three parts no rule
connects, each closed once where it is shared and assembled per being (`Closure.assembled`,
the same facts, proofs and order as one run): what its kind gives a member (kept per kind),
its block's chains (kept per block) and its other links. Rebuilt from kept parts, a
being's closure costs 0.1 ms (0.4 ms closed in one run, 20M-token world); in a world with
more kinds and blocks than are kept (300M tokens: 7,500 and 12,500) about 0.5 ms, as
closing it in one run. Either way it is cheap, so each process keeps only the last few
hundred closures and its memory does not grow with the world (at 300M tokens a worker
held 540 MiB with 8,192 closures kept, 260 MiB with 512). `share()` writes the columns to
a cache folder and maps them back read-only, so worker processes map the same pages
instead of each holding a copy; pickling a shared world sends only its folder.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from synth.errors import UserError
from synth.rng import derive_seed
from synth.vocab import CRAFTS, LANGUAGES, PROPERTIES, WORLD_COLOURS, WORLD_JOBS
from synth.world.model import HAS, ISA, Entity, Relation, World
from synth.world.names import NameBank
from synth.world.rules import kind_rules, relation_rules
from synth.world.solver import Closure, Rule, Triple

# Relations between beings and their algebra. Chains make the transitive ones deep.
RELATIONS = [
    Relation("ancestor_of", transitive=True, inverse="descendant_of"),
    Relation("descendant_of", transitive=True, inverse="ancestor_of"),
    Relation("older_than", transitive=True, inverse="younger_than"),
    Relation("younger_than", transitive=True, inverse="older_than"),
    Relation("neighbour_of", symmetric=True),
    Relation("mentor_of", inverse="apprentice_of"),
    Relation("apprentice_of", inverse="mentor_of"),
    Relation("friend_of", symmetric=True),
]
STATED_RELATIONS = ("ancestor_of", "older_than", "neighbour_of", "mentor_of", "friend_of")
TRANSITIVE = {"ancestor_of", "descendant_of", "older_than", "younger_than"}

# What a being carries, in the order documents list it.
ATTRIBUTES = (
    "colour", "lives_in", "works_as", "born_in", "born_year", "moved_year", "height_cm",
    "weight_kg", "speaks", "skilled_in",
)  # fmt: skip
MULTI_VALUED = ("speaks", "skilled_in")
NUMERIC = ("born_year", "moved_year", "height_cm", "weight_kg", "population", "founded_year",
           "elevation_m")  # fmt: skip
PLACE_ATTRIBUTES = ("lies_in", "population", "founded_year", "elevation_m")

DEFAULTS: dict[str, Any] = {
    "entities": 300,
    "kinds": 24,
    "depth": 4,
    "properties_per_kind": 2,
    "negative_share": 0.25,
    "rules": 8,
    "chains": 40,
    "chain_length": [3, 6],
    "neighbours": 60,
    "mentors": 60,
    "friends": 60,
    "places": 12,
    "regions": 3,
    "block": 12,
    "colours": 12,
    "jobs": 12,
    "languages": 6,
    "crafts": 10,
    "attributes": list(ATTRIBUTES),
    # true: kind properties alternate holds / does not hold (in kind order), so yes/no
    # questions about inherited properties are balanced (chance near one half)
    "balanced": False,
    # false: an entity is named by a first name alone (unique in the world); a compact
    # world for a character-level model spends fewer characters per fact on names
    "surnames": True,
}
MAX_ENTITIES = 15_000_000  # names: 4,000 first names x 4,000 surnames
LAST_BIRTH = 1960
MAX_KINDS = 400_000
# A being's closure is asked for a few times while one document about it is written, and
# rebuilt cheaply afterwards from its kind's and its block's parts: small caches keep each
# process's memory the same whatever the world's size.
CLOSURES_KEPT = 512
KINDS_KEPT = 4096
BLOCKS_KEPT = 1024
_SELF = "\x00self"  # the member of a kind, in the closure kept for the kind


def sizes(entities: int, kinds: int = 0) -> dict[str, Any]:
    """The knobs a world of `entities` beings (and at least `kinds` kinds) gets by
    default: everything that makes a world larger grows with it (documented in the
    README's tier table)."""
    e = max(1, int(entities))
    kinds = min(MAX_KINDS, max(24, e // 40, int(kinds)))
    return {
        "entities": e,
        "kinds": kinds,
        "depth": min(9, max(4, round(math.log(kinds / 6, 3)) + 2)),
        "rules": min(300, 8 + kinds // 100),
        "chains": max(1, e * 40 // 300),
        "neighbours": max(1, e // 5),
        "mentors": max(1, e // 5),
        "friends": max(1, e // 5),
        "places": min(200_000, max(12, e // 25)),
        "regions": min(20_000, max(3, e // 250)),
        "colours": min(len(WORLD_COLOURS), 12 + e // 5_000),
        "jobs": min(len(WORLD_JOBS), 12 + e // 2_000),
        "languages": min(len(LANGUAGES), 6 + e // 10_000),
        "crafts": min(len(CRAFTS), 10 + e // 5_000),
    }


def knobs(cfg: dict[str, Any]) -> dict[str, Any]:
    """A tier's `world:` mapping over the defaults, checked (one line naming the knob)."""
    unknown = set(cfg) - set(DEFAULTS) - {"source"}
    if unknown:
        raise UserError(f"world: unknown size knob(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    k = {**DEFAULTS, **cfg}
    for key in ("kinds", "depth", "entities", "places", "regions", "block", "colours", "jobs"):
        if not isinstance(k[key], int) or isinstance(k[key], bool) or k[key] < 1:
            raise UserError(f"world: {key} must be a positive integer, got {k[key]!r}")
    if k["entities"] > MAX_ENTITIES:
        raise UserError(
            f"world: {k['entities']:,} entities is more than names exist for ({MAX_ENTITIES:,})"
        )
    bad = [a for a in k["attributes"] if a not in ATTRIBUTES]
    if bad:
        raise UserError(f"world: unknown attribute(s) {bad}; known: {', '.join(ATTRIBUTES)}")
    for key, vocab in (("colours", WORLD_COLOURS), ("jobs", WORLD_JOBS),
                       ("languages", LANGUAGES), ("crafts", CRAFTS)):  # fmt: skip
        k[key] = max(1, min(int(k[key]), len(vocab)))
    return k


# -- the world ---------------------------------------------------------------------------


class FictionalWorld(World):
    """The World interface over columns: see the module docstring."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return (
            f"FictionalWorld(seed={self.seed}, entities={self.active:,}, kinds={len(self.kinds):,})"
        )

    def __init__(self, seed: int, knobs: dict[str, Any], bank: NameBank, tax: dict[str, Any],
                 cols: dict[str, np.ndarray], active: int | None = None):  # fmt: skip
        self.seed = seed
        self.knobs = knobs
        self.bank = bank
        self.cols = cols
        self.active = cols["kind"].shape[0] if active is None else active
        self.kinds = tax["kinds"]
        self.kind_props = {k: [tuple(p) for p in v] for k, v in tax["kind_props"].items()}
        self._world_rules = [Rule(r["id"], tuple(map(tuple, r["if"])), tuple(r["then"]))
                             for r in tax["world_rules"]]  # fmt: skip
        self.relations = {r.id: r for r in RELATIONS}
        self._algebra = relation_rules(RELATIONS)
        self.names = {}  # Russian names derive from the ids (unique by construction)
        self.extra_facts = []
        self.extra_parents = {}
        self.unmapped = {}
        self.source = ""
        self.iris = {}
        self.forms = {}  # its labels are the words the phrase banks were written for
        self.place_facts = _PlaceFacts(self)
        self._kind_list = list(self.kinds)
        self._kind_index = {k: i for i, k in enumerate(self._kind_list)}
        self._folder: Path | None = None
        self._closure_cache = lru_cache(maxsize=CLOSURES_KEPT)(self._closure_of)
        self._kind_closure = lru_cache(maxsize=KINDS_KEPT)(self._kind_part)
        self._block_closure = lru_cache(maxsize=BLOCKS_KEPT)(self._block_part)
        self._kind_rule_cache: dict[str, list[Rule]] = {}
        self._rules_of_kind: dict[str, list[Rule]] = {}
        for r in self._world_rules:  # a world rule is about the members of one kind
            scope = next((p[2] for p in r.premises if p[1] == ISA), None)
            self._rules_of_kind.setdefault(scope, []).append(r)

    # -- sharing with workers ------------------------------------------------------------

    def share(self, root: Path) -> None:
        """Write the columns under `root/<key>` (once per world) and map them back
        read-only; afterwards pickling this world sends only the folder."""
        from synth.shards.atomic import atomic_dir

        key = derive_seed("world-v1", self.seed, json.dumps(self.knobs, sort_keys=True))
        folder = Path(root) / f"{key:016x}"
        if not (folder / "meta.json").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            with atomic_dir(folder) as tmp:
                for name, arr in self.cols.items():
                    np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr))
                (tmp / "meta.json").write_text(json.dumps(
                    {"seed": self.seed, "knobs": self.knobs, "tax": self._tax(),
                     "names": self.bank.to_json()}))  # fmt: skip
        self.cols = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in self.cols}
        self._folder = folder

    def _tax(self) -> dict[str, Any]:
        return {
            "kinds": self.kinds,
            "kind_props": self.kind_props,
            "world_rules": [r.to_json() for r in self._world_rules],
        }

    def __reduce__(self):
        if self._folder is not None:
            return (_open_shared, (str(self._folder), self.active))
        return (_rebuild, (self.seed, self.knobs, self._tax(), dict(self.cols), self.active))

    # -- structure -------------------------------------------------------------------

    @property
    def entities(self) -> Sequence[Entity]:  # type: ignore[override]
        return _Entities(self)

    @property
    def entity_by_id(self) -> Mapping[str, Entity]:  # type: ignore[override]
        return _ByName(self)

    def index_of(self, eid: str) -> int | None:
        i = self.bank.index_of(eid)
        return i if i is not None and i < self.active else None

    def entity(self, i: int) -> Entity:
        c, k = self.cols, self.knobs
        attrs: dict[str, Any] = {}
        wanted = k["attributes"]
        for a in wanted:
            if a == "colour":
                attrs[a] = WORLD_COLOURS[int(c["colour"][i])]
            elif a == "lives_in":
                attrs[a] = self.bank.places[int(c["home"][i])]
            elif a == "works_as":
                attrs[a] = WORLD_JOBS[int(c["job"][i])]
            elif a == "born_in":
                attrs[a] = self.bank.places[int(c["born_in"][i])]
            elif a == "moved_year":
                y = int(c["moved_year"][i])
                if y > 0:
                    attrs[a] = str(y)
            elif a in ("born_year", "height_cm", "weight_kg"):
                attrs[a] = str(int(c[a][i]))
            elif a == "speaks":
                attrs[a] = tuple(LANGUAGES[int(x)] for x in c["speaks"][i] if x >= 0)
            elif a == "skilled_in":
                attrs[a] = tuple(CRAFTS[int(x)] for x in c["skilled_in"][i] if x >= 0)
        return Entity(self.bank.person(i), self._kind_list[int(c["kind"][i])], attrs)

    def restricted(self, n_entities: int) -> World:
        if n_entities >= self.active:
            return self
        w = FictionalWorld(self.seed, self.knobs, self.bank, self._tax(), self.cols, n_entities)
        w._folder = self._folder
        return w

    @property
    def rules(self) -> list[Rule]:  # type: ignore[override]
        """Every rule (a few per kind): for a report or a small world; families ask for
        the rules of one kind (`kind_rules`) or the world's own (`world_rules`)."""
        out = [r for k in self._kind_list for r in self.kind_rules(k)]
        return out + self._algebra + self._world_rules

    def kind_rules(self, kind: str) -> list[Rule]:
        rules = self._kind_rule_cache.get(kind)
        if rules is None:
            rules = kind_rules(kind, self.kinds.get(kind), self.kind_props.get(kind, []))
            self._kind_rule_cache[kind] = rules
        return rules

    @property
    def world_rules(self) -> list[Rule]:
        return list(self._world_rules)

    @property
    def algebra_rules(self) -> list[Rule]:
        return list(self._algebra)

    @property
    def rule_by_id(self) -> Mapping[str, Rule]:  # type: ignore[override]
        return _RuleIndex(self)

    def members(
        self, kind: str, limit: int | None = None, below: int | None = None
    ) -> list[Entity]:
        """Beings of exactly `kind` among the first `below` (default: all active)."""
        ki = self._kind_index.get(kind)
        if ki is None:
            return []
        order, ptr = self._index("kind")
        idx = order[ptr[ki] : ptr[ki + 1]]
        idx = idx[idx < (self.active if below is None else min(below, self.active))]
        if limit is not None:
            idx = idx[:limit]
        return [self.entity(int(i)) for i in idx]

    @property
    def links(self) -> list[Triple]:  # type: ignore[override]
        """Every stated link (a small world's report; families use `links_of`)."""
        c = self.cols
        keep = (c["link_s"] < self.active) & (c["link_o"] < self.active)
        return [(self.bank.person(int(s)), STATED_RELATIONS[int(r)], self.bank.person(int(o)))
                for s, r, o in zip(c["link_s"][keep], c["link_r"][keep], c["link_o"][keep])]  # fmt: skip

    def links_of(self, eid: str) -> list[Triple]:
        i = self.index_of(eid)
        if i is None:
            return []
        return [self._triple(j) for j in self._link_rows(i)]

    def _link_rows(self, i: int) -> list[int]:
        c = self.cols
        out_ptr, in_order, in_ptr = c["out_ptr"], c["in_order"], c["in_ptr"]
        rows = list(range(int(out_ptr[i]), int(out_ptr[i + 1])))
        rows += [int(x) for x in in_order[int(in_ptr[i]) : int(in_ptr[i + 1])]]
        rows = [j for j in sorted(set(rows)) if self._live(j)]
        return rows

    def _live(self, row: int) -> bool:
        c = self.cols
        return int(c["link_s"][row]) < self.active and int(c["link_o"][row]) < self.active

    def _triple(self, row: int) -> Triple:
        c = self.cols
        return (self.bank.person(int(c["link_s"][row])), STATED_RELATIONS[int(c["link_r"][row])],
                self.bank.person(int(c["link_o"][row])))  # fmt: skip

    def block_links(self, i: int) -> list[Triple]:
        """The stated links among the beings of `i`'s block (where chains live)."""
        b = self.knobs["block"]
        lo, hi = (i // b) * b, min(self.active, (i // b + 1) * b)
        ptr = self.cols["out_ptr"]
        return [self._triple(j) for j in range(int(ptr[lo]), int(ptr[hi])) if self._live(j)]

    # -- closures ------------------------------------------------------------------------

    def closure_of(self, ident: str) -> Closure:
        return self._closure_cache(ident)

    def _closure_of(self, ident: str) -> Closure:
        i = self.index_of(ident)
        if i is None:  # a place or a kind: what the world states about it is given
            return Closure(self.place_facts.get(ident, []), [])
        e = self.entity(i)
        # Three parts no rule connects, each closed on its own and kept where it is
        # shared: what the being's kind gives it (the same for every member, kept per
        # kind), the chains of its block (transitive relations, kept per block) and
        # what its other links give (a symmetric or inverse fact each).
        rules, kind_part = self._kind_closure(e.kind)
        derived = [(n, _own(f, e.id), (why[0], tuple(_own(p, e.id) for p in why[1])))
                   for n, f, why in kind_part]  # fmt: skip
        chains, chain_part = self._block_closure(i // self.knobs["block"])
        other = sorted(f for f in self.links_of(e.id) if f[1] not in TRANSITIVE)
        if other:
            derived += Closure(other, self._algebra).rounds()
        given = sorted({*chains, *other})
        c = Closure.assembled([(e.id, ISA, e.kind), *given], derived + chain_part,
                              rules + self._algebra)  # fmt: skip
        c.add_given(e.attr_facts())  # attributes: no rule of a fictional world reads them
        return c

    def _block_part(self, b: int) -> tuple[list[Triple], list]:
        """The chains among block `b`'s beings and what the relation algebra derives
        from them: (given, [(round, fact, why)])."""
        links = self.block_links(b * self.knobs["block"])
        given = sorted(f for f in links if f[1] in TRANSITIVE)
        return given, Closure(given, self._algebra).rounds() if given else []

    def _kind_part(self, kind: str) -> tuple[list[Rule], list]:
        """The rules a member of `kind` falls under and what they derive of it, with the
        member written `_SELF`: (rules, [(round, fact, why)])."""
        chain = [kind, *self.ancestors(kind)]
        rules = [r for k in chain for r in self.kind_rules(k) + self._rules_of_kind.get(k, [])]
        return rules, Closure([(_SELF, ISA, kind)], rules).rounds()

    @property
    def closure(self) -> Closure:  # type: ignore[override]
        if self.active > 20_000:
            raise RuntimeError("a world this large is closed one being at a time (closure_of)")
        return Closure(self.stated_facts(), self.rules)

    def derived_any(self) -> bool:
        return any(self.kind_props.values()) or self.knobs["chains"] > 0

    # -- values --------------------------------------------------------------------------

    def residents(self, attr: str, value: str, limit: int | None = None) -> list[Entity]:
        col = {"lives_in": "home", "born_in": "born_in"}.get(attr)
        if col is None:
            return super().residents(attr, value, limit)
        j = self._place_index.get(value)
        if j is None:
            return []
        order, ptr = self._index(col)
        idx = order[ptr[j] : ptr[j + 1]]
        idx = idx[idx < self.active]
        if limit is not None:
            idx = idx[:limit]
        return [self.entity(int(i)) for i in idx]

    def values_of(self, attr: str) -> list[str]:
        if attr in ("lives_in", "born_in"):
            col = self.cols["home" if attr == "lives_in" else "born_in"][: self.active]
            return sorted(self.bank.places[int(j)] for j in np.unique(col))
        vocab = {"speaks": (LANGUAGES, "languages"), "skilled_in": (CRAFTS, "crafts"),
                 "colour": (WORLD_COLOURS, "colours"), "works_as": (WORLD_JOBS, "jobs")}  # fmt: skip
        if attr in vocab:
            words, knob = vocab[attr]
            return sorted(words[: self.knobs[knob]])
        return super().values_of(attr)

    @property
    def _place_index(self) -> dict[str, int]:
        idx = self.__dict__.get("_place_idx")
        if idx is None:
            idx = self.__dict__["_place_idx"] = {p: j for j, p in enumerate(self.bank.places)}
        return idx

    @property
    def _by_value(self):  # type: ignore[override]
        idx = self.__dict__.get("_by_value_small")
        if idx is None:
            if self.active > 20_000:
                raise RuntimeError("values of a large world are indexed by column")
            out: dict[tuple[str, str], list[int]] = {}
            for i in range(self.active):
                for _, a, v in self.entity(i).attr_facts():
                    out.setdefault((a, v), []).append(i)
            idx = self.__dict__["_by_value_small"] = out
        return idx

    def _index(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices sorted by `col`'s value, start of each value): a CSR index."""
        key = f"_csr_{col}"
        got = self.__dict__.get(key)
        if got is None:
            values = np.asarray(self.cols[col])
            order = np.argsort(values, kind="stable").astype(np.int32)
            size = {"kind": len(self._kind_list)}.get(col, len(self.bank.places))
            ptr = np.zeros(size + 1, dtype=np.int64)
            np.add.at(ptr, values.astype(np.int64) + 1, 1)
            got = self.__dict__[key] = (order, np.cumsum(ptr))
        return got

    def stated_facts(self) -> list[Triple]:
        out: list[Triple] = []
        for i in range(self.active):
            e = self.entity(i)
            out.append((e.id, ISA, e.kind))
            out.extend(e.attr_facts())
        out.extend(self.links)
        return out


class _Entities(Sequence):
    """The beings of a fictional world as a sequence, made on access."""

    def __init__(self, w: FictionalWorld):
        self.w = w

    def __len__(self) -> int:
        return self.w.active

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self.w.entity(j) for j in range(*i.indices(self.w.active))]
        if i < 0:
            i += self.w.active
        if not 0 <= i < self.w.active:
            raise IndexError(i)
        return self.w.entity(i)

    def __iter__(self) -> Iterator[Entity]:
        for i in range(self.w.active):
            yield self.w.entity(i)


class _ByName(Mapping):
    def __init__(self, w: FictionalWorld):
        self.w = w

    def __getitem__(self, eid: str) -> Entity:
        i = self.w.index_of(eid)
        if i is None:
            raise KeyError(eid)
        return self.w.entity(i)

    def __contains__(self, eid: object) -> bool:
        return isinstance(eid, str) and self.w.index_of(eid) is not None

    def __iter__(self) -> Iterator[str]:
        return (self.w.bank.person(i) for i in range(self.w.active))

    def __len__(self) -> int:
        return self.w.active


class _RuleIndex(Mapping):
    def __init__(self, w: FictionalWorld):
        self.w = w

    def __getitem__(self, rid: str) -> Rule:
        for r in self.w._algebra + self.w._world_rules:
            if r.id == rid:
                return r
        kind = rid.split(":", 1)[0]
        for r in self.w.kind_rules(kind) if kind in self.w.kinds else []:
            if r.id == rid:
                return r
        raise KeyError(rid)

    def __iter__(self) -> Iterator[str]:
        return (r.id for r in self.w.rules)

    def __len__(self) -> int:
        return len(self.w.rules)


class _PlaceFacts(Mapping):
    """place -> what the world states about it (population, founding year, region,
    elevation), made on access."""

    def __init__(self, w: FictionalWorld):
        self.w = w

    def __getitem__(self, place: str) -> list[Triple]:
        j = self.w._place_index.get(place)
        if j is None:
            raise KeyError(place)
        c = self.w.cols
        return [
            (place, "lies_in", self.w.bank.regions[int(c["place_region"][j])]),
            (place, "population", str(int(c["place_population"][j]))),
            (place, "founded_year", str(int(c["place_founded"][j]))),
            (place, "elevation_m", str(int(c["place_elevation"][j]))),
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(self.w.bank.places)

    def __len__(self) -> int:
        return len(self.w.bank.places)


def _own(f: Triple, eid: str) -> Triple:
    return (eid, f[1], f[2]) if f[0] == _SELF else f


def _open_shared(folder: str, active: int) -> FictionalWorld:
    """A shared world in a worker: the columns mapped from the folder `share()` wrote."""
    meta = json.loads((Path(folder) / "meta.json").read_text())
    k = meta["knobs"]
    cols = {p.stem: np.load(p, mmap_mode="r") for p in Path(folder).glob("*.npy")}
    bank = NameBank.from_json(meta["names"])
    w = FictionalWorld(meta["seed"], k, bank, meta["tax"], cols, active)
    w._folder = Path(folder)
    return w


def _rebuild(seed: int, knobs: dict[str, Any], tax: dict[str, Any], cols: dict, active: int):
    return FictionalWorld(seed, knobs, _bank(seed, knobs), tax, cols, active)


@lru_cache(maxsize=4)
def _bank_cached(seed: int, kinds: int, places: int, regions: int, surnames: bool) -> NameBank:
    return NameBank(seed, kinds, places, regions, surnames)


def _bank(seed: int, k: dict[str, Any]) -> NameBank:
    return _bank_cached(seed, k["kinds"], k["places"], k["regions"], k["surnames"])


# -- building one ------------------------------------------------------------------------


def build_world(seed: int, cfg: dict[str, Any] | None = None) -> FictionalWorld:
    """The world for `seed` and the knobs in `cfg` (over DEFAULTS): the same world in
    every process."""
    k = knobs(cfg or {})
    bank = _bank(seed, k)
    rng = random.Random(derive_seed(seed, "world", "taxonomy"))
    tax = _taxonomy(rng, k, bank)
    npr = np.random.default_rng(derive_seed(seed, "world", "columns"))
    kind_depth = np.array([tax["depth"][x] for x in tax["kinds"]], dtype=np.int64)
    cols = _beings(npr, k, kind_depth)
    _places(npr, k, cols)
    _links(random.Random(derive_seed(seed, "world", "links")), k, cols)
    tax["world_rules"] = _world_rules(rng, k, tax, cols)
    del tax["depth"]
    return FictionalWorld(seed, k, bank, tax, cols)


def _taxonomy(rng: random.Random, k: dict[str, Any], bank: NameBank) -> dict[str, Any]:
    """A forest of kinds (its roots the first few), each with properties no ancestor
    settled."""
    kinds: dict[str, str | None] = {}
    depth: dict[str, int] = {}
    n_roots = max(1, min(4, k["kinds"] // 6))
    eligible: list[str] = []
    for i in range(k["kinds"]):
        name = bank.kinds[i]
        if i < n_roots:
            kinds[name], depth[name] = None, 0
        else:
            pool = eligible or list(kinds)
            parent = pool[rng.randrange(len(pool))]
            kinds[name], depth[name] = parent, depth[parent] + 1
        if depth[name] < k["depth"] - 1:
            eligible.append(name)
    kind_props: dict[str, list[tuple[str, bool]]] = {}
    settled_of: dict[str, frozenset[str]] = {}
    alternate = 0
    for kind, parent in kinds.items():
        settled = settled_of[parent] if parent is not None else frozenset()
        free = [x for x in PROPERTIES if x not in settled]
        chosen = rng.sample(free, min(len(free), k["properties_per_kind"]))
        if k["balanced"]:
            kind_props[kind] = [(x, (alternate + j) % 2 == 0) for j, x in enumerate(chosen)]
            alternate += len(chosen)
        else:
            kind_props[kind] = [(x, rng.random() >= k["negative_share"]) for x in chosen]
        settled_of[kind] = settled | frozenset(chosen)
    return {"kinds": kinds, "kind_props": kind_props, "depth": depth}


def _choose_distinct(npr: np.random.Generator, n: int, vocab: int, k_max: int,
                     p: list[float]) -> np.ndarray:  # fmt: skip
    """n rows of 1..k_max distinct values from range(vocab) (-1 pads), in chunks."""
    out = np.full((n, k_max), -1, dtype=np.int16)
    counts = npr.choice(np.arange(1, k_max + 1), size=n, p=p)
    counts = np.minimum(counts, vocab)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        keys = npr.random((hi - lo, vocab))
        top = np.argsort(keys, axis=1)[:, :k_max].astype(np.int16)
        top.sort(axis=1)
        mask = np.arange(k_max)[None, :] < counts[lo:hi, None]
        out[lo:hi] = np.where(mask, top, -1)
    return out


def _beings(
    npr: np.random.Generator, k: dict[str, Any], kind_depth: np.ndarray
) -> dict[str, np.ndarray]:
    n, b, places = k["entities"], k["block"], k["places"]
    w = (1 + kind_depth).astype(np.float64)
    cols: dict[str, np.ndarray] = {
        "kind": npr.choice(len(kind_depth), size=n, p=w / w.sum()).astype(np.int32),
        "colour": npr.integers(0, k["colours"], n, dtype=np.int16),
        "job": npr.integers(0, k["jobs"], n, dtype=np.int16),
    }
    # A household shares a home more often than not: a town's residents are kin.
    blocks = (n + b - 1) // b
    block_home = npr.integers(0, places, blocks, dtype=np.int32)
    home = np.where(npr.random(n) < 0.7, np.repeat(block_home, b)[:n],
                    npr.integers(0, places, n, dtype=np.int32))  # fmt: skip
    cols["home"] = home.astype(np.int32)
    born_in = np.where(npr.random(n) < 0.6, home, npr.integers(0, places, n, dtype=np.int32))
    cols["born_in"] = born_in.astype(np.int32)
    # A household's members are born within a few decades of one another.
    base = 1650 + npr.integers(0, LAST_BIRTH - 1650 - 40, blocks)
    spread = np.round(npr.normal(0, 12, n)).astype(np.int64)
    cols["born_year"] = np.clip(np.repeat(base, b)[:n] + spread, 1600, LAST_BIRTH).astype(np.int16)
    cols["moved_after"] = npr.integers(12, 45, n).astype(np.int16)  # years before moving
    height = np.clip(npr.normal(168, 11, n), 128, 214).astype(np.int16)
    cols["height_cm"] = height
    cols["weight_kg"] = np.clip((height - 100) * 0.95 + npr.normal(0, 7, n), 38, 160).astype(
        np.int16
    )
    cols["speaks"] = _choose_distinct(npr, n, k["languages"], 3, [0.5, 0.35, 0.15])
    cols["skilled_in"] = _choose_distinct(npr, n, k["crafts"], 2, [0.55, 0.45])
    return cols


def _places(npr: np.random.Generator, k: dict[str, Any], cols: dict[str, np.ndarray]) -> None:
    p = k["places"]
    cols["place_region"] = npr.integers(0, k["regions"], p, dtype=np.int32)
    pop = np.clip(npr.lognormal(8.2, 1.3, p), 60, 900_000)
    cols["place_population"] = (np.round(pop / 10) * 10).astype(np.int32)
    cols["place_founded"] = (600 + npr.integers(0, 1000, p)).astype(np.int16)
    cols["place_elevation"] = npr.integers(0, 2400, p).astype(np.int16)


def _links(rng: random.Random, k: dict[str, Any], cols: dict[str, np.ndarray]) -> None:
    """Links inside each block, drawn so that every number agrees with every relation
    (birth years are adjusted for chain members before the links are made)."""
    n, b = k["entities"], k["block"]
    lo_len, hi_len = k["chain_length"]
    rate = {name: k[name] / n for name in ("chains", "neighbours", "mentors", "friends")}
    year = cols["born_year"].astype(np.int64)
    home = cols["home"]
    rel_id = {r: i for i, r in enumerate(STATED_RELATIONS)}
    s_out: list[int] = []
    r_out: list[int] = []
    o_out: list[int] = []

    def count(x: float) -> int:
        whole = int(x)
        return whole + (1 if rng.random() < x - whole else 0)

    def add(s: int, r: str, o: int) -> None:
        s_out.append(s)
        r_out.append(rel_id[r])
        o_out.append(o)

    chain_no = 0
    for lo in range(0, n, b):
        members = list(range(lo, min(n, lo + b)))
        free = list(members)
        rng.shuffle(free)
        pairs: set[tuple[int, int]] = set()
        for _ in range(count(rate["chains"] * len(members))):
            size = rng.randint(lo_len, hi_len)
            if len(free) < max(2, min(size, lo_len)):
                break
            chain = sorted(free[:size], key=lambda i: (year[i], i))
            del free[:size]
            rel = "ancestor_of" if chain_no % 2 == 0 else "older_than"
            chain_no += 1
            gap = (18, 34) if rel == "ancestor_of" else (1, 9)
            for a, c in zip(chain, chain[1:]):
                year[c] = max(year[c], year[a] + rng.randint(*gap))
            late = int(year[chain[-1]]) - LAST_BIRTH
            if late > 0:  # the whole chain earlier, its gaps kept
                for i in chain:
                    year[i] -= late
            for a, c in zip(chain, chain[1:]):
                add(a, rel, c)
                pairs.add((min(a, c), max(a, c)))
        for _ in range(count(rate["neighbours"] * len(members))):
            a, c = rng.sample(members, 2) if len(members) > 1 else (0, 0)
            if a != c and home[a] == home[c] and (min(a, c), max(a, c)) not in pairs:
                pairs.add((min(a, c), max(a, c)))
                add(min(a, c), "neighbour_of", max(a, c))
        for _ in range(count(rate["mentors"] * len(members))):
            a, c = rng.sample(members, 2) if len(members) > 1 else (0, 0)
            if a == c or (min(a, c), max(a, c)) in pairs:
                continue
            m, ap = (a, c) if year[a] <= year[c] else (c, a)
            if year[ap] - year[m] >= 8:
                pairs.add((min(a, c), max(a, c)))
                add(m, "mentor_of", ap)
        for _ in range(count(rate["friends"] * len(members))):
            a, c = rng.sample(members, 2) if len(members) > 1 else (0, 0)
            near = abs(int(year[a]) - int(year[c])) <= 25  # friends are of an age
            if a != c and near and (min(a, c), max(a, c)) not in pairs:
                pairs.add((min(a, c), max(a, c)))
                add(min(a, c), "friend_of", max(a, c))
    cols["born_year"] = year.astype(np.int16)
    moved = cols["home"] != cols["born_in"]
    cols["moved_year"] = np.where(
        moved, np.minimum(year + cols.pop("moved_after"), 2000), 0
    ).astype(np.int16)
    s = np.array(s_out, dtype=np.int32)
    r = np.array(r_out, dtype=np.int8)
    o = np.array(o_out, dtype=np.int32)
    order = np.lexsort((o, r, s))
    s, r, o = s[order], r[order], o[order]
    cols["link_s"], cols["link_r"], cols["link_o"] = s, r, o
    out_ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(out_ptr, s.astype(np.int64) + 1, 1)
    cols["out_ptr"] = np.cumsum(out_ptr)
    in_order = np.argsort(o, kind="stable").astype(np.int64)
    in_ptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(in_ptr, o.astype(np.int64) + 1, 1)
    cols["in_order"], cols["in_ptr"] = in_order, np.cumsum(in_ptr)


def _world_rules(rng: random.Random, k: dict[str, Any], tax: dict[str, Any],
                 cols: dict[str, np.ndarray]) -> list[dict]:  # fmt: skip
    """The world's own rules: "every K that is P and Q is R", for a kind K and properties
    P, Q its members have (so the rule fires) and R that no kind below K denies (so no
    being is ever both R and not R). A rule's conclusion is never another rule's premise,
    so each rule is checked alone, on K's subtree only: a world of 250,000 kinds keeps
    hundreds of rules where one check over every kind would find none."""
    kinds, kind_props = tax["kinds"], tax["kind_props"]
    names = list(kinds)
    index = {x: i for i, x in enumerate(names)}
    children: dict[int, list[int]] = {}
    for x, parent in kinds.items():
        if parent is not None:
            children.setdefault(index[parent], []).append(index[x])
    pos: list[frozenset[str]] = []
    neg: list[frozenset[str]] = []
    for kind in names:  # parents come first: inherit, then add own
        parent = kinds[kind]
        p0, n0 = (
            (pos[index[parent]], neg[index[parent]])
            if parent is not None
            else (frozenset(), frozenset())
        )
        pos.append(p0 | {p for p, h in kind_props[kind] if h})
        neg.append(n0 | {p for p, h in kind_props[kind] if not h})
    used = np.zeros(len(names), dtype=bool)
    used[np.unique(cols["kind"])] = True  # kinds that have beings
    candidates = [i for i in range(len(names)) if children.get(i)] or list(range(len(names)))
    premises: set[str] = set()
    conclusions: set[str] = set()
    rules: list[dict] = []
    attempts = 0
    while len(rules) < k["rules"] and attempts < 20 * (k["rules"] + 1):
        attempts += 1
        ki = candidates[rng.randrange(len(candidates))]
        subtree = [ki]
        for j in subtree:  # grows as it is walked
            subtree.extend(children.get(j, ()))
        have = sorted(set().union(*(pos[j] for j in subtree if used[j])) - conclusions)
        if len(have) < 2:
            continue
        p1, p2 = rng.sample(have, 2)
        free = [x for x in PROPERTIES if x not in (p1, p2) and x not in premises]
        if not free:
            continue
        concl = rng.choice(free)
        fires = [j for j in subtree if used[j] and {p1, p2} <= pos[j]]
        if not fires or any(concl in neg[j] for j in fires) or all(concl in pos[j] for j in fires):
            continue  # never fires, would contradict, or says nothing new
        premises.update((p1, p2))
        conclusions.add(concl)
        rules.append(
            {
                "id": f"rule{len(rules) + 1}",
                "if": [["?x", ISA, names[ki]], ["?x", HAS, p1], ["?x", HAS, p2]],
                "then": ["?x", HAS, concl],
            }  # fmt: skip
        )
    return rules


def _ancestors(kinds: dict[str, str | None], kind: str) -> list[str]:
    out, p = [], kinds[kind]
    while p is not None:
        out.append(p)
        p = kinds[p]
    return out
