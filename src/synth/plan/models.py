"""Model architectures: a built-in table, `config.json` loading and parameter counting.

Parameter counts are computed from the architecture (never typed in), so the tests can
hold them against the sizes the model cards publish. Decoder-only transformers with
SwiGLU MLPs and RMSNorm (Llama, Mistral, Qwen) are the main case; encoder-decoder T5
configs are understood too, because published PEFT measurements use them.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synth.errors import UserError

# Canonical projection names; LoRA targets are spelled in these.
ATTN_MODULES = ("q", "k", "v", "o")
MLP_MODULES = ("gate", "up", "down")


@dataclass(frozen=True)
class Architecture:
    """Shapes of a transformer, enough to count parameters, activations and KV cache."""

    name: str
    hidden: int
    layers: int  # decoder layers (all layers for a decoder-only model)
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    tied: bool  # input embedding reused as the output projection
    context: int  # longest sequence the model was trained for
    head_dim: int = 0  # 0: hidden // heads (Qwen3 and Mistral-Nemo set it explicitly)
    qkv_bias: bool = False  # Qwen2/2.5
    qk_norm: bool = False  # Qwen3: RMSNorm over each head's q and k
    gated_ffn: bool = True  # SwiGLU / gated-GELU: three matrices instead of two
    encoder_layers: int = 0  # >0: encoder-decoder (T5); decoder layers get cross-attention
    rel_pos_buckets: int = 0  # T5 relative position bias, one table per stack
    base: str = ""  # what a fine-tune is built on, for display

    @property
    def d_head(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def q_dim(self) -> int:
        return self.heads * self.d_head

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.d_head

    @property
    def total_layers(self) -> int:
        return self.layers + self.encoder_layers


# -- parameter counting ----------------------------------------------------------------


def module_shapes(a: Architecture) -> dict[str, tuple[int, int]]:
    """(in, out) features of each linear projection in one attention block / MLP."""
    shapes = {
        "q": (a.hidden, a.q_dim),
        "k": (a.hidden, a.kv_dim),
        "v": (a.hidden, a.kv_dim),
        "o": (a.q_dim, a.hidden),
        "up": (a.hidden, a.ffn),
        "down": (a.ffn, a.hidden),
    }
    if a.gated_ffn:
        shapes["gate"] = (a.hidden, a.ffn)
    return shapes


def attention_params(a: Architecture) -> int:
    s = module_shapes(a)
    n = sum(i * o for m, (i, o) in s.items() if m in ATTN_MODULES)
    if a.qkv_bias:
        n += a.q_dim + 2 * a.kv_dim
    if a.qk_norm:
        n += 2 * a.d_head
    return n


def mlp_params(a: Architecture) -> int:
    return sum(i * o for m, (i, o) in module_shapes(a).items() if m in MLP_MODULES)


def attention_blocks(a: Architecture) -> int:
    """Attention blocks in the whole model: T5 decoders add a cross-attention per layer."""
    cross = a.layers if a.encoder_layers else 0
    return a.encoder_layers + a.layers + cross


def embedding_params(a: Architecture) -> int:
    """Input embedding plus, when untied, the output projection."""
    return a.vocab * a.hidden * (1 if a.tied else 2)


def norm_params(a: Architecture) -> int:
    """RMSNorm weights: two per layer (three in a T5 decoder layer) plus the final one(s)."""
    per_dec = 3 if a.encoder_layers else 2
    finals = 2 if a.encoder_layers else 1
    return a.hidden * (2 * a.encoder_layers + per_dec * a.layers + finals)


def linear_params(a: Architecture) -> int:
    """Weights of the projections inside the blocks: what QLoRA stores in 4 bits."""
    attn = sum(i * o for m, (i, o) in module_shapes(a).items() if m in ATTN_MODULES)
    return attention_blocks(a) * attn + a.total_layers * mlp_params(a)


def count_params(a: Architecture) -> int:
    """Total parameters, computed from the shapes."""
    n = attention_blocks(a) * attention_params(a) + a.total_layers * mlp_params(a)
    n += norm_params(a) + embedding_params(a)
    if a.encoder_layers:
        n += 2 * a.rel_pos_buckets * a.heads
    return n


def compute_params(a: Architecture) -> int:
    """Parameters that take part in a matmul per token: the input embedding is a lookup."""
    return count_params(a) - (0 if a.tied else a.vocab * a.hidden)


def layer_params(a: Architecture) -> int:
    """Parameters of one (decoder) layer: what ZeRO-3 gathers at a time."""
    blocks = 2 if a.encoder_layers else 1
    return blocks * attention_params(a) + mlp_params(a) + 3 * a.hidden


def kv_bytes_per_token(a: Architecture, dtype_bytes: float = 2.0) -> float:
    """KV cache per generated token: a key and a value per layer and KV head."""
    return 2 * a.layers * a.kv_dim * dtype_bytes


# -- built-in table --------------------------------------------------------------------


def _qwen25(
    name: str, h: int, layers: int, heads: int, kv: int, ffn: int, tied: bool
) -> Architecture:
    vocab = 151936 if tied else 152064  # the small Qwen2.5 models tie a smaller table
    return Architecture(name, h, layers, heads, kv, ffn, vocab, tied, 32768, qkv_bias=True)


def _qwen3(name: str, h: int, layers: int, heads: int, ffn: int, tied: bool) -> Architecture:
    return Architecture(
        name, h, layers, heads, 8, ffn, 151936, tied, 40960, head_dim=128, qk_norm=True
    )


def _llama(
    name: str, h: int, layers: int, heads: int, kv: int, ffn: int, vocab: int, tied: bool, ctx: int
) -> Architecture:
    return Architecture(name, h, layers, heads, kv, ffn, vocab, tied, ctx)


# Values are the published config.json fields of each model.
_TABLE: list[Architecture] = [
    _qwen25("Qwen2.5-0.5B", 896, 24, 14, 2, 4864, True),
    _qwen25("Qwen2.5-1.5B", 1536, 28, 12, 2, 8960, True),
    _qwen25("Qwen2.5-3B", 2048, 36, 16, 2, 11008, True),
    _qwen25("Qwen2.5-7B", 3584, 28, 28, 4, 18944, False),
    _qwen25("Qwen2.5-14B", 5120, 48, 40, 8, 13824, False),
    _qwen25("Qwen2.5-32B", 5120, 64, 40, 8, 27648, False),
    _qwen25("Qwen2.5-72B", 8192, 80, 64, 8, 29568, False),
    _qwen3("Qwen3-0.6B", 1024, 28, 16, 3072, True),
    _qwen3("Qwen3-1.7B", 2048, 28, 16, 6144, True),
    _qwen3("Qwen3-4B", 2560, 36, 32, 9728, True),
    _qwen3("Qwen3-8B", 4096, 36, 32, 12288, False),
    _qwen3("Qwen3-14B", 5120, 40, 40, 17408, False),
    _qwen3("Qwen3-32B", 5120, 64, 64, 25600, False),
    _llama("Llama-3-8B", 4096, 32, 32, 8, 14336, 128256, False, 8192),
    _llama("Llama-3.1-8B", 4096, 32, 32, 8, 14336, 128256, False, 131072),
    _llama("Llama-3.1-70B", 8192, 80, 64, 8, 28672, 128256, False, 131072),
    _llama("Llama-3.2-1B", 2048, 16, 32, 8, 8192, 128256, True, 131072),
    _llama("Llama-3.2-3B", 3072, 28, 24, 8, 8192, 128256, True, 131072),
    _llama("Llama-2-7B", 4096, 32, 32, 32, 11008, 32000, False, 4096),
    _llama("Llama-2-13B", 5120, 40, 40, 40, 13824, 32000, False, 4096),
    _llama("Llama-2-70B", 8192, 80, 64, 8, 28672, 32000, False, 4096),
    _llama("Mistral-7B", 4096, 32, 32, 8, 14336, 32000, False, 32768),
    Architecture("Mistral-Nemo-12B", 5120, 40, 32, 8, 14336, 131072, False, 1024000, head_dim=128),
    _llama("YandexGPT-5-Lite-8B", 4096, 32, 32, 8, 14336, 129024, False, 32768),
]

# Fine-tunes that share their base's shapes: name -> base name.
_DERIVED = {
    "saiga_llama3_8b": "Llama-3-8B",
    "saiga_mistral_7b": "Mistral-7B",
    "saiga_nemo_12b": "Mistral-Nemo-12B",
    "saiga_yandexgpt_8b": "YandexGPT-5-Lite-8B",
}

# Extra spellings (normalised by `_key`) that name a table entry.
_ALIASES = {
    "mistral-nemo": "Mistral-Nemo-12B",
    "mistral-nemo-12b": "Mistral-Nemo-12B",
    "nemo-12b": "Mistral-Nemo-12B",
    "yandexgpt-5-lite": "YandexGPT-5-Lite-8B",
    "llama-3-70b": "Llama-3.1-70B",
    "llama-3.3-70b": "Llama-3.1-70B",
    "qwen2.5-0.6b": "Qwen2.5-0.5B",
}

# Trailing name parts that do not change the shapes.
_SUFFIXES = {
    "instruct",
    "chat",
    "it",
    "base",
    "hf",
    "pretrain",
    "pt",
    "sft",
    "awq",
    "gptq",
    "gguf",
    "bnb",
    "4bit",
    "8bit",
}


def _key(name: str) -> str:
    """A loose spelling key: `Qwen/Qwen2.5-7B-Instruct`, `qwen2.5-7b`, `qwen2_5_7b` match."""
    s = name.strip().lower().rsplit("/", 1)[-1]
    s = re.sub(r"[^a-z0-9.]+", "-", s).strip("-")
    s = re.sub(r"(?<=qwen2)-5(?=-|$)", ".5", s)  # qwen2_5 spelled with an underscore
    s = re.sub(r"(llama-?3)-([123])(?=-)", r"\1.\2", s)  # llama3_1_8b
    parts = s.split("-")
    while len(parts) > 1 and (
        parts[-1] in _SUFFIXES or re.fullmatch(r"v\d+(\.\d+)*|\d{4}", parts[-1])
    ):
        parts.pop()
    s = "-".join(parts)
    s = re.sub(r"^meta-", "", s)
    # Hyphens between a letter and a digit are optional: llama-3.1 == llama3.1.
    return re.sub(r"(?<=[a-z])-(?=\d)|(?<=\d)-(?=[a-z])", "", s)


def _index() -> dict[str, Architecture]:
    idx = {_key(a.name): a for a in _TABLE}
    by_name = {a.name: a for a in _TABLE}
    for alias, target in _ALIASES.items():
        idx[_key(alias)] = by_name[target]
    for name, base in _DERIVED.items():
        idx[_key(name)] = replace(by_name[base], name=name, base=base)
    return idx


BUILTIN: dict[str, Architecture] = _index()


def builtin_names() -> list[str]:
    return [a.name for a in _TABLE] + list(_DERIVED)


# -- config.json -----------------------------------------------------------------------


def _req(cfg: dict[str, Any], where: str, *keys: str) -> int:
    for k in keys:
        if isinstance(cfg.get(k), int) and cfg[k] > 0:
            return int(cfg[k])
    raise UserError(f"--model: {where} has no positive integer {keys[0]!r}")


def arch_from_config(
    cfg: dict[str, Any], name: str = "config.json", where: str = "config.json"
) -> Architecture:
    """Read the shapes from a Hugging Face `config.json` (decoder-only or T5)."""
    if isinstance(cfg.get("text_config"), dict):  # multimodal wrappers keep the LM inside
        cfg = {**cfg["text_config"], "model_type": cfg["text_config"].get("model_type", "")}
    mtype = str(cfg.get("model_type", "")).lower()
    if any(k in cfg for k in ("num_experts", "num_local_experts", "n_routed_experts")):
        raise UserError(
            f"--model: {where} is a mixture-of-experts model, which `synth plan` does not model"
        )
    if mtype in ("t5", "mt5", "umt5") or cfg.get("is_encoder_decoder"):
        d = _req(cfg, where, "d_model")
        heads = _req(cfg, where, "num_heads")
        layers = _req(cfg, where, "num_layers")
        return Architecture(
            name=name,
            hidden=d,
            layers=int(cfg.get("num_decoder_layers") or layers),
            heads=heads,
            kv_heads=heads,
            ffn=_req(cfg, where, "d_ff"),
            vocab=_req(cfg, where, "vocab_size"),
            tied=bool(cfg.get("tie_word_embeddings", True)),  # T5Config's default
            context=int(cfg.get("n_positions") or 512),
            head_dim=_req(cfg, where, "d_kv"),
            gated_ffn=str(cfg.get("feed_forward_proj", "relu")).startswith("gated"),
            encoder_layers=layers,
            rel_pos_buckets=int(cfg.get("relative_attention_num_buckets", 32)),
        )
    heads = _req(cfg, where, "num_attention_heads", "n_head")
    return Architecture(
        name=name,
        hidden=_req(cfg, where, "hidden_size", "n_embd"),
        layers=_req(cfg, where, "num_hidden_layers", "n_layer"),
        heads=heads,
        kv_heads=int(cfg.get("num_key_value_heads") or heads),
        ffn=_req(cfg, where, "intermediate_size"),
        vocab=_req(cfg, where, "vocab_size"),
        tied=bool(cfg.get("tie_word_embeddings", False)),
        context=int(cfg.get("max_position_embeddings") or cfg.get("seq_length") or 4096),
        head_dim=int(cfg.get("head_dim") or 0),
        qkv_bias=mtype == "qwen2" or bool(cfg.get("attention_bias", False)),
        qk_norm=mtype == "qwen3",
    )


def _looks_like_path(spec: str) -> bool:
    return (
        spec.startswith((".", "/", "~"))
        or "\\" in spec
        or spec.endswith(".json")
        or Path(spec).exists()
    )


def load_config_path(spec: str) -> Architecture:
    """A folder holding config.json, or the file itself."""
    p = Path(spec).expanduser()
    f = p / "config.json" if p.is_dir() else p
    if not f.is_file():
        raise UserError(f"--model: no config.json at {spec}")
    try:
        cfg = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"--model: cannot read {f}: {e}") from None
    if not isinstance(cfg, dict):
        raise UserError(f"--model: {f} is not a JSON object")
    name = (p if p.is_dir() else p.parent).name or str(f)
    return arch_from_config(cfg, name=name, where=str(f))


def resolve_model(spec: str) -> Architecture:
    """A built-in name in any loose spelling, or a path to a local config.json."""
    if not spec or not spec.strip():
        raise UserError("--model: give a model name (e.g. qwen2.5-7b) or a folder with config.json")
    key = _key(spec)
    if key in BUILTIN and not Path(spec).exists():
        return BUILTIN[key]
    if _looks_like_path(spec):
        return load_config_path(spec)
    near = difflib.get_close_matches(key, list(BUILTIN), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(BUILTIN[k].name for k in near)}?" if near else ""
    raise UserError(
        f"--model: unknown model {spec!r}{hint} (see `synth plan --list-models`, or give a folder with config.json)"
    )
