"""`n_tokens` is counted in the target model's tokenizer, on the text as that tokenizer
sees it: Qwen's normalises to NFC, and a chat format's markup must be the model's own
tokens, or the run refuses.

The consumers' own tokenizers (transformers' Qwen2Tokenizer, torchtune's) are compared
with these counts in test_trainers.py, where they are installed."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

import synth
from synth.cli import cli
from synth.curriculum.check import read_rows
from synth.errors import UserError
from synth.export import export
from synth.tokenizer import load_tokenizer

GUILD = Path(__file__).parents[1] / "data" / "worlds" / "guild.yaml"
# Names whose accents NFD spells as a letter plus a combining mark.
ACCENTED = {
    "Old Maren": "Old Marën",
    "Brok Ironhand": "Brök Ironhand",
    "Tam Quickfoot": "Tám Quickfoot",
    "Ilsa Quill": "Ilsa Quíll",
    "Ember": "Émber",
    "Skarn": "Skårn",
    "Pip": "Pîp",
    "Tweet": "Twéet",
    "Corvo": "Corvø",
    "Emberhold": "Émberhold",
    "Ashford": "Åshford",
}


def world(tmp_path: Path, form: str) -> Path:
    text = GUILD.read_text(encoding="utf-8")
    for plain, accented in ACCENTED.items():
        text = text.replace(plain, accented)
    path = tmp_path / f"guild-{form}.yaml"
    path.write_text(unicodedata.normalize(form, text), encoding="utf-8")
    return path


def generate(tmp_path: Path, name: str, **kw) -> tuple[Path, list[tuple]]:
    out = tmp_path / name
    cfg = dict(tier="ontology", out=str(out), tokens="30k", workers=1, progress=False)
    synth.generate(synth.GenerateConfig(**(cfg | kw)))
    return out, list(read_rows(out, ["id", "text", "messages", "n_tokens"]))


def test_qwen_counts_nfd_text_as_its_nfc_form():
    tok = load_tokenizer("qwen2.5")
    nfc = "Zoë and Renée met in Åshford; Ёлка"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert tok.encode(nfd) == tok.encode(nfc)
    assert tok.count([nfd, nfc]) == [len(tok.encode(nfc))] * 2
    chat = f"<|im_start|>system\n{nfd}<|im_end|>\n<|im_start|>user\n{nfd}<|im_end|>\n"
    assert tok.count([chat]) == [len(tok.encode(unicodedata.normalize("NFC", chat)))]


def test_a_world_in_nfd_gives_the_counts_and_ids_of_its_nfc_form(tmp_path):
    out_c, nfc = generate(tmp_path, "nfc", world=str(world(tmp_path, "NFC")))
    out_d, nfd = generate(tmp_path, "nfd", world=str(world(tmp_path, "NFD")))
    assert any(r[1] != unicodedata.normalize("NFC", r[1]) for r in nfd)  # the text stays NFD
    assert [r[0] for r in nfd] == [r[0] for r in nfc]
    assert [unicodedata.normalize("NFC", r[1]) for r in nfd] == [r[1] for r in nfc]
    assert [r[3] for r in nfd] == [r[3] for r in nfc]
    export(out_c, "tokenized", tmp_path / "tok-nfc")
    export(out_d, "tokenized", tmp_path / "tok-nfd")
    files = sorted(p.name for p in (tmp_path / "tok-nfc").glob("*.parquet"))
    for name in files:
        assert (tmp_path / "tok-nfc" / name).read_bytes() == (
            tmp_path / "tok-nfd" / name
        ).read_bytes()


def llama3_like_tokenizer(folder: Path) -> Path:
    """A small byte-level BPE with Llama-3's markup as special tokens (trained here), in
    place of the model's own tokenizer.json."""
    tk = pytest.importorskip("tokenizers")
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"]  # fmt: skip
    trainer = tk.trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=specials,
        initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(["The guild of Emberhold has smiths and scholars."] * 50, trainer)
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    return folder


@pytest.mark.parametrize("fmt", ["llama3", "saiga_mistral", "mistral_nemo"])
def test_markup_of_another_vocabulary_is_refused(tmp_path, fmt):
    with pytest.raises(UserError, match=r"--tokenizer qwen2.5 splits .* into \d+ tokens"):
        synth.generate(
            synth.GenerateConfig(
                tier="command",
                out=str(tmp_path / "x"),
                tokens="5k",
                model_format=fmt,
                progress=False,
            )
        )
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_the_refusal_is_one_line_with_exit_code_2(tmp_path):
    r = CliRunner().invoke(
        cli,
        ["generate", "--tier", "command", "--out", str(tmp_path / "x"), "--tokens", "5k",
         "--model-format", "llama3", "-q"],
    )  # fmt: skip
    assert r.exit_code == 2
    (line,) = r.output.strip().splitlines()
    assert "<|eot_id|>" in line and "--tokenizer" in line


def test_llama3_with_its_own_tokenizer_counts_in_it(tmp_path):
    from synth.chat import check_tokenizer_fits

    folder = llama3_like_tokenizer(tmp_path / "l3")
    check_tokenizer_fits(load_tokenizer(str(folder)), "llama3")
    _, rows = generate(
        tmp_path, "l3-corpus", tier="command", tokenizer=str(folder), model_format="llama3"
    )
    tok = load_tokenizer(str(folder))
    assert rows and all(r[1].startswith("<|begin_of_text|>") for r in rows)
    assert [r[3] for r in rows] == [len(tok.encode(r[1])) for r in rows]
    qwen = load_tokenizer("qwen2.5")
    assert sum(len(qwen.encode(r[1])) for r in rows) != sum(r[3] for r in rows)


def test_a_folders_template_is_checked_on_the_markup_it_writes(tmp_path):
    """An hf: folder lists every special token it has (SmolLM2's <gh_stars>, ...); only
    what its template writes must be one token."""
    import json

    from synth.chat import check_tokenizer_fits

    tpl = (
        "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + "
        "'<|im_end|>' + '\\n'}}{% endfor %}"
    )
    added = {
        "0": {"content": "<gh_stars>", "special": True},
        "2": {"content": "<|im_end|>", "special": True},
    }
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": tpl, "eos_token": "<|im_end|>", "added_tokens_decoder": added})
    )
    check_tokenizer_fits(load_tokenizer("qwen2.5"), f"hf:{tmp_path}")
    other = tmp_path / "other"
    other.mkdir()
    (other / "tokenizer_config.json").write_text(
        json.dumps({"chat_template": tpl.replace("<|im_end|>", "<gh_stars>"), "eos_token": "<gh_stars>",
                    "added_tokens_decoder": added})
    )  # fmt: skip
    with pytest.raises(UserError, match="splits <gh_stars>"):
        check_tokenizer_fits(load_tokenizer("qwen2.5"), f"hf:{other}")
