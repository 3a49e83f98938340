"""The fictional world at scale: sized by the budget, rich per being, every number in
agreement with every relation, names unique in both languages, closures per being that
equal the whole world's, and a shared (memory-mapped) world that workers read as is."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

from synth.world.fictional import NUMERIC, build_world, sizes
from synth.world.model import HAS, ISA
from synth.world.names import NameBank
from synth.world.solver import Closure


@pytest.fixture(scope="module")
def world():
    return build_world(3, sizes(3000, 300))


def test_sizes_grow_with_the_budget():
    small, large = sizes(600), sizes(1_250_000, 250_000)
    for knob in ("entities", "kinds", "places", "regions", "chains", "rules", "jobs"):
        assert large[knob] > small[knob], knob
    assert large["depth"] > small["depth"]
    assert sizes(300)["kinds"] == 24  # a small world reads as it always has


def test_same_seed_same_world_other_seed_other_world(world):
    again = build_world(3, sizes(3000, 300))
    other = build_world(4, sizes(3000, 300))
    for i in (0, 17, 2999):
        assert world.entity(i) == again.entity(i)
        assert world.facts_about(world.entity(i).id) == again.facts_about(again.entity(i).id)
    assert [world.entity(i) for i in range(20)] != [other.entity(i) for i in range(20)]


def test_a_being_carries_a_dozen_facts_of_varied_types(world):
    n = 400
    facts = [world.facts_about(world.entity(i).id) for i in range(n)]
    assert sum(map(len, facts)) / n >= 12
    rels = Counter(f[1] for fs in facts for f in fs)
    for r in ("born_year", "height_cm", "weight_kg", "speaks", "skilled_in", "born_in"):
        assert rels[r] > 0, r
    assert (
        sum(
            1
            for r in ("ancestor_of", "older_than", "neighbour_of", "mentor_of", "friend_of")
            if rels[r]
        )
        >= 4
    )
    multi = [world.entity(i).attrs["speaks"] for i in range(n)]
    assert any(len(v) > 1 for v in multi)  # several values of one attribute


def test_every_number_agrees_with_every_relation(world):
    year = {}
    home = {}
    for i in range(len(world.entities)):
        e = world.entity(i)
        year[e.id] = int(e.attrs["born_year"])
        home[e.id] = e.attrs["lives_in"]
        if "moved_year" in e.attrs:
            assert int(e.attrs["moved_year"]) > year[e.id]
            assert e.attrs["born_in"] != e.attrs["lives_in"]
        else:
            assert e.attrs["born_in"] == e.attrs["lives_in"]
    links = world.links
    assert len(links) > 1000
    for s, r, o in links:
        gap = year[o] - year[s]
        if r == "ancestor_of":
            assert gap >= 18, (s, r, o)
        elif r in ("older_than", "mentor_of"):
            assert gap >= 1, (s, r, o)
        elif r == "neighbour_of":
            assert home[s] == home[o]
        elif r == "friend_of":
            assert abs(gap) <= 25
    founded = {
        p: int(v)
        for p in world.bank.places
        for (_, a, v) in world.place_facts[p]
        if a == "founded_year"
    }
    assert max(founded.values()) < min(year.values())


def test_names_are_unique_in_latin_and_cyrillic_for_millions():
    from synth.russian.names import first_ru, kind_ru, last_ru, place_ru

    bank = NameBank(0, 2000, 3000, 200, True)
    for names, ru in ((bank.first, first_ru), (bank.last, last_ru), (bank.kinds, kind_ru),
                      (bank.places + bank.regions, place_ru)):  # fmt: skip
        assert len(set(names)) == len(names)
        assert len({ru(x) for x in names}) == len(names)
    assert bank.space >= 10_000_000  # pairs of unique parts: unique by construction
    rng = np.random.default_rng(0)
    for i in rng.integers(0, 12_000_000, 2000):
        assert bank.index_of(bank.person(int(i))) == int(i)


def test_a_beings_closure_is_the_whole_worlds(world):
    """The closure of one being's facts and its household's links under its kinds' rules
    holds exactly the facts the whole world's closure holds about it."""
    small = world.restricted(600)
    whole = Closure(small.stated_facts(), small.rules)
    about: dict[str, set] = {}
    for f in whole.facts():
        about.setdefault(f[0], set()).add(f)
    for i in range(0, 600, 7):
        eid = small.entity(i).id
        assert set(small.facts_about(eid)) == about[eid], eid
    derived = [f for f in whole.derived() if f[1] in (ISA, HAS, "not:" + HAS)]
    assert derived  # the check above is about something


def test_a_beings_closure_assembled_from_its_parts_is_the_one_run(world):
    """A being's closure is assembled from its kind's part, its block's chains and its
    other links, each closed on its own: the same facts, the same proof of each and the
    same order as closing all of its facts under all of its rules in one run."""
    from synth.world.fictional import TRANSITIVE

    checked = chained = ruled = 0
    for i in range(0, world.active, 11):
        e = world.entity(i)
        links = set(world.links_of(e.id))
        links.update(f for f in world.block_links(i) if f[1] in TRANSITIVE)
        chain = [e.kind, *world.ancestors(e.kind)]
        rules = [r for k in chain for r in world.kind_rules(k) + world._rules_of_kind.get(k, [])]
        one = Closure([(e.id, ISA, e.kind), *sorted(links)], rules + world._algebra)
        one.add_given(e.attr_facts())
        got = world._closure_of(e.id)
        assert list(got.why.items()) == list(one.why.items()), e.id
        assert {r: set(f) for r, f in got._by_rel.items()} == dict(one._by_rel), e.id
        checked += 1
        chained += any(w is not None and w[0].endswith(":transitive") for w in one.why.values())
        ruled += any(w is not None and w[0].startswith("rule") for w in one.why.values())
    assert checked > 200 and chained > 20 and ruled > 0  # chains and world rules were met


def test_a_shared_world_pickles_as_its_folder(world, tmp_path):
    w = build_world(5, sizes(50_000, 2000))
    before = [w.facts_about(w.entity(i).id) for i in (0, 49_999)]
    w.share(tmp_path)
    blob = pickle.dumps(w)
    assert len(blob) < 2000
    back = pickle.loads(blob)
    assert isinstance(back.cols["kind"], np.memmap)
    assert [back.facts_about(back.entity(i).id) for i in (0, 49_999)] == before


def test_numbers_are_whole_and_plausible(world):
    for i in range(0, 3000, 11):
        e = world.entity(i)
        for a in NUMERIC:
            if a in e.attrs:
                assert e.attrs[a].isdigit()
        assert 128 <= int(e.attrs["height_cm"]) <= 214
