"""What `synth generate` takes: one field per CLI option, with the CLI's defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synth.errors import UserError


@dataclass
class GenerateConfig:
    """What `synth generate` takes; every field has the CLI option of the same name."""

    tier: str = "command"
    out: str = "outputs/command"
    tokens: str | int | None = None
    seed: int = 0
    workers: int | None = None
    executor: str = "local"
    ray_address: str | None = None
    shard_tokens: str | int = "100M"
    tokenizer: str = "qwen2.5"
    model_format: str | None = None  # None: inferred from `model`
    system_prompt: str | None = None
    backend: str = "template"
    model: str | None = None
    realise: str | None = (
        None  # LLM backends: default realisation mode (else the tier's `realise:`)
    )
    base_url: str | None = None  # openai backend: the server, e.g. http://127.0.0.1:8000/v1
    api_key_env: str | None = None  # openai backend: the variable holding the key (OPENAI_API_KEY)
    llm_options: dict[str, Any] = field(default_factory=dict)  # --llm-option KEY=VALUE
    lang: str = "en"
    world: str | None = None  # a world spec (YAML) or ontology (RDF/OWL); default: fictional
    templates: list[str] = field(default_factory=list)
    templates_only: bool = False
    overwrite: bool = False
    allow_repeat: bool = False  # generate past what the world can say (tell facts more often)
    checkpoint_every: float = 60.0  # seconds of work between two checkpoints, at most
    progress: bool = True
    command_line: str | None = None


def parse_langs(spec: str) -> dict[str, float]:
    """`en`, `ru`, `en,ru` (equal shares) or `en:0.7,ru:0.3`."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, share = part.partition(":")
        if not name.isalpha() or len(name) > 8:
            raise UserError(f"--lang: {part!r} is not a language code (e.g. en, ru, en:0.7,ru:0.3)")
        try:
            out[name] = float(share) if share else 1.0
        except ValueError:
            raise UserError(f"--lang: share {share!r} of {name} is not a number") from None
        if not out[name] > 0 or out[name] == float("inf"):
            raise UserError(f"--lang: share of {name} must be a positive number")
    if not out:
        raise UserError("--lang: give at least one language, e.g. en")
    total = sum(out.values())
    return {k: v / total for k, v in out.items()}
