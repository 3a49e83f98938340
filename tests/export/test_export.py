"""`synth export`: every format read back by the library its trainer uses, with the same
rows in the same (curriculum) order."""

from __future__ import annotations

import json
from pathlib import Path

import click
import datasets
import pytest
from click.testing import CliRunner

import synth
from synth.chat import chatml, mistral_nemo
from synth.cli.export import export as export_command
from synth.cli.main import Group
from synth.curriculum.check import read_rows
from synth.errors import UserError
from synth.export import FORMATS, IGNORE_INDEX, export, labels_for
from synth.tokenizer import load_tokenizer

COLUMNS = ["id", "text", "messages", "n_tokens"]

# LLaMA-Factory's documented dataset_info.json fields: hiyouga/LLaMA-Factory data/README.md
# (commit 2ad9871bb402d0d4682466970bd404c650f05b9c), the "dataset_name" block at its top.
LF_FIELDS = {
    "hf_hub_url",
    "ms_hub_url",
    "script_url",
    "cloud_file_name",
    "file_name",
    "formatting",
    "ranking",
    "subset",
    "split",
    "folder",
    "num_samples",
    "columns",
    "tags",
}
LF_FORMATTING = {"alpaca", "sharegpt"}
LF_COLUMNS = {
    "prompt",
    "query",
    "response",
    "history",
    "messages",
    "system",
    "tools",
    "images",
    "videos",
    "audios",
    "chosen",
    "rejected",
    "kto_tag",
}
LF_TAGS = {
    "role_tag",
    "content_tag",
    "user_tag",
    "assistant_tag",
    "observation_tag",
    "function_tag",
    "system_tag",
}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """command: chats only, several shards; structural: chats and documents."""
    made = {}
    for tier in ("command", "structural"):
        out = tmp_path_factory.mktemp(tier)
        synth.generate(
            synth.GenerateConfig(
                tier=tier, out=str(out), tokens="60k", shard_tokens="25k", workers=1, progress=False
            )
        )
        made[tier] = (out, list(read_rows(out, COLUMNS)))
    return made


def load(kind: str, dest: Path, cache: Path) -> datasets.Dataset:
    files = (
        [str(dest / "data.jsonl")] if kind == "json" else sorted(map(str, dest.glob("*.parquet")))
    )
    return datasets.load_dataset(kind, data_files=files, split="train", cache_dir=str(cache))


def chat(row: tuple) -> list[dict] | None:
    return row[2]


def test_command_corpus_spans_several_shards(corpora):
    out, _ = corpora["command"]
    assert len(json.loads((out / "manifest.json").read_text())["shards"]) > 1


@pytest.mark.parametrize("tier", ["command", "structural"])
def test_messages_for_trl_and_axolotl(corpora, tier, tmp_path):
    out, rows = corpora[tier]
    res = export(out, "messages", tmp_path / "x")
    ds = load("json", tmp_path / "x", tmp_path / "cache")
    assert res.rows == len(ds) == len(rows)
    assert ds.column_names == ["messages"]
    for got, row in zip(ds["messages"], rows):
        want = chat(row) or [{"role": "assistant", "content": row[1]}]
        assert got == want


def check_llama_factory_entry(dest: Path, ds: datasets.Dataset, formatting: str) -> dict:
    info = json.loads((dest / "dataset_info.json").read_text())
    ((name, entry),) = info.items()
    assert name.startswith("synth_")
    assert set(entry) <= LF_FIELDS
    assert entry["formatting"] in LF_FORMATTING and entry["formatting"] == formatting
    assert (dest / entry["file_name"]).is_file()
    assert set(entry["columns"]) <= LF_COLUMNS
    assert set(entry["columns"].values()) <= set(ds.column_names)
    assert set(entry.get("tags", {})) <= LF_TAGS
    return entry


@pytest.mark.parametrize("tier", ["command", "structural"])
def test_sharegpt_for_llama_factory(corpora, tier, tmp_path):
    out, rows = corpora[tier]
    export(out, "sharegpt", tmp_path / "x")
    ds = load("json", tmp_path / "x", tmp_path / "cache")
    assert len(ds) == len(rows)
    entry = check_llama_factory_entry(tmp_path / "x", ds, "sharegpt")
    tags = entry["tags"]
    convs = ds[entry["columns"]["messages"]]
    systems = ds[entry["columns"]["system"]]
    for conv, system, row in zip(convs, systems, rows):
        # LLaMA-Factory's SharegptDatasetConverter skips a conversation unless it is
        # user/assistant pairs (src/llamafactory/data/converter.py): every row must pass.
        roles = [m[tags["role_tag"]] for m in conv]
        assert roles == [tags["user_tag"], tags["assistant_tag"]] * (len(roles) // 2) != []
        values = [m[tags["content_tag"]] for m in conv]
        msgs = chat(row)
        if msgs is None:
            assert (values, system) == (["", row[1]], "")
        else:
            own_system = [m["content"] for m in msgs if m["role"] == "system"]
            assert values == [m["content"] for m in msgs if m["role"] != "system"]
            assert [system] == (own_system or [""])


@pytest.mark.parametrize("tier", ["command", "structural"])
def test_alpaca_for_llama_factory(corpora, tier, tmp_path):
    out, rows = corpora[tier]
    export(out, "alpaca", tmp_path / "x")
    ds = load("json", tmp_path / "x", tmp_path / "cache")
    assert len(ds) == len(rows)
    cols = check_llama_factory_entry(tmp_path / "x", ds, "alpaca")["columns"]
    for rec, row in zip(ds, rows):
        msgs = chat(row)
        turns = [p for pair in rec[cols["history"]] for p in pair]
        turns += [rec[cols["prompt"]], rec[cols["response"]]]
        if msgs is None:
            assert turns == ["", row[1]]
        else:
            assert turns == [m["content"] for m in msgs if m["role"] != "system"]


@pytest.mark.parametrize(("to", "kind"), [("jsonl", "json"), ("parquet", "parquet")])
def test_every_column(corpora, to, kind, tmp_path):
    out, _ = corpora["structural"]
    export(out, to, tmp_path / "x")
    ds = load(kind, tmp_path / "x", tmp_path / "cache")
    shards = json.loads((out / "manifest.json").read_text())["shards"]
    full = datasets.load_dataset(
        "arrow",
        data_files=[str(out / s["file"]) for s in shards],
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    assert ds.column_names == full.column_names
    assert ds.to_list() == full.to_list()


def runs(ids: list[int], labels: list[int]) -> list[list[int]]:
    """Maximal runs of labelled tokens."""
    out, cur = [], []
    for tid, lab in zip(ids, labels):
        if lab == IGNORE_INDEX:
            if cur:
                out.append(cur)
            cur = []
        else:
            assert lab == tid
            cur.append(tid)
    return out + ([cur] if cur else [])


@pytest.mark.parametrize("tier", ["command", "structural"])
def test_tokenized_labels_only_assistant_tokens(corpora, tier, tmp_path):
    out, rows = corpora[tier]
    res = export(out, "tokenized", tmp_path / "x")
    ds = load("parquet", tmp_path / "x", tmp_path / "cache")
    assert sorted(ds.column_names) == ["attention_mask", "input_ids", "labels"]
    assert len(ds) == len(rows)
    tok = load_tokenizer("qwen2.5")
    for rec, (rid, text, msgs, n_tokens) in zip(ds, rows):
        ids, labels = rec["input_ids"], rec["labels"]
        assert ids == tok.encode(text) and len(ids) == n_tokens, rid
        assert rec["attention_mask"] == [1] * len(ids)
        if msgs is None:
            assert labels == ids
            continue
        learned = [tok.enc.decode(r) for r in runs(ids, labels)]
        assert learned == [m["content"] + "<|im_end|>" for m in msgs if m["role"] == "assistant"]
    assert res.tokens == sum(r[3] for r in rows)


def test_tokenized_in_another_chat_format(corpora, tmp_path):
    out, rows = corpora["command"]
    export(out, "tokenized", tmp_path / "x", format_model="chatml")
    ds = load("parquet", tmp_path / "x", tmp_path / "cache")
    tok = load_tokenizer("qwen2.5")
    assert [r["input_ids"] for r in ds] == [tok.encode(chatml(chat(r))) for r in rows]


def test_tokenized_with_a_local_hf_tokenizer(corpora, tmp_path):
    """Mistral-Nemo markup through a tokenizer.json (a small byte-level BPE trained here,
    with the format's markup as special tokens), as a user would pass the model's own."""
    tk = pytest.importorskip("tokenizers")
    out, rows = corpora["command"]
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<s>", "</s>", "[INST]", "[/INST]"],
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([r[1] for r in rows[:100]], trainer)
    (tmp_path / "tok").mkdir()
    tok.save(str(tmp_path / "tok" / "tokenizer.json"))
    export(
        out,
        "tokenized",
        tmp_path / "x",
        tokenizer=str(tmp_path / "tok"),
        format_model="mistral_nemo",
    )
    ds = load("parquet", tmp_path / "x", tmp_path / "cache")
    assert len(ds) == len(rows)
    for rec, row in zip(ds, rows):
        ids, msgs = rec["input_ids"], chat(row)
        assert ids == tok.encode(mistral_nemo(msgs), add_special_tokens=False).ids
        learned = [tok.decode(r, skip_special_tokens=False) for r in runs(ids, rec["labels"])]
        assert learned == [m["content"] + "</s>" for m in msgs if m["role"] == "assistant"]


def test_tokenized_refuses_markup_the_tokenizer_does_not_know(corpora, tmp_path):
    out, _ = corpora["command"]
    with pytest.raises(UserError, match="<\\|eot_id\\|>"):
        export(out, "tokenized", tmp_path / "x", format_model="llama3")
    assert not any((tmp_path / "x").glob("*"))


def test_labels_learn_a_token_that_straddles_the_span():
    # tokens: "ab" [0,2), "cd" [2,4), "ef" [4,6); learn characters [3,5)
    assert labels_for([1, 2, 3], [(0, 2), (2, 4), (4, 6)], [(3, 5)]) == [IGNORE_INDEX, 2, 3]
    assert labels_for([1, 2], [(0, 2), (2, 4)], []) == [IGNORE_INDEX, IGNORE_INDEX]


def test_existing_export_needs_overwrite_and_stale_files_go(corpora, tmp_path):
    out, rows = corpora["command"]
    dest = tmp_path / "x"
    export(out, "parquet", dest)
    (dest / "data-00042.parquet").write_bytes(b"stale")
    with pytest.raises(UserError, match="--overwrite"):
        export(out, "parquet", dest)
    res = export(out, "parquet", dest, overwrite=True)
    assert sorted(p.name for p in dest.iterdir()) == sorted(res.files)
    assert not any(dest.glob("*.partial"))
    with pytest.raises(UserError, match="other than the corpus"):
        export(out, "jsonl", out)


def test_options_that_only_apply_to_tokenized(corpora, tmp_path):
    out, _ = corpora["command"]
    with pytest.raises(UserError, match="tokenized only"):
        export(out, "messages", tmp_path / "x", tokenizer="qwen2.5")
    with pytest.raises(UserError, match="not a synth corpus"):
        export(tmp_path, "messages", tmp_path / "y")
    assert set(FORMATS) == {"messages", "sharegpt", "alpaca", "jsonl", "parquet", "tokenized"}


def test_cli(corpora, tmp_path):
    out, rows = corpora["command"]

    @click.group(cls=Group)
    def cli() -> None:
        pass

    cli.add_command(export_command)
    runner = CliRunner()
    ok = runner.invoke(cli, ["export", str(out), "--to", "sharegpt", "--dest", str(tmp_path / "x")])
    assert ok.exit_code == 0, ok.output
    assert f"{len(rows):,} rows as sharegpt" in ok.output
    bad = runner.invoke(
        cli,
        ["export", str(out), "--to", "messages", "--dest", str(tmp_path / "y"), "--tokenizer", "x"],
    )
    assert bad.exit_code == 2 and "synth: error:" in bad.output
    assert runner.invoke(cli, ["export", str(out), "--to", "csv", "--dest", "z"]).exit_code == 2
