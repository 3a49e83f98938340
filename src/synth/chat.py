"""Chat formats: how `messages` become the `text` a trainer sees.

The default reproduces Qwen2.5's chat template (ChatML with Qwen's default system
prompt when a conversation has none), so token counts are counted on exactly what
`tokenizer.apply_chat_template(messages)` gives for Qwen2.5-Instruct.
"""

from __future__ import annotations

from collections.abc import Callable

from synth.errors import UserError

QWEN_DEFAULT_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."


def chatml(messages: list[dict[str, str]], default_system: str | None = None) -> str:
    parts = []
    if default_system and (not messages or messages[0]["role"] != "system"):
        parts.append(f"<|im_start|>system\n{default_system}<|im_end|>\n")
    for m in messages:
        parts.append(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n")
    return "".join(parts)


FORMATS: dict[str, Callable[[list[dict[str, str]]], str]] = {
    "qwen2.5": lambda msgs: chatml(msgs, QWEN_DEFAULT_SYSTEM),
    "chatml": chatml,
}


def get_format(name: str) -> Callable[[list[dict[str, str]]], str]:
    try:
        return FORMATS[name]
    except KeyError:
        raise UserError(f"--model-format: unknown chat format {name!r}; choose one of {', '.join(FORMATS)}") from None
