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
from synth.chat import QWEN_DEFAULT_SYSTEM, chatml, get_format, mistral_nemo
from synth.cli.export import export as export_command
from synth.cli.main import Group
from synth.curriculum.check import read_rows
from synth.errors import UserError
from synth.export import FORMATS, IGNORE_INDEX, export, labels_for, trainer_conversation
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
    tok = load_tokenizer("qwen2.5")
    qwen = get_format("qwen2.5")
    seen = 0
    for got, row in zip(ds["messages"], rows):
        # Qwen's default system prompt is written out; a document is the reply to an
        # empty user turn (torchtune's validate_messages wants a user turn first).
        want = chat(row) or [
            {"role": "user", "content": ""},
            {"role": "assistant", "content": row[1]},
        ]
        if want[0]["role"] != "system":
            want = [{"role": "system", "content": QWEN_DEFAULT_SYSTEM}, *want]
        assert got == want
        assert got[-1]["role"] == "assistant" and [m["role"] for m in got][1:2] == ["user"]
        if chat(row) is not None:
            assert qwen(got) == row[1]  # a chat trainer renders exactly `text`
        seen += len(tok.encode(qwen(got)))
    assert res.tokens == seen and res.corpus_tokens == sum(r[3] for r in rows)
    docs = sum(chat(r) is None for r in rows)
    assert res.documents == docs
    # what documents cost as replies to an empty prompt under Qwen's default system prompt
    assert (res.tokens > res.corpus_tokens) == (docs > 0)


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


# LLaMA-Factory's reading of a sharegpt row, from hiyouga/LLaMA-Factory at
# ff6d4d12eeb035d6ce06805a5733dd7b29f2ac30: src/llamafactory/data/converter.py
# (SharegptDatasetConverter: a first turn tagged `system_tag` is the system prompt, then
# the turns must alternate user/assistant tags, else the example is skipped) and
# src/llamafactory/data/template.py, template "qwen" (format_system, format_user,
# format_assistant slots and default_system, used when the system prompt is empty).
LF_QWEN = {
    "system": "<|im_start|>system\n{{content}}<|im_end|>\n",
    "user": "<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n",
    "assistant": "{{content}}<|im_end|>\n",
    "default_system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
}


def llama_factory_qwen_text(rec: dict, entry: dict) -> str | None:
    """The text LLaMA-Factory's `qwen` template encodes for one sharegpt record (None
    where its converter would skip the example)."""
    tags = entry["tags"]
    conv = rec[entry["columns"]["messages"]]
    system = ""
    if tags.get("system_tag") and conv and conv[0][tags["role_tag"]] == tags["system_tag"]:
        system, conv = conv[0][tags["content_tag"]], conv[1:]
    elif "system" in entry["columns"]:
        system = rec[entry["columns"]["system"]]
    accept = (tags["user_tag"], tags["assistant_tag"])
    if len(conv) % 2 or any(m[tags["role_tag"]] != accept[i % 2] for i, m in enumerate(conv)):
        return None
    text = LF_QWEN["system"].replace("{{content}}", system or LF_QWEN["default_system"])
    for i, m in enumerate(conv):
        text += LF_QWEN["user" if i % 2 == 0 else "assistant"].replace(
            "{{content}}", m[tags["content_tag"]]
        )
    return text


@pytest.mark.parametrize("tier", ["command", "structural"])
def test_sharegpt_for_llama_factory(corpora, tier, tmp_path):
    out, rows = corpora[tier]
    export(out, "sharegpt", tmp_path / "x")
    ds = load("json", tmp_path / "x", tmp_path / "cache")
    assert len(ds) == len(rows)
    entry = check_llama_factory_entry(tmp_path / "x", ds, "sharegpt")
    tags = entry["tags"]
    qwen = get_format("qwen2.5")
    for rec, row in zip(ds, rows):
        conv = rec[entry["columns"]["messages"]]
        # the system prompt is a turn of the conversation, which LLaMA-Factory reads
        # through system_tag and torchtune's ShareGPTToMessages keeps (it ignores a
        # top-level `system` field)
        assert conv[0][tags["role_tag"]] == tags["system_tag"] == "system"
        text = llama_factory_qwen_text(rec, entry)
        assert text is not None, row[0]  # every row passes the converter
        msgs = chat(row)
        if msgs is None:
            assert text == qwen(trainer_conversation({"messages": None, "text": row[1]}, "qwen2.5"))
            assert text.endswith(
                f"<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n{row[1]}<|im_end|>\n"
            )
        else:
            assert text == row[1]  # LLaMA-Factory trains on exactly `text`


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
        own = [m["content"] for m in msgs or [] if m["role"] == "system"]
        assert rec[cols["system"]] == (own[0] if own else QWEN_DEFAULT_SYSTEM)


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
        assert rec["attention_mask"] == [1] * len(ids)
        if msgs is None:
            # a document is learned whole and ends as trainers end plain text for
            # Qwen2.5-Instruct (its eos_token), so packed documents stay apart
            assert ids == tok.encode(text) + tok.encode("<|im_end|>") and len(ids) == n_tokens + 1
            assert labels == ids
            continue
        assert ids == tok.encode(text) and len(ids) == n_tokens, rid
        learned = [tok.enc.decode(r) for r in runs(ids, labels)]
        assert learned == [m["content"] + "<|im_end|>" for m in msgs if m["role"] == "assistant"]
    assert res.tokens == sum(r[3] for r in rows) + sum(r[2] is None for r in rows)
    assert res.documents == sum(r[2] is None for r in rows)


# Axolotl, from axolotl-ai-cloud/axolotl at 067b021c8b87a9e5e380b9173c704cf7340e30f5:
# src/axolotl/utils/data/wrappers.py `_is_dataset_already_tokenized` (a Dataset with
# input_ids, attention_mask and labels features is used as it is) and
# src/axolotl/prompt_strategies/chat_template.py (defaults field_messages="messages",
# message_property_mappings {"role": "role", "content": "content"}; the conversation is
# rendered with the tokenizer's own chat template).
AXOLOTL_PRETOKENIZED = ("input_ids", "attention_mask", "labels")
AXOLOTL_CHAT_FIELDS = ("messages", {"role", "content"})


def test_axolotl_reads_both_exports(corpora, tmp_path):
    out, rows = corpora["structural"]
    export(out, "tokenized", tmp_path / "tok")
    ds = load("parquet", tmp_path / "tok", tmp_path / "cache")
    assert all(c in ds.features for c in AXOLOTL_PRETOKENIZED)
    export(out, "messages", tmp_path / "chat")
    ds = load("json", tmp_path / "chat", tmp_path / "cache")
    field_messages, props = AXOLOTL_CHAT_FIELDS
    qwen = get_format("qwen2.5")
    for rec, row in zip(ds[field_messages], rows):
        assert all(set(m) == props for m in rec)
        if chat(row) is not None:
            assert qwen(rec) == row[1]


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
    with pytest.raises(UserError, match="splits <\\|eot_id\\|>"):
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
    assert "tokens a trainer sees:" in ok.output
    bad = runner.invoke(
        cli,
        ["export", str(out), "--to", "messages", "--dest", str(tmp_path / "y"), "--tokenizer", "x"],
    )
    assert bad.exit_code == 2 and "synth: error:" in bad.output
    assert runner.invoke(cli, ["export", str(out), "--to", "csv", "--dest", "z"]).exit_code == 2
