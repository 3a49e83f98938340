"""Chat formats against the models' published templates, written out by hand.

Sources of the expected strings:
- Qwen2.5-Instruct tokenizer_config.json chat_template (ChatML, Qwen's default system).
- Meta-Llama-3-8B-Instruct tokenizer_config.json chat_template (also saiga_llama3_8b;
  rulm self_instruct/internal_prompts/llama3.json).
- Saiga Mistral: IlyaGusev/rulm self_instruct/internal_prompts/saiga_v2.json with the
  training code that applies it (src/util/chat.py, src/dataset.py), at commit
  7dea0d02b6d58aa372fa943d17c1e784504462e1: see test_saiga_formats_are_rulms_training_text.
- Mistral-Nemo (Tekken V3): mistralai/cookbook concept-deep-dive/tokenization/templates.md
  and mistral-common InstructTokenizerV2+ (system prompt before the last user message).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth.chat import (
    FORMATS,
    QWEN_DEFAULT_SYSTEM,
    SAIGA_SYSTEM,
    chatml,
    get_format,
    infer_format,
    render_with_spans,
    resolve_system_prompt,
    with_system,
)
from synth.errors import UserError

CONV = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2?"},
    {"role": "assistant", "content": "4"},
]

EXPECTED = {
    "chatml": (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n4<|im_end|>\n"
    ),
    "qwen2.5": (
        "<|im_start|>system\nYou are terse.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
        "<|im_start|>assistant\n4<|im_end|>\n"
    ),
    "llama3": (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
    ),
    "saiga_mistral": "<s>system\nYou are terse.</s>\n<s>user\nWhat is 2+2?</s>\n<s>bot\n4</s>",
    "mistral_nemo": "<s>[INST]You are terse.\n\nWhat is 2+2?[/INST]4</s>",
}
STOP = {
    "chatml": "<|im_end|>",
    "qwen2.5": "<|im_end|>",
    "llama3": "<|eot_id|>",
    "saiga_mistral": "</s>",
    "mistral_nemo": "</s>",
}

# Meta-Llama-3-8B-Instruct's published chat_template (tokenizer_config.json).
LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tokenizer_folder(root: Path, template: str | None, **config) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if template is not None:
        config["chat_template"] = template
    (root / "tokenizer_config.json").write_text(json.dumps(config))
    return root


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_format_renders_the_published_template(name):
    assert get_format(name)(CONV) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_spans_cover_assistant_content_and_end_of_turn(name):
    text, spans = render_with_spans(name, CONV)
    assert text == EXPECTED[name]
    assert [text[a:b] for a, b in spans] == ["4" + STOP[name]]


def test_every_builtin_format_is_tested():
    assert set(FORMATS) == set(EXPECTED)


def test_qwen_adds_its_default_system_prompt_only_when_there_is_none():
    no_system = CONV[1:]
    assert get_format("qwen2.5")(no_system) == (
        f"<|im_start|>system\n{QWEN_DEFAULT_SYSTEM}<|im_end|>\n" + chatml(no_system)
    )
    assert get_format("chatml")(no_system).startswith("<|im_start|>user\n")


def test_llama3_trims_contents_like_the_template():
    msgs = [{"role": "user", "content": "  hi \n"}, {"role": "assistant", "content": "\nyo "}]
    text, spans = render_with_spans("llama3", msgs)
    assert text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nyo<|eot_id|>"
    )
    assert [text[a:b] for a, b in spans] == ["yo<|eot_id|>"]


def test_mistral_nemo_puts_the_system_prompt_before_the_last_user_message():
    msgs = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"},
    ]
    text, spans = render_with_spans("mistral_nemo", msgs)
    assert text == "<s>[INST]u1[/INST]a1</s>[INST]S\n\nu2[/INST]a2</s>"
    assert [text[a:b] for a, b in spans] == ["a1</s>", "a2</s>"]


def test_mistral_nemo_rejects_roles_that_do_not_alternate():
    with pytest.raises(UserError, match="alternate"):
        get_format("mistral_nemo")([{"role": "assistant", "content": "x"}])


def test_saiga_mistral_names_the_assistant_bot():
    assert get_format("saiga_mistral")(CONV[1:]) == "<s>user\nWhat is 2+2?</s>\n<s>bot\n4</s>"


# rulm's templates, as published (IlyaGusev/rulm at 7dea0d02b6d58aa372fa943d17c1e784504462e1,
# self_instruct/internal_prompts/saiga_v2.json and llama3.json).
RULM_TEMPLATES = {
    "saiga_mistral": {
        "system_message_template": "<s>{role}\n{content}</s>\n",
        "user_message_template": "<s>{role}\n{content}</s>\n",
        "bot_message_template": "<s>{role}\n{content}</s>\n",
        "user_role": "user",
        "bot_role": "bot",
        "system_role": "system",
    },
    "llama3": {
        "system_message_template": (
            "<|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>"
        ),
        "user_message_template": "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
        "bot_message_template": "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
        "user_role": "user",
        "bot_role": "assistant",
        "system_role": "system",
    },
}
# The tokenizers rulm trains with: saiga_mistral_7b.json names Mistral (bos <s>, eos </s>);
# train_unsloth.py sets Llama-3's eos to <|eot_id|> (bos <|begin_of_text|>).
RULM_SPECIALS = {"saiga_mistral": ("<s>", "</s>"), "llama3": ("<|begin_of_text|>", "<|eot_id|>")}


def rulm_training_text(fmt: str, messages: list[dict]) -> str:
    """What rulm's ChatDataset trains on, at the level of text: Conversation.expand and
    format_message (roles mapped, contents stripped, one template per message), then
    convert_record's ends: a bos when the first message does not start with it, the last
    piece dropped when the one before it is the eos (the `\\n` after the final `</s>`),
    an eos when the text does not end with it."""
    t = RULM_TEMPLATES[fmt]
    roles = {"user": t["user_role"], "assistant": t["bot_role"], "system": t["system_role"]}
    kinds = {"user": "user", "assistant": "bot", "system": "system"}
    pieces = [
        t[f"{kinds[m['role']]}_message_template"].format(
            role=roles[m["role"]], content=m["content"].strip()
        )
        for m in messages
    ]
    text = "".join(pieces)
    bos, eos = RULM_SPECIALS[fmt]
    if not text.startswith(bos):
        text = bos + text
    if text.endswith(eos + "\n"):
        text = text[:-1]
    if not text.endswith(eos):
        text += eos
    return text


@pytest.mark.parametrize("fmt", sorted(RULM_TEMPLATES))
@pytest.mark.parametrize(
    "messages",
    [
        CONV,
        CONV[1:],
        [*CONV, {"role": "user", "content": " Twice? "}, {"role": "assistant", "content": "8\n"}],
        [{"role": "system", "content": SAIGA_SYSTEM}, *CONV[1:]],
    ],
)
def test_saiga_formats_are_rulms_training_text(fmt, messages):
    assert get_format(fmt)(messages) == rulm_training_text(fmt, messages)


def test_unknown_format_is_a_user_error():
    with pytest.raises(UserError, match="unknown chat format"):
        get_format("vicuna")


@pytest.mark.parametrize(
    ("model", "fmt"),
    [
        (None, "qwen2.5"),
        ("Qwen/Qwen2.5-7B-Instruct", "qwen2.5"),
        ("qwen2.5-0.5b", "qwen2.5"),
        ("IlyaGusev/saiga_llama3_8b", "llama3"),
        ("meta-llama/Meta-Llama-3-8B-Instruct", "llama3"),
        ("llama-3-8b-instruct", "llama3"),
        ("llama3-8b", "llama3"),
        ("IlyaGusev/saiga_mistral_7b_merged", "saiga_mistral"),
        ("IlyaGusev/saiga_nemo_12b", "mistral_nemo"),
        ("mistralai/Mistral-Nemo-Instruct-2407", "mistral_nemo"),
        ("gpt2", "qwen2.5"),
    ],
)
def test_infer_format_from_the_model_name(model, fmt):
    assert infer_format(model) == fmt


def test_infer_format_prefers_a_local_folders_own_template(tmp_path):
    with_template = tokenizer_folder(tmp_path / "saiga_llama3_8b", CHATML_TEMPLATE)
    assert infer_format(str(with_template)) == f"hf:{with_template}"
    without = tokenizer_folder(tmp_path / "saiga_mistral_7b", None)
    assert infer_format(str(without)) == "saiga_mistral"


def test_hf_chatml_template_matches_chatml(tmp_path):
    folder = tokenizer_folder(
        tmp_path / "tok",
        CHATML_TEMPLATE,
        eos_token="<|im_end|>",
        added_tokens_decoder={
            "151644": {"content": "<|im_start|>", "special": True},
            "151645": {"content": "<|im_end|>", "special": True},
        },
    )
    name = f"hf:{folder}"
    assert get_format(name)(CONV) == chatml(CONV)
    assert render_with_spans(name, CONV) == render_with_spans("chatml", CONV)


def test_hf_llama3_template_matches_llama3(tmp_path):
    # bos_token saved as an AddedToken dict, as transformers writes it.
    bos = {"content": "<|begin_of_text|>", "lstrip": False, "special": True}
    folder = tokenizer_folder(
        tmp_path / "l3", LLAMA3_TEMPLATE, bos_token=bos, eos_token="<|eot_id|>"
    )
    msgs = [*CONV[:2], {"role": "assistant", "content": " 4 "}]
    assert get_format(f"hf:{folder}")(msgs) == get_format("llama3")(msgs)
    text, spans = render_with_spans(f"hf:{folder}", msgs)
    assert [text[a:b] for a, b in spans] == ["4<|eot_id|>"]


def test_hf_chat_template_jinja_file_wins(tmp_path):
    folder = tokenizer_folder(tmp_path / "tok", "{{ 'old' }}")
    (folder / "chat_template.jinja").write_text(CHATML_TEMPLATE)
    assert get_format(f"hf:{folder}")(CONV) == chatml(CONV)


def test_hf_template_raise_exception_is_a_user_error(tmp_path):
    folder = tokenizer_folder(tmp_path / "tok", "{{ raise_exception('roles must alternate') }}")
    with pytest.raises(UserError, match="roles must alternate"):
        get_format(f"hf:{folder}")(CONV)


def test_hf_generation_tag_renders_its_body(tmp_path):
    tpl = (
        "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}"
        "{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}|{% endfor %}"
    )
    folder = tokenizer_folder(tmp_path / "tok", tpl)
    assert get_format(f"hf:{folder}")(CONV) == "You are terse.|What is 2+2?|4|"


def test_hf_without_template_is_a_user_error(tmp_path):
    folder = tokenizer_folder(tmp_path / "tok", None)
    with pytest.raises(UserError, match="no chat template"):
        get_format(f"hf:{folder}")
    with pytest.raises(UserError, match="not a folder"):
        get_format(f"hf:{tmp_path / 'missing'}")


def test_system_prompt_helpers():
    assert resolve_system_prompt("saiga") == SAIGA_SYSTEM
    assert resolve_system_prompt("none") is None
    assert resolve_system_prompt("Be kind.") == "Be kind."
    assert with_system(CONV[1:], SAIGA_SYSTEM)[0] == {"role": "system", "content": SAIGA_SYSTEM}
    assert with_system(CONV[1:], SAIGA_SYSTEM)[1:] == CONV[1:]
    assert with_system(CONV, SAIGA_SYSTEM) == CONV  # the sample's own system message stays
    assert with_system(CONV[1:], None) == CONV[1:]
