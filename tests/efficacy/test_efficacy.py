"""`synth efficacy`: the design knobs reach the corpus, and a tiny end-to-end run
(small world, small model, few steps) writes a report of the right shape whose
training loss fell."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli.main import cli
from synth.efficacy.corpus import generate_corpus
from synth.efficacy.design import Design
from synth.errors import UserError

pytest.importorskip("torch")
pytest.importorskip("tokenizers")


def _bio_counts(out: Path) -> Counter:
    import datasets

    ds = datasets.load_from_disk(str(out))
    return Counter(
        json.loads(r["formal"])["states"][0][0] for r in ds if r["template"] == "efficacy.bio"
    )


def test_ablate_parses_knobs_and_rejects_mistakes():
    d = Design()
    assert d.ablate("renderings=1").renderings == 1
    assert d.ablate("shuffle=false").shuffle is False
    assert d.ablate("qa_mix=false").qa_mix is False
    assert d.ablate("derived=no").derived is False
    both = d.ablate("renderings=1, fullnames=false")
    assert (both.renderings, both.fullnames, both.shuffle) == (1, False, True)
    for bad in ("renderings=0", "renderings=x", "colour=1", "shuffle", "shuffle=maybe"):
        with pytest.raises(UserError, match="--ablate"):
            d.ablate(bad)


def test_renderings_knob_sets_biographies_per_entity(tmp_path):
    once = tmp_path / "once"
    generate_corpus(Design(entities=30, renderings=1, probes=40), once)
    counts = _bio_counts(once)
    # Every entity once; a unit's leftover budget revisits some (well under two each).
    assert len(counts) == 30 and sum(counts.values()) / 30 < 2
    many = tmp_path / "many"
    generate_corpus(Design(entities=30, renderings=4, probes=40), many)
    counts = _bio_counts(many)
    assert len(counts) == 30 and sum(counts.values()) / 30 >= 3.5
    probes = json.loads((many / "eval" / "dataset_info.json").read_text())
    assert probes  # the held-out split exists
    assert (many / "efficacy-design.json").is_file()


def test_no_shuffle_keeps_sentence_order(tmp_path):
    import datasets

    generate_corpus(Design(entities=20, renderings=2, shuffle=False, probes=20), tmp_path)
    ds = datasets.load_from_disk(str(tmp_path))
    bios = [r["text"] for r in ds if r["template"] == "efficacy.bio"]
    # Unshuffled, every biography opens with the kind sentence.
    names = [json.loads(r["formal"])["states"][0][0] for r in ds if r["template"] == "efficacy.bio"]
    assert all(b.split("\n\n", 1)[1].startswith(n) for b, n in zip(bios, names))


def test_fullnames_off_names_the_entity_in_the_first_sentence_only(tmp_path):
    import datasets

    generate_corpus(Design(entities=20, renderings=2, fullnames=False, probes=20), tmp_path)
    ds = datasets.load_from_disk(str(tmp_path))
    rows = [r for r in ds if r["template"] == "efficacy.bio"]
    assert rows
    for r in rows:
        name = json.loads(r["formal"])["states"][0][0]
        first, *rest = r["text"].split("\n\n", 1)[1].split(". ")
        assert name in first and "@" not in r["text"]
        # the rest says "it" (a relation's other entity keeps its name)
        assert all(name not in s for s in rest), r["text"]
        assert any(s.startswith("It ") or " it " in s for s in rest), r["text"]


def test_property_answers_open_with_the_kind_then_decide(tmp_path):
    import datasets

    generate_corpus(Design(entities=30, renderings=1, probes=40), tmp_path)
    ds = datasets.load_from_disk(str(tmp_path))
    rows = [r for r in ds if r["template"] == "efficacy.qa_property"]
    assert {r["answer"] for r in rows} >= {"true", "false", "unknown"}
    for r in rows:
        name = json.loads(r["formal"])["query"][0]
        reply = r["messages"][-1]["content"]
        opening = reply.split(". ", 1)[0]
        # "As a polvex, Venor is not sour" / "... may or may not be sour: ..."
        assert opening.startswith("As ") and f", {name} " in opening, reply
        prop = json.loads(r["formal"])["query"][2]
        decided = {"true": "is", "false": "is not", "unknown": "may or may not be"}[r["answer"]]
        assert opening.endswith(f", {name} {decided} {prop}") or (
            r["answer"] == "unknown" and f", {name} {decided} {prop}:" in opening
        ), reply
        assert reply.rstrip().endswith("Answer: " + r["answer"].capitalize())


def test_relation_answers_recall_the_subjects_relations_then_decide(tmp_path):
    import datasets

    from synth.filters.answer import reply_correct

    generate_corpus(Design(entities=30, renderings=1, probes=40), tmp_path)
    ds = datasets.load_from_disk(str(tmp_path))
    rows = [r for r in ds if r["template"] == "efficacy.qa_relation"]
    assert {r["answer"] for r in rows} == {"true", "false"}
    names = {
        "mentor_of": "is the mentor of",
        "apprentice_of": "is an apprentice of",
        "neighbour_of": "is a neighbour of",
    }
    # What the biographies state (both directions of every link), to check each recall
    # against: the recall line is learnt from, so it must say what the corpus says.
    stated = {
        tuple(f)
        for b in ds
        if b["template"] == "efficacy.bio"
        for f in json.loads(b["formal"])["states"]
        if f[1] in names
    }
    for r in rows:
        s, rel, o = json.loads(r["formal"])["query"]
        reply = r["messages"][-1]["content"]
        opening = reply.split("\n", 1)[0]
        # "Kruso is the mentor of Timan." / "Vumel is the mentor of no one." first
        said = [x for x in opening.split(". ") if x.startswith(f"{s} {names[rel]} ")]
        assert said and opening.startswith(said[0]), reply
        recalled = {x.removeprefix(f"{s} {names[rel]} ").rstrip(".") for x in said}
        others = {f[2] for f in stated if f[:2] == (s, rel)}
        assert recalled == (others or {"no one"}), (reply, others)
        # the asked being is among those recalled exactly when the answer is true
        assert (o in recalled) == (r["answer"] == "true"), reply
        assert reply_correct(reply, r["answer"], "en")[1], reply


def test_units_give_the_text_back_and_a_probe_is_asked_as_training_qa_was_read():
    from synth.efficacy.data import SEP, UNK, Vocab, chat_text, prompt_text, units

    texts = ["Who is Pluo?\n\nPluo is  violet.  Pluo works as a potter.\n", "Глирон — сосед\tX?"]
    for t in texts:
        assert "".join(units(t)) == t
    qa = [{"role": "user", "content": "What colour is Pluo?"}, {"role": "assistant", "content": "The colour of Pluo is violet.\nAnswer: violet"}]  # fmt: skip
    trained = SEP + chat_text(qa) + "\n"
    vocab = Vocab(trained)
    asked = vocab.encode(prompt_text("What colour is Pluo?", None))
    read = vocab.encode(trained)
    assert read[: len(asked)] == asked, "the probe's units are those training QA began with"
    assert vocab.decode(read[len(asked) :]) == " The colour of Pluo is violet.\nAnswer: violet\n"
    assert vocab.encode("What colour is Zork?")[-2] == vocab.index[UNK]  # a name never read


def test_training_rows_start_at_sample_starts():
    import numpy as np

    from synth.efficacy.data import SEP, Corpus, Vocab, Windows

    samples = [[SEP + "kinds\n"], [SEP + f"Q: who is {c}?\nA: Answer: {c * 3}\n" for c in "abcdef"]]
    corpus = Corpus(samples, rows=7)
    vocab = Vocab("".join(corpus.stages))
    w = Windows(corpus, vocab, block=64)
    x, y = w.batch(1, 32, np.random.default_rng(0))
    assert x.shape == y.shape == (32, 64) and (x[:, 1:] == y[:, :-1]).all()
    whole = set(samples[1])
    for row in x:
        text = vocab.decode(row.tolist())
        # Every row opens a sample, as a probe is asked, and holds whole samples of
        # the stage (the last one cut where the row ends).
        assert text.startswith(SEP + "Q: ")
        parts = [SEP + p for p in text.split(SEP)[1:]]
        assert all(p in whole for p in parts[:-1])
        assert any(s.startswith(parts[-1]) for s in whole)


def test_end_to_end_tiny_run(tmp_path):
    from synth.efficacy.run import EfficacyConfig, run_efficacy

    out = tmp_path / "eff"
    cfg = EfficacyConfig(
        out=str(out),
        generate=True,
        design=Design(entities=24, renderings=3, probes=60),
        steps=40,
        batch=8,
        block=128,
        layers=2,
        width=64,
        lr=3e-3,
        quiet=True,
    )
    rep = run_efficacy(cfg)
    on_disk = json.loads((out / "efficacy.json").read_text())
    assert on_disk["probes"] == rep["probes"]
    t = rep["training"]
    assert t["steps"] == 40 and not t["stopped_early"]
    assert t["final_loss"] < t["first_loss"] - 0.5, t  # training loss fell
    curve = rep["learning_curve"]
    assert [p["step"] for p in curve] == sorted(p["step"] for p in curve) and curve[-1][
        "step"
    ] == 40
    head = rep["probes"]["headline"]
    assert "stated" in head and any(k.startswith("derived-depth-") for k in head)
    for g in head.values():
        assert 0 <= g["accuracy"] <= 1 and 0 < g["chance"] <= 1 and g["n"] > 0
    assert len(rep["results"]) == rep["probes"]["n"] > 0
    assert rep["model"]["params"] > 0 and "--steps 40" in rep["repeat"]
    # Same seed, same steps: the same numbers (the corpus is regenerated too).
    again = run_efficacy(cfg)
    assert (
        again["probes"] == rep["probes"]
        and again["learning_curve"][-1]["train_loss"] == curve[-1]["train_loss"]
    )


def test_cli_mistakes_are_one_line(tmp_path):
    r = CliRunner().invoke(cli, ["efficacy", str(tmp_path / "x"), "--tier", "command"])
    assert r.exit_code == 2 and "--tier" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(
        cli, ["efficacy", str(tmp_path / "x"), "--tier", "ontology", "--ablate", "colour=1"]
    )
    assert r.exit_code == 2 and "--ablate" in r.output
    r = CliRunner().invoke(cli, ["efficacy", str(tmp_path / "empty")])
    assert r.exit_code == 2 and "--tier ontology" in r.output


def test_missing_torch_is_one_line(monkeypatch, tmp_path):
    from synth.efficacy.run import EfficacyConfig, run_efficacy

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(UserError, match="pip install 'synth\\[efficacy\\]'"):
        run_efficacy(EfficacyConfig(out=str(tmp_path)))
