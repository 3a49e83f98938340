"""How a unit sizes its batches when every candidate is a model call (synth.generation.unit,
`_llm_positions` and `_llm_draws`), and the schedule of an LLM run (small units, each
stage ending in a tail): what makes a 600-token run ask for tens of requests."""

from __future__ import annotations

from synth.curriculum import load_tier
from synth.curriculum.schedule import LLM_UNIT_TOKENS, fit_units, make_schedule, unit_tokens_for
from synth.generation.unit import LLM_PER_POSITION, LLM_ROUND, _llm_draws, _llm_positions

BAND = (80, 2500)  # the structural tier's sample_tokens


def test_first_batch_is_one_position_unless_the_unit_holds_many_longest_rows():
    assert _llm_positions(0, 0, 120, True, BAND) == 1
    assert _llm_positions(0, 0, 120, False, BAND) == 1
    assert _llm_positions(0, 0, 20_000, False, BAND) == 8  # 20k / the longest row allowed


def test_later_batches_are_what_the_remaining_tokens_need_at_the_units_row_length():
    # 2 rows of 300 tokens kept, 900 left: 3 more rows
    assert _llm_positions(600, 2, 1500, True, BAND) == 3
    assert _llm_positions(600, 2, 1500, False, BAND) == 3
    # a tail reaches its target: 100 tokens left is one more row
    assert _llm_positions(600, 2, 700, True, BAND) == 1
    # a unit that must stop before its target stops when under half a row is left (the
    # row that would cross it is thrown away, the stage makes the rest up)...
    assert _llm_positions(600, 2, 700, False, BAND) == 0
    # ...and asks for whole rows only
    assert _llm_positions(600, 2, 1000, False, BAND) == 1
    assert _llm_positions(600, 2, 600, True, BAND) == 0  # target reached


def test_draws_follow_the_templates_keep_rate_in_the_unit():
    a, b = ("t.a", 1, False), ("t.b", 1, False)
    # nothing seen yet: a keep rate of 1/2, two candidates per empty position
    assert _llm_draws({a: 1, b: 2}, {a: [0, 0], b: [0, 0]}) == {a: 2, b: 4}
    # t.a kept 1 of 9 (rate 2/11): 6 per position; t.b kept all 4 (5/6): 1 per position
    assert _llm_draws({a: 1, b: 2}, {a: [1, 9], b: [4, 4]}) == {a: 6, b: 3}
    # a template that never passes: at most LLM_PER_POSITION a position
    assert _llm_draws({a: 1}, {a: [0, 200]}) == {a: LLM_PER_POSITION}
    # never more than a round's cap in all, and at least one a group
    many = {(f"t.{i}", 1, False): 8 for i in range(20)}
    draws = _llm_draws(many, {g: [0, 0] for g in many})
    assert sum(draws.values()) <= LLM_ROUND and all(n >= 1 for n in draws.values())


def test_llm_units_are_small_and_every_stage_ends_in_a_tail():
    tier = load_tier("structural")
    assert unit_tokens_for(600, costly=True) == LLM_UNIT_TOKENS[0]
    assert unit_tokens_for(10**9, costly=True) == LLM_UNIT_TOKENS[1]
    assert unit_tokens_for(10**9) > LLM_UNIT_TOKENS[1]
    plan = make_schedule(tier, 600, costly=True)
    assert len(plan.units) == len(tier.stages), "a 600-token run is one small unit a stage"
    assert all(u.tail for u in plan.units)
    big = make_schedule(tier, 40_000, costly=True)
    for first, last in big.stage_units:
        assert big.units[last].tail and not any(u.tail for u in big.units[first:last])
    # template runs keep their plan: one tail, at the end
    assert [u.tail for u in make_schedule(tier, 40_000).units] == [False, False, True]


def test_the_last_stage_aims_at_what_the_budget_still_needs():
    from dataclasses import replace

    tier = load_tier("structural")
    plan = make_schedule(tier, 40_000, costly=True)
    first, last = plan.stage_units[-1]
    units = plan.units[first : last + 1]
    planned = sum(u.tokens for u in units)
    assert fit_units(units, planned + 50) == units  # nothing to cut
    cut = fit_units(units, planned - 300)  # the stages before ended 300 over their shares
    assert sum(u.tokens for u in cut) == planned - 300 and cut[-1].tail
    assert [u.index for u in cut] == [u.index for u in units]
    one = fit_units(units, units[0].tokens - 10)  # only part of the first unit is left
    assert [(u.index, u.tokens, u.tail) for u in one] == [
        (units[0].index, units[0].tokens - 10, True)
    ]
    assert fit_units(units, 0) == [] and fit_units([replace(units[0], tokens=5)], -3) == []


def test_live_rows_are_those_the_sample_filters_will_keep():
    """A reply the realiser verified (its answer is right) whose worked steps are wrong is
    rejected by the steps filter after the batch: the progress line never counts it, and
    counting changes none of the chain's figures."""
    from dataclasses import replace

    from synth.generation.config import GenerateConfig
    from synth.generation.resolve import make_producer
    from synth.generation.unit import Scope

    cfg = GenerateConfig(tier="structural", seed=3, progress=False, backend="openai",
                         base_url="http://127.0.0.1:9/v1", realise="answer")  # fmt: skip
    p = make_producer(cfg)  # (the server is never asked)
    row, _ = p.item("structural.multi_hop", (0, 0), 3, Scope(), 1, position=0)
    reply = row.messages[-1]["content"]
    derived = "kremlop"  # what step 2 derives: a proof that never names it skips a step
    assert derived in reply and reply.rstrip().endswith("Answer: False")
    messages = [*row.messages[:-1], {"role": "assistant", "content": reply.replace(derived, "x")}]
    wrong_steps = replace(row, messages=messages)
    assert p.chain.check(replace(wrong_steps, text=p.fmt(messages), n_tokens=300)) == "steps_wrong"
    p._verdict(wrong_steps, None)
    assert (p.live_rows, p.live_tokens) == (0, 0)
    p._verdict(row, None)
    assert p.live_rows == 1 and p.live_tokens == p.tok.count([p.fmt(row.messages)])[0]
    p._verdict(row, "llm_answer_wrong")
    assert p.live_rows == 1
    assert p.chain.seen == p.chain.kept == 0
