"""From a run's config to an LLM backend's options, and what of them the fingerprint covers.

Where options come from, later ones winning:
1. the tier's `realise:` (a mode, or `{default: MODE, templates: {ID: MODE}}`) and
   `llm:` mapping (`sampling: {temperature, top_p, max_tokens, stop}`, `retries`,
   engine options such as `tensor_parallel_size` or `concurrency`);
2. the command line: `--realise MODE`, `--base-url`, `--api-key-env`, and any
   `--llm-option KEY=VALUE` (values are YAML: numbers, true/false, lists).

The response cache lives in `OUT/.synth/llm-cache.sqlite` unless `cache` names a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from synth import safe_yaml
from synth.errors import UserError
from synth.safe_yaml import shown

# Options that change what a response is, hence the corpus: part of the fingerprint.
OUTPUT_OPTIONS = (
    "realise",
    "sampling",
    "retries",
    "constrain",
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
)


def parse_llm_options(pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`["temperature=0.2", "stop=[END]"]` → {"temperature": 0.2, "stop": ["END"]}."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise UserError(f"--llm-option {shown(pair)}: write KEY=VALUE, e.g. temperature=0.2")
        try:
            out[key] = safe_yaml.load(raw) if raw.strip() else None
        except safe_yaml.YamlLimit as e:
            raise UserError(f"--llm-option {key[:40]}: {e.problem}") from None
        except yaml.YAMLError:
            out[key] = raw
    return out


def backend_options(
    backend: str,
    tier_raw: dict[str, Any],
    out: str | Path,
    realise: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    llm_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The keyword options for `get_backend(backend, model=..., **options)`."""
    if backend == "template":
        return {}
    llm = tier_raw.get("llm") or {}
    if not isinstance(llm, dict):
        raise UserError("tier config: 'llm' must be a mapping (sampling, retries, engine options)")
    opts: dict[str, Any] = dict(llm)
    if tier_raw.get("realise") is not None:
        opts["realise"] = tier_raw["realise"]
    if realise is not None:
        # --realise overrides the tier's default mode, and keeps its per-template modes
        tier_realise = opts.get("realise")
        per = tier_realise.get("templates", {}) if isinstance(tier_realise, dict) else {}
        opts["realise"] = {"default": realise, "templates": per} if per else realise
    if base_url is not None:
        opts["base_url"] = base_url
    if api_key_env is not None:
        opts["api_key_env"] = api_key_env
    opts.update(llm_options or {})
    opts.setdefault("cache", str(Path(out).resolve() / ".synth" / "llm-cache.sqlite"))
    return opts


def fingerprint_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options that change the corpus (not where the server is, nor how fast)."""
    return {k: options[k] for k in OUTPUT_OPTIONS if k in options}
