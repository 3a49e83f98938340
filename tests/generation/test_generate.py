"""`synth generate` end to end: real Arrow shards read back by the real `datasets`."""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import datasets
import pytest
from rederive import rederive

from synth.shards.atomic import sha256_file
from synth.tokenizer import load_tokenizer
from synth.units import parse_count

TIERS = ["command", "structural", "ontology"]


@pytest.mark.parametrize("tier", TIERS)
def test_corpus_loads_and_meets_budget_exactly(corpus, tier):
    out, m = corpus(tier)
    ds = datasets.load_from_disk(str(out))
    assert ds.num_rows == m["totals"]["rows"] > 0
    n = ds["n_tokens"]
    assert sum(n) == m["totals"]["tokens"]
    budget = m["budget"]
    assert budget <= sum(n) < budget + max(n), "total exceeds the budget by less than one sample"
    assert set(ds["tier"]) == {tier}
    assert sum(s["tokens"] for s in m["shards"]) == sum(n)
    for s in m["shards"]:
        assert sha256_file(out / s["file"]) == s["sha256"]
    # The same files also load as a plain Arrow dataset.
    plain = datasets.load_dataset(
        "arrow", data_files=[str(out / s["file"]) for s in m["shards"]], split="train"
    )
    assert plain.num_rows == ds.num_rows


@pytest.mark.parametrize("tier", TIERS)
def test_n_tokens_is_what_the_tokenizer_says(corpus, tier):
    out, _ = corpus(tier)
    ds = datasets.load_from_disk(str(out))
    tok = load_tokenizer("qwen2.5")
    idx = random.Random(0).sample(range(ds.num_rows), min(400, ds.num_rows))
    for i in idx:
        row = ds[i]
        assert len(tok.encode(row["text"])) == row["n_tokens"]


def test_count_is_the_length_of_encode():
    # count() counts a chat's system turn apart (and once per distinct turn).
    tok = load_tokenizer("qwen2.5")
    chat = "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    texts = [
        chat,
        chat.replace("Hi", "Hi there, how   are you?"),  # the same system turn again
        chat.replace("terse", "a patient tutor"),
        "<|im_start|>system\nno end of turn",
        "<|im_start|>system<|im_end|>",
        "<|im_start|>systematic\nreview<|im_end|>\ntail",
        "A document without markup.",
        "",
    ]
    assert tok.count(texts) == [len(tok.encode(t)) for t in texts]
    assert tok.count(texts) == [len(tok.encode(t)) for t in texts]  # from the kept counts


@pytest.mark.parametrize("tier", TIERS)
def test_every_answer_rederives_from_formal(corpus, tier):
    """The oracle re-derives each answer, and the worked steps with it (an instruction's
    state after each step from its input; each derivation step by its rule)."""
    out, _ = corpus(tier)
    ds = datasets.load_from_disk(str(out))
    idx = random.Random(1).sample(range(ds.num_rows), min(3000, ds.num_rows))
    checked = 0
    for i in idx:
        row = ds[i]
        assert row["formal"] is not None, row["id"]
        got = rederive(row["formal"])
        if row["answer"] is None:
            assert got is True, f"{row['id']}: a stated fact does not follow from its formal"
        else:
            assert got == row["answer"], (
                f"{row['id']}: formal gives {got!r}, row says {row['answer']!r}"
            )
            f = json.loads(row["formal"])
            assert f["expected" if "task" in f else "answer"] == row["answer"]
            checked += 1
    assert checked > 100


def test_inverse_and_symmetric_steps_state_two_different_facts(corpus):
    """An inverse step reads "A is an ancestor of B, which is the same as saying that B is
    a descendant of A"; a step that restated its premise ("B is a descendant of A, which is the same as
    saying that B is a descendant of A") would teach nothing."""
    out, _ = corpus("ontology")
    steps = re.compile(
        r"(?:Since (.+?), it follows that (.+?)\.|(?:^|\. |- )([A-Z].+?), which is the same as"
        r" saying that (.+?)\.|(?:^|\. |- )([A-Z].+?), (?:and this works both ways|so equally): (.+?)\.)",
        re.M,
    )
    seen = 0
    for text in datasets.load_from_disk(str(out))["text"]:
        for m in steps.finditer(text):
            given, got = [g for g in m.groups() if g is not None]
            if " of " in given:  # relation steps (the `Since` form also words other steps)
                seen += 1
                assert given.casefold() != got.casefold(), m.group(0)
    assert seen > 20


def test_instruction_rows_carry_task_input_expected(corpus):
    out, _ = corpus("command")
    ds = datasets.load_from_disk(str(out))
    for row in ds.select(range(min(500, ds.num_rows))):
        f = json.loads(row["formal"])
        assert {"task", "input", "expected"} <= set(f)
        assert f["expected"] == row["answer"]


@pytest.mark.parametrize("tier", TIERS)
def test_eval_probes_are_held_out(corpus, tier):
    out, _ = corpus(tier)
    train = datasets.load_from_disk(str(out))
    probes = datasets.load_from_disk(str(out / "eval"))
    assert probes.num_rows > 0
    assert set(probes["answer"]) - {None}
    texts = set(train["text"])
    assert not [p for p in probes["text"] if p in texts], "an eval probe appears verbatim in train"


def test_same_seed_same_bytes_other_seed_other_world(corpus):
    a, ma = corpus("ontology", seed=7, tokens="120k")
    b, mb = corpus("ontology", seed=7, tokens="120k", workers=2)
    c, mc = corpus("ontology", seed=8, tokens="120k")
    assert [s["sha256"] for s in ma["shards"]] == [s["sha256"] for s in mb["shards"]]
    assert (a / "eval" / "data-00000.arrow").read_bytes() == (
        b / "eval" / "data-00000.arrow"
    ).read_bytes()
    ta = set(datasets.load_from_disk(str(a))["text"][:200])
    tc = set(datasets.load_from_disk(str(c))["text"][:200])
    assert not ta & tc


def test_parse_count():
    assert parse_count("5M") == 5_000_000
    assert parse_count("1.5B") == 1_500_000_000
    assert parse_count("20_000") == 20_000


@pytest.mark.parametrize("world", ["guild.yaml", "zoo.ttl"])
def test_user_world_corpus_rederives(tmp_path, world):
    """A hand-written world spec and a Turtle ontology each become an ontology corpus
    whose answers and statements all follow from their `formal`."""
    import synth
    from synth.curriculum.check import check_corpus

    path = Path(__file__).parents[1] / "data" / "worlds" / world
    out = tmp_path / "out"
    synth.generate(
        synth.GenerateConfig(
            tier="ontology", world=str(path), out=str(out), tokens="25k", progress=False
        )
    )
    ds = datasets.load_from_disk(str(out))
    assert ds.num_rows > 100
    from synth.world import load_world

    entities = {e.id for e in load_world(path).entities}
    said = {f[0] for r in ds for f in json.loads(r["formal"])["facts"]}
    assert said & entities, "rows speak of the world's own entities"
    for row in ds:
        got = rederive(row["formal"])
        assert got == (True if row["answer"] is None else row["answer"]), row["id"]
    assert check_corpus(out).ok


def test_give_back_returns_freed_heap_pages_to_the_system():
    # What a long run's main process does at each checkpoint (synth.gc_policy): freed
    # blocks scattered among live ones are returned, not kept by malloc.
    from synth import gc_policy

    if gc_policy._malloc_trim() is None:
        pytest.skip("not glibc: give_back does nothing here")

    def rss_mib() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    blocks = [bytearray(4000) for _ in range(16_000)]  # ~64 MiB of malloc'd blocks
    kept = blocks[::64]  # one in 64 stays alive: no run of them is free at the heap's top
    del blocks
    before = rss_mib()
    gc_policy.give_back()
    assert before - rss_mib() > 20, (before, rss_mib())
    assert len(kept) == 250


def test_a_run_leaves_nothing_frozen_in_the_callers_process(tmp_path):
    # A run freezes what setup built (synth.gc_policy), and unfreezes it at the end.
    import gc

    import synth

    synth.generate(
        synth.GenerateConfig(
            tier="command", out=str(tmp_path / "out"), tokens="20k", workers=1, progress=False
        )
    )
    assert gc.get_freeze_count() == 0
