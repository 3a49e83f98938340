"""Chat formats: how `messages` become the `text` a trainer sees.

Each built-in format reproduces a model's published chat template on a training
conversation (no generation prompt), so token counts are counted on exactly what the
model is trained on:

- `qwen2.5`: Qwen2.5-Instruct's template (ChatML, Qwen's default system prompt when a
  conversation has none); `chatml`: the same without a default system prompt.
- `llama3`: Meta-Llama-3-Instruct's template, which saiga_llama3_8b also uses.
- `saiga_mistral`: Saiga's own Mistral format as rulm trains on it: saiga_v2.json's
  `<s>{role}\n{content}</s>\n` per message (contents stripped, as its `Conversation` does)
  with the last `\n` dropped, as its `ChatDataset` drops the token after the final `</s>`.
  (The model card's inference snippet joins messages with no `\n`; the training data has it.)
- `mistral_nemo`: Mistral-Nemo-Instruct-2407 (mistral-common's Tekken V3 instruct format).
- `hf:PATH`: the `chat_template` of a local tokenizer folder, rendered as transformers'
  `apply_chat_template` renders it.

`render_with_spans` also says which characters a model should learn (assistant contents
and their end-of-turn token), for assistant-only loss.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

from synth.errors import UserError

Messages = list[dict[str, str]]
Span = tuple[int, int]

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
# Saiga's default system prompt (IlyaGusev/rulm, internal_prompts/saiga_v2.json and llama3.json).
SAIGA_SYSTEM = (
    "Ты — Сайга, русскоязычный автоматический ассистент. Ты разговариваешь с людьми и помогаешь им."
)


def chatml(messages: Messages, default_system: str | None = None) -> str:
    """ChatML as Qwen2.5-Instruct's template writes it: `<|im_start|>{role}\\n{content}<|im_end|>\\n`."""
    parts = []
    if default_system and (not messages or messages[0]["role"] != "system"):
        parts.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for m in messages:
        parts.append(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n")
    return "".join(parts)


def llama3(messages: Messages) -> str:
    """Meta-Llama-3-Instruct's chat_template: bos once, then per message a header, the
    content trimmed (the template's `| trim`) and `<|eot_id|>`."""
    turns = (
        f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>"
        for m in messages
    )
    return "<|begin_of_text|>" + "".join(turns)


_SAIGA_ROLES = {"assistant": "bot"}


def saiga_mistral(messages: Messages) -> str:
    """Saiga Mistral as rulm trains it (self_instruct/internal_prompts/saiga_v2.json,
    src/util/chat.py, src/dataset.py): `<s>{role}\\n{content}</s>\\n` per message with the
    content stripped, roles system/user/bot, and no `\\n` after the last `</s>`."""
    return "\n".join(
        f"<s>{_SAIGA_ROLES.get(m['role'], m['role'])}\n{m['content'].strip()}</s>" for m in messages
    )


def mistral_nemo(messages: Messages) -> str:
    """Mistral-Nemo-Instruct (Tekken V3): `<s>[INST]{user}[/INST]{assistant}</s>...`.

    The system prompt goes before the *last* user message, separated by a blank line, as
    mistral-common's InstructTokenizerV2+ does. (The HF template of the 2407 release only
    does so when that user message is the final message, i.e. it drops the system prompt
    from every training conversation; mistral-common is Mistral's reference.)
    """
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    turns = [m for m in messages if m["role"] != "system"]
    for i, m in enumerate(turns):
        if m["role"] != ("user" if i % 2 == 0 else "assistant"):
            raise UserError(
                "mistral_nemo: after the optional system message, roles must alternate "
                f"user/assistant; got {[t['role'] for t in turns]}"
            )
    last_user = max((i for i, m in enumerate(turns) if m["role"] == "user"), default=-1)
    parts = ["<s>"]
    for i, m in enumerate(turns):
        if m["role"] == "assistant":
            parts.append(f"{m['content']}</s>")
        elif i == last_user and system:
            parts.append(f"[INST]{system}\n\n{m['content']}[/INST]")
        else:
            parts.append(f"[INST]{m['content']}[/INST]")
    return "".join(parts)


FORMATS: dict[str, Callable[[Messages], str]] = {
    "qwen2.5": lambda msgs: chatml(msgs, QWEN_DEFAULT_SYSTEM),
    "chatml": chatml,
    "llama3": llama3,
    "saiga_mistral": saiga_mistral,
    "mistral_nemo": mistral_nemo,
}

# The token that closes an assistant turn: trained with the assistant's content, so the
# model learns to stop.
STOP_TOKENS: dict[str, tuple[str, ...]] = {
    "qwen2.5": ("<|im_end|>",),
    "chatml": ("<|im_end|>",),
    "llama3": ("<|eot_id|>",),
    "saiga_mistral": ("</s>",),
    "mistral_nemo": ("</s>",),
}


# The system prompt a format's template adds to a conversation that has none (Qwen2.5's);
# exports write it out, so a trainer that does not add it (torchtune) sees it too.
DEFAULT_SYSTEM: dict[str, str] = {"qwen2.5": QWEN_DEFAULT_SYSTEM}

# The token trainers append to a document (plain text) for a model of this format, by
# default: the EOS of the chat model's tokenizer. Qwen2.5-Instruct's eos_token is
# <|im_end|> (TRL's text path appends it, torchtune's Qwen2_5Tokenizer and LLaMA-Factory's
# `qwen` template too); LLaMA-Factory's pretraining path and torchtune's Llama-3 tokenizer
# end a llama3 document with <|end_of_text|>; Mistral's tokenizers with </s>.
DOCUMENT_END: dict[str, str] = {
    "qwen2.5": "<|im_end|>",
    "chatml": "<|im_end|>",
    "llama3": "<|end_of_text|>",
    "saiga_mistral": "</s>",
    "mistral_nemo": "</s>",
}


def get_format(name: str) -> Callable[[Messages], str]:
    """The renderer for a format name: a built-in one or `hf:PATH`."""
    if name.startswith("hf:"):
        return _hf_template(name[3:]).render
    try:
        return FORMATS[name]
    except KeyError:
        raise UserError(
            f"--model-format: unknown chat format {name!r}; choose one of "
            f"{', '.join(FORMATS)}, or hf:PATH (a local tokenizer folder with a chat template)"
        ) from None


def stop_tokens(name: str) -> tuple[str, ...]:
    """End-of-turn tokens that may follow an assistant message in this format."""
    if name.startswith("hf:"):
        return _hf_template(name[3:]).stops
    get_format(name)  # a clear error for an unknown name
    return STOP_TOKENS[name]


def document_end(name: str) -> str:
    """The token a trainer appends to a document for this format (hf:PATH: the folder's
    eos_token)."""
    if name.startswith("hf:"):
        eos = _hf_template(name[3:]).specials.get("eos_token")
        if eos is None:
            raise UserError(
                f"{name}: tokenizer_config.json names no eos_token, the token that ends a document"
            )
        return eos
    get_format(name)
    return DOCUMENT_END[name]


def explicit_system(name: str, messages: Messages) -> Messages:
    """`messages` with the system prompt the format's template would add written out: the
    conversation a trainer must be given to see what `text` holds."""
    default = DEFAULT_SYSTEM.get(name)
    if default is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": default}, *messages]


class _Encodes(Protocol):
    name: str

    def encode(self, text: str) -> list[int]: ...


def check_tokenizer_fits(tok: _Encodes, fmt: str, option: str = "--tokenizer") -> None:
    """A chat format's end-of-turn token must be one token of the tokenizer, or the counts
    and ids are not the model's (llama3 markup through the Qwen vocabulary costs 7 tokens
    per <|eot_id|> where Llama-3 has one)."""
    # Only the tokens the template writes (an hf: folder lists every special token it has).
    probe = get_format(fmt)(
        [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
    )
    for stop in (s for s in stop_tokens(fmt) if s in probe):
        n = len(tok.encode(stop))
        if n != 1:
            raise UserError(
                f"{option} {tok.name} splits {stop} (chat format {fmt}) into {n} tokens, so token "
                "counts would be in another model's vocabulary; pass that model's tokenizer: "
                f"{option} PATH (its tokenizer.json or model folder)"
            )


# --- which models use which format ------------------------------------------------

_INFER: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^qwen"), "qwen2.5"),
    (re.compile(r"^saiga[_-]?llama[_-]?3"), "llama3"),
    (re.compile(r"^(meta[_-])?llama[_-]?3"), "llama3"),
    (re.compile(r"^saiga[_-]?mistral"), "saiga_mistral"),
    (re.compile(r"^(saiga[_-]?nemo|mistral[_-]nemo)"), "mistral_nemo"),
]


def infer_format(model: str | None) -> str:
    """The chat format for a model name or path; a local folder with its own chat
    template wins over the name, and anything unknown gets `qwen2.5` (the default)."""
    if not model:
        return "qwen2.5"
    path = Path(model).expanduser()
    if path.is_dir() and _template_source(path) is not None:
        return f"hf:{path}"
    base = model.rstrip("/").rsplit("/", 1)[-1].lower()
    for pattern, fmt in _INFER:
        if pattern.match(base):
            return fmt
    return "qwen2.5"


# --- system prompts -----------------------------------------------------------------


def resolve_system_prompt(spec: str | None) -> str | None:
    """`saiga` → Saiga's default prompt, `none` (or nothing) → no prompt, else the text itself."""
    if spec is None or spec.strip().lower() == "none":
        return None
    if spec.strip().lower() == "saiga":
        return SAIGA_SYSTEM
    return spec


def with_system(messages: Messages, prompt: str | None) -> Messages:
    """`messages` with `prompt` as the system message, unless it already has one (a
    sample's own system message states its task, so it is kept) or `prompt` is None."""
    if prompt is None or (messages and messages[0]["role"] == "system"):
        return messages
    return [{"role": "system", "content": prompt}, *messages]


# --- rendering with the spans to learn ----------------------------------------------

# Placeholders for message contents: private-use characters no template touches.
_SENTINEL = re.compile("\ue000(\\d+)\ue001")


def render_with_spans(name: str, messages: Messages) -> tuple[str, list[Span]]:
    """The rendered text and the character spans a model should learn from it: each
    assistant message's content plus the end-of-turn token right after it.

    The spans come from rendering the conversation a second time with placeholders for
    the contents and aligning that skeleton with the real text, so they are exact for
    any template that copies contents as they are (or trimmed).
    """
    render = get_format(name)
    text = render(messages)
    contents = [m["content"] for m in messages]
    skeleton = render([{**m, "content": f"\ue000{i}\ue001"} for i, m in enumerate(messages)])
    spans = _align(text, skeleton, contents)
    if spans is None:
        raise UserError(
            f"chat format {name}: cannot locate the message contents in the rendered text "
            "(the template rewrites them); assistant-only labels need a template that copies them"
        )
    stops = sorted(stop_tokens(name), key=len, reverse=True)
    learned = []
    for m, span in zip(messages, spans):
        if m["role"] != "assistant" or span is None:
            continue
        start, end = span
        end += next((len(s) for s in stops if text.startswith(s, end)), 0)
        learned.append((start, end))
    return text, sorted(learned)


def _align(text: str, skeleton: str, contents: list[str]) -> list[Span | None] | None:
    """Where each content sits in `text`, given the skeleton rendered with placeholders;
    None if they do not line up."""
    spans: list[Span | None] = [None] * len(contents)
    pos = 0
    for k, part in enumerate(_SENTINEL.split(skeleton)):
        if k % 2 == 0:  # template text between contents
            if not text.startswith(part, pos):
                return None
            pos += len(part)
            continue
        i = int(part)
        found = next(
            (c for c in (contents[i], contents[i].strip()) if text.startswith(c, pos)), None
        )
        if found is None:
            return None
        spans[i] = (pos, pos + len(found))
        pos += len(found)
    return spans if pos == len(text) else None


# --- hf:PATH: a tokenizer folder's own chat template ----------------------------------

_SPECIAL_KEYS = ("bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token")


def _template_source(folder: Path) -> str | None:
    """The folder's chat template: chat_template.jinja (newer transformers saves it
    there) or `chat_template` in tokenizer_config.json (a string, or named templates)."""
    jinja_file = folder / "chat_template.jinja"
    if jinja_file.is_file():
        return jinja_file.read_text(encoding="utf-8")
    cfg = _tokenizer_config(folder)
    tpl = cfg.get("chat_template")
    if isinstance(tpl, list):  # [{"name": "default", "template": ...}, ...]
        tpl = next((t.get("template") for t in tpl if t.get("name") == "default"), None)
    return tpl if isinstance(tpl, str) else None


def _tokenizer_config(folder: Path) -> dict:
    f = folder / "tokenizer_config.json"
    if not f.is_file():
        return {}
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{f}: not valid JSON ({e})") from None


def _token_text(value: object) -> str | None:
    # Saved either as a string or as an AddedToken dict {"content": ..., ...}.
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


class _HFTemplate:
    """A chat template compiled the way transformers compiles it (chat_template_utils:
    ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson,
    raise_exception and strftime_now)."""

    def __init__(self, folder: Path):
        source = _template_source(folder)
        if source is None:
            raise UserError(
                f"hf:{folder}: no chat template (chat_template.jinja or `chat_template` in "
                "tokenizer_config.json)"
            )
        cfg = _tokenizer_config(folder)
        self.specials = {k: t for k in _SPECIAL_KEYS if (t := _token_text(cfg.get(k))) is not None}
        added = cfg.get("added_tokens_decoder", {}).values()
        stops = {t["content"] for t in added if isinstance(t, dict) and t.get("special")}
        if "eos_token" in self.specials:
            stops.add(self.specials["eos_token"])
        self.stops = tuple(sorted(stops, key=len, reverse=True))
        self.folder = folder

        env = ImmutableSandboxedEnvironment(
            trim_blocks=True,
            lstrip_blocks=True,
            extensions=[jinja2.ext.loopcontrols, _Generation],
        )
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = _raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        try:
            self.template = env.from_string(source)
        except jinja2.TemplateSyntaxError as e:
            raise UserError(f"hf:{folder}: chat template line {e.lineno}: {e.message}") from None

    def render(self, messages: Messages) -> str:
        try:
            return self.template.render(
                messages=messages, add_generation_prompt=False, **self.specials
            )
        except jinja2.TemplateError as e:
            raise UserError(f"hf:{self.folder}: chat template: {e}") from None


def _tojson(x: object, ensure_ascii=False, indent=None, separators=None, sort_keys=False) -> str:
    # transformers' override: Jinja's own tojson escapes HTML characters.
    return json.dumps(
        x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


def _raise_exception(message: str) -> None:
    raise jinja2.TemplateError(message)


class _Generation(Extension):
    """`{% generation %}...{% endgeneration %}` (transformers' assistant-mask tag) renders
    its body as is, so templates that use it parse here too."""

    tags = {"generation"}

    def parse(self, parser: jinja2.parser.Parser) -> jinja2.nodes.CallBlock:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller: Callable[[], str]) -> str:
        return caller()


@lru_cache(maxsize=16)
def _hf_template(path: str) -> _HFTemplate:
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise UserError(f"hf:{path}: not a folder (give a local tokenizer or model folder)")
    return _HFTemplate(folder)
