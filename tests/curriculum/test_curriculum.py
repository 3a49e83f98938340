"""The corpus is a curriculum: checked at start-up, and checkable from the shards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from synth.curriculum.check import check_corpus, read_rows
from synth.curriculum.concepts import build_graph, to_dot
from synth.curriculum.tier import load_tier
from synth.errors import UserError
from synth.templating import TemplateLibrary

TIERS = ["command", "structural", "ontology"]


def _pack(tmp_path: Path, templates: dict[str, tuple[list[str], list[str]]]) -> Path:
    """A pack of ontology templates with the given (introduces, requires)."""
    pack = tmp_path / "pack"
    pack.mkdir()
    for name, (intro, req) in templates.items():
        (pack / f"{name}.j2").write_text(
            f"---\nid: t.{name}\nkind: ontology\nlang: en\nfamily: attribute_question\nshape: document\n"
            f"introduces: {json.dumps(intro)}\nrequires: {json.dumps(req)}\n---\n{{{{ e.name }}}}\n"
        )
    return pack


def _tier(tmp_path: Path, stages: list[dict]) -> Path:
    names = sorted({t for s in stages for t in s["templates"]})
    f = tmp_path / "tier.yaml"
    f.write_text(
        yaml.safe_dump(
            {"tier": "t", "budget": "1M", "templates": {t: 1 for t in names}, "stages": stages}
        )
    )
    return f


def test_cycle_is_named_with_its_templates(tmp_path):
    pack = _pack(tmp_path, {"a": (["x"], ["y"]), "b": (["y"], ["x"])})
    cfg = load_tier(str(_tier(tmp_path, [{"name": "s", "share": 1, "templates": ["t.a", "t.b"]}])))
    with pytest.raises(UserError, match=r"concept cycle .*t\.a.*t\.b"):
        build_graph(cfg, TemplateLibrary([pack], builtin=False))


def test_missing_prerequisite_is_named(tmp_path):
    pack = _pack(tmp_path, {"a": (["x"], []), "b": (["y"], ["nowhere"])})
    cfg = load_tier(str(_tier(tmp_path, [{"name": "s", "share": 1, "templates": ["t.a", "t.b"]}])))
    with pytest.raises(
        UserError, match=r"'nowhere' is required by t\.b but no template introduces it"
    ):
        build_graph(cfg, TemplateLibrary([pack], builtin=False))


def test_prerequisite_in_a_later_stage_is_named(tmp_path):
    pack = _pack(tmp_path, {"a": (["x"], []), "b": (["y"], ["x"])})
    stages = [
        {"name": "first", "share": 0.5, "templates": ["t.b"]},
        {"name": "second", "share": 0.5, "templates": ["t.a"]},
    ]
    cfg = load_tier(str(_tier(tmp_path, stages)))
    with pytest.raises(
        UserError, match=r"stage 'first': template t\.b requires x .*stage 'second'"
    ):
        build_graph(cfg, TemplateLibrary([pack], builtin=False))


@pytest.mark.parametrize("tier", TIERS)
def test_builtin_tiers_have_a_valid_dag(tier):
    cfg = load_tier(tier)
    graph = build_graph(cfg, TemplateLibrary())
    assert graph.edges
    assert to_dot(cfg, graph).startswith("digraph")


@pytest.mark.parametrize("tier", TIERS)
def test_generated_corpus_passes_curriculum_check(corpus, tier):
    out, m = corpus(tier)
    rep = check_corpus(out)
    assert rep.ok, rep.problems
    assert rep.rows == m["totals"]["rows"]


@pytest.mark.parametrize("tier", TIERS)
def test_order_from_the_shards_alone(corpus, tier):
    """Reading stage, concepts, difficulty and formal only: no concept before its stage,
    no fact before it is stated, difficulty rising, replay at its fraction."""
    out, m = corpus(tier)
    cfg = load_tier(tier)
    stated: set = set()
    rows = list(read_rows(out, ["stage", "concepts", "difficulty", "formal", "replay", "kind"]))
    # Where each concept is introduced, as the corpus's own manifest records it.
    introduced = {c: i for i, st in enumerate(m["stages"]) for c in st["concepts"]}
    last = 0
    for stage, concepts, _difficulty, formal, _replay, kind in rows:
        assert stage >= last
        last = stage
        for c in concepts:
            assert introduced.get(c, 99) <= stage, (
                f"{c} used in stage {stage}, introduced in {introduced.get(c)}"
            )
        if kind == "ontology":
            f = json.loads(formal)
            own = {tuple(x) for x in f.get("states", [])}
            for fact in f["facts"]:
                assert tuple(fact) in stated or tuple(fact) in own, (
                    f"{fact} used before it is stated"
                )
            stated |= own
    n = len(cfg.stages)
    means = []
    for s in range(n):
        ds = [d for st, _c, d, *_ in rows if st == s]
        if ds:
            means.append(sum(ds) / len(ds))
    assert all(b >= a - 0.05 for a, b in zip(means, means[1:])), means
    for s, stage in enumerate(cfg.stages):
        reps = [r for st, _c, _d, _f, r, _k in rows if st == s]
        if s > 0 and stage.replay > 0 and len(reps) > 200:
            share = sum(reps) / len(reps)
            assert abs(share - stage.replay) <= 0.02, (s, share, stage.replay)


@pytest.mark.parametrize("bad", [0, -5, "many", True])
def test_tokens_per_entity_must_be_a_positive_number(tmp_path, bad):
    f = _tier(tmp_path, [{"name": "s", "share": 1, "templates": ["t.a"]}])
    raw = yaml.safe_load(f.read_text())
    assert load_tier(str(f)).tokens_per_entity == 2000  # the default
    f.write_text(yaml.safe_dump({**raw, "tokens_per_entity": 50}))
    assert load_tier(str(f)).tokens_per_entity == 50
    f.write_text(yaml.safe_dump({**raw, "tokens_per_entity": bad}))
    with pytest.raises(UserError, match=r"tier\.yaml: .*tokens_per_entity"):
        load_tier(str(f))


def test_a_plan_of_any_budget_takes_the_memory_of_its_stages():
    import tracemalloc

    from synth.curriculum import load_tier, make_schedule

    cfg = load_tier("ontology")
    tracemalloc.start()
    plan = make_schedule(cfg, 10**15, entities=1000, kinds=50)  # four billion units
    units = plan.units
    assert len(units) == 4 * 10**9 and units[-1].tail and not units[-2].tail
    assert [u.index for u in units.since(len(units) - 2)] == [len(units) - 2, len(units) - 1]
    assert tracemalloc.get_traced_memory()[1] < 1 << 20  # under a megabyte
    tracemalloc.stop()
    small = make_schedule(cfg, 3_000_000, entities=100, kinds=10)
    assert list(small.units) == [small.units[i] for i in range(len(small.units))]
    assert sum(u.tokens for u in small.units) == 3_000_000
    for s, (first, last) in enumerate(small.stage_units):
        assert {u.stage for u in small.units[first : last + 1]} == {s}
