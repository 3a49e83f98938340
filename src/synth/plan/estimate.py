"""Memory, time, generation and disk estimates: pure functions over an architecture.

Every constant that shapes a number is either a field of `Setup` / `GenSetup` (so the
CLI can print it and override it) or a named module constant with its reason beside it.
Bytes are bytes; the CLI converts to GiB.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from synth.errors import UserError
from synth.plan.gpus import GPU
from synth.plan.models import (
    ATTN_MODULES,
    MLP_MODULES,
    Architecture,
    attention_blocks,
    compute_params,
    count_params,
    kv_bytes_per_token,
    layer_params,
    linear_params,
    module_shapes,
)

METHODS = ("full", "lora", "qlora")
PRECISIONS = ("mixed", "bf16", "fp32")
OPTIMIZERS = ("adamw", "adamw8bit")
ZERO_STAGES = (0, 2, 3)
GIB = 2**30

# NF4 with double quantization (QLoRA paper): 4 bits per weight, an 8-bit absmax per
# block of 64 and an fp32 constant per 256 blocks.
NF4_BYTES = (4 + 8 / 64 + 32 / (64 * 256)) / 8

# Model-FLOPs utilization when none is given. Fine-tuning runs in HF/torchtune-style
# stacks typically land at 35-45% of dense peak for full training; LoRA's small adapter
# matmuls and frozen-weight bookkeeping cost a little; QLoRA dequantizes every weight on
# every forward and backward pass (torchtune's README measures ~0.8x LoRA's speed).
DEFAULT_MFU = {"full": 0.40, "lora": 0.35, "qlora": 0.28}

# A chunked or fused cross-entropy keeps roughly this many bytes per logit.
CHUNKED_LOGIT_BYTES = 3.0

_MODULE_SPELLINGS = {
    "q": "q", "q_proj": "q", "query": "q",
    "k": "k", "k_proj": "k", "key": "k",
    "v": "v", "v_proj": "v", "value": "v",
    "o": "o", "o_proj": "o", "out_proj": "o", "output_proj": "o", "dense": "o",
    "gate": "gate", "gate_proj": "gate", "w1": "gate", "wi_0": "gate",
    "up": "up", "up_proj": "up", "w3": "up", "wi_1": "up", "wi": "up",
    "down": "down", "down_proj": "down", "w2": "down", "wo": "down",
}  # fmt: skip
_GROUPS = {
    "all-linear": ATTN_MODULES + MLP_MODULES,
    "all": ATTN_MODULES + MLP_MODULES,
    "attn": ATTN_MODULES,
    "attention": ATTN_MODULES,
    "mlp": MLP_MODULES,
}


def parse_targets(spec: str) -> tuple[str, ...]:
    """`all-linear`, `attn`, `mlp` or a comma list such as `q_proj,v_proj`."""
    out: list[str] = []
    for tok in (t.strip().lower() for t in spec.split(",")):
        if not tok:
            continue
        mods = _GROUPS.get(tok) or ((_MODULE_SPELLINGS[tok],) if tok in _MODULE_SPELLINGS else None)
        if mods is None:
            raise UserError(
                f"--target-modules: unknown module {tok!r}; use all-linear, attn, mlp or "
                "names such as q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
            )
        out.extend(m for m in mods if m not in out)
    if not out:
        raise UserError("--target-modules: name at least one module")
    return tuple(out)


@dataclass(frozen=True)
class Setup:
    """How the model is trained; every field is a CLI option."""

    method: str = "lora"
    precision: str = "mixed"  # mixed: bf16 compute, fp32 master weights and AdamW states
    optimizer: str = "adamw"
    zero: int = 0
    gpus: int = 1
    micro_batch: int = 1  # sequences per GPU per step
    seq_len: int = 2048
    grad_checkpointing: bool = True
    rank: int = 16
    targets: tuple[str, ...] = ATTN_MODULES + MLP_MODULES
    # Bytes per token and vocabulary entry at the loss. Hugging Face's loss upcasts the
    # logits to fp32 and keeps the log-softmax (4) for the backward pass, which then
    # briefly holds two more fp32 gradients of that size (4 + 4). Chunked or fused
    # losses (torchtune, Liger) keep ~3.
    logit_bytes: float = 12.0
    overhead: float = 0.10  # allocator fragmentation and temporary buffers, fraction
    cuda_context_gib: float = 1.0  # CUDA context, cuBLAS/NCCL workspaces


def validate(arch: Architecture, s: Setup) -> None:
    """One-line UserErrors for configurations that cannot run."""
    if s.method not in METHODS:
        raise UserError(f"--method: choose one of {', '.join(METHODS)}, got {s.method!r}")
    if s.precision not in PRECISIONS:
        raise UserError(f"--precision: choose one of {', '.join(PRECISIONS)}, got {s.precision!r}")
    if s.optimizer not in OPTIMIZERS:
        raise UserError(f"--optimizer: choose one of {', '.join(OPTIMIZERS)}, got {s.optimizer!r}")
    if s.zero not in ZERO_STAGES:
        raise UserError(f"--zero: choose 0, 2 or 3, got {s.zero}")
    if s.gpus < 1:
        raise UserError(f"--gpus: must be at least 1, got {s.gpus}")
    if s.micro_batch < 1:
        raise UserError(f"--micro-batch: must be at least 1, got {s.micro_batch}")
    if s.seq_len < 1:
        raise UserError(f"--seq-len: must be at least 1, got {s.seq_len}")
    if s.seq_len > arch.context:
        raise UserError(
            f"--seq-len: {s.seq_len} exceeds {arch.name}'s context of {arch.context} tokens"
        )
    if s.method != "full" and s.rank < 1:
        raise UserError(f"--rank: must be a positive integer, got {s.rank}")
    if s.method != "full" and s.rank > min(arch.hidden, arch.ffn):
        raise UserError(f"--rank: {s.rank} is larger than the layers it adapts ({arch.hidden})")
    nonneg = (
        ("--logit-bytes", s.logit_bytes),
        ("--overhead", s.overhead),
        ("--cuda-context", s.cuda_context_gib),
    )
    for opt, v in nonneg:
        if v < 0:
            raise UserError(f"{opt}: must not be negative, got {v:g}")


# -- parameters --------------------------------------------------------------------------


def lora_params(arch: Architecture, rank: int, targets: tuple[str, ...]) -> int:
    """Adapter parameters: r·(in + out) per adapted projection, in every block."""
    shapes = module_shapes(arch)
    n = 0
    for m in targets:
        if m not in shapes:  # e.g. `gate` on a non-gated MLP
            continue
        i, o = shapes[m]
        copies = attention_blocks(arch) if m in ATTN_MODULES else arch.total_layers
        n += copies * rank * (i + o)
    return n


def trainable_params(arch: Architecture, s: Setup) -> int:
    return count_params(arch) if s.method == "full" else lora_params(arch, s.rank, s.targets)


# -- memory ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Per-GPU peak memory by part, in bytes."""

    weights: float  # model weights (frozen base for LoRA/QLoRA)
    adapters: float  # LoRA adapter weights (0 for full: counted in weights)
    gradients: float
    optimizer: float  # AdamW moments, plus fp32 master weights in mixed precision
    activations: float
    logits: float
    buffers: float  # ZeRO-3 gathered layers, QLoRA dequantized weight
    overhead: float

    @property
    def subtotal(self) -> float:
        """What PyTorch's allocator reports as peak: everything but the overhead."""
        return self.total - self.overhead

    @property
    def total(self) -> float:
        return (
            self.weights
            + self.adapters
            + self.gradients
            + self.optimizer
            + self.activations
            + self.logits
            + self.buffers
            + self.overhead
        )


def act_bytes(s: Setup) -> int:
    return 4 if s.precision == "fp32" else 2


def layer_activation_elems(arch: Architecture) -> int:
    """Values one layer keeps per token for its backward pass.

    Two RMSNorms keep their fp32 input and bf16 output (3 bf16-sized values per hidden
    unit each); flash attention keeps q, k, v and its output (no seq² term); a SwiGLU
    MLP keeps the gate and up outputs, the activation and the product (4·ffn), a plain
    MLP two. Dropout is off, as in LLM fine-tuning recipes.
    """
    mlp = (4 if arch.gated_ffn else 2) * arch.ffn
    return 6 * arch.hidden + 2 * arch.q_dim + 2 * arch.kv_dim + mlp


def activation_memory(arch: Architecture, s: Setup) -> float:
    """Activations for one micro-batch. With checkpointing only each layer's input is kept,
    plus one layer's full set while it is recomputed. A seq2seq model is counted as if
    every token passed through both stacks (an overestimate for short targets)."""
    tokens = s.micro_batch * s.seq_len
    per_layer = layer_activation_elems(arch) * act_bytes(s)
    if s.grad_checkpointing:
        return tokens * (arch.total_layers * arch.hidden * act_bytes(s) + per_layer)
    return tokens * arch.total_layers * per_layer


def _moment_bytes(s: Setup) -> float:
    """AdamW's two moments per trainable parameter."""
    if s.optimizer == "adamw8bit":
        return 2.0
    return 4.0 if s.precision == "bf16" else 8.0


def estimate_memory(arch: Architecture, s: Setup) -> Memory:
    n = count_params(arch)
    w_shard = s.gpus if s.zero == 3 else 1
    go_shard = s.gpus if s.zero >= 2 else 1
    wide = s.precision == "fp32"
    buffers = 0.0
    if s.method == "full":
        w_b = 4.0 if wide else 2.0
        # Mixed precision keeps an fp32 master copy beside the bf16 weights (ZeRO paper's
        # 2 + 2 + 12 bytes per parameter); pure bf16 and fp32 update the weights in place.
        master = 4.0 if s.precision == "mixed" else 0.0
        weights = n * w_b / w_shard
        adapters = 0.0
        gradients = n * w_b / go_shard
        optimizer = n * (master + _moment_bytes(s)) / go_shard
    else:
        t = lora_params(arch, s.rank, s.targets)
        base_b = 4.0 if wide else 2.0
        if s.method == "qlora":
            lin = linear_params(arch)
            base = lin * NF4_BYTES + (n - lin) * base_b  # embeddings, head, norms stay 16-bit
            biggest = max(i * o for i, o in module_shapes(arch).values())
            buffers += biggest * base_b  # one weight dequantized at a time
        else:
            base = n * base_b
        # PEFT keeps adapters in fp32 under mixed precision; pure bf16 keeps them in bf16.
        ad_b = 2.0 if s.precision == "bf16" else 4.0
        weights = base / w_shard
        adapters = t * ad_b / w_shard
        gradients = t * ad_b / go_shard
        optimizer = t * _moment_bytes(s) / go_shard
    if s.zero == 3 and s.gpus > 1:
        # FSDP/ZeRO-3 gathers the current layer and prefetches the next one.
        per_w = NF4_BYTES if s.method == "qlora" else (4.0 if wide else 2.0)
        buffers += 2 * layer_params(arch) * per_w
    activations = activation_memory(arch, s)
    logits = s.micro_batch * s.seq_len * arch.vocab * s.logit_bytes
    sub = weights + adapters + gradients + optimizer + activations + logits + buffers
    overhead = sub * s.overhead + s.cuda_context_gib * GIB
    return Memory(weights, adapters, gradients, optimizer, activations, logits, buffers, overhead)


# -- what would make it fit --------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    change: str  # the options to add
    total_gib: float


def _fits(arch: Architecture, s: Setup, gpu: GPU) -> tuple[bool, float]:
    total = estimate_memory(arch, s).total
    return total <= gpu.memory_bytes, total / GIB


def _savers(s: Setup) -> list[tuple[str, str, Setup]]:
    """Memory savers that apply to `s`, least disruptive first: (key, option, new setup)."""
    out: list[tuple[str, str, Setup]] = []
    if not s.grad_checkpointing:
        out.append(("gc", "--grad-checkpointing", replace(s, grad_checkpointing=True)))
    if s.micro_batch > 1:
        out.append(("mb", "--micro-batch 1", replace(s, micro_batch=1)))
    if s.logit_bytes > CHUNKED_LOGIT_BYTES:
        # A chunked/fused cross-entropy (torchtune, Liger) instead of the plain HF loss.
        out.append(
            (
                "loss",
                f"--logit-bytes {CHUNKED_LOGIT_BYTES:g}",
                replace(s, logit_bytes=CHUNKED_LOGIT_BYTES),
            )
        )
    if s.method == "full" and s.optimizer == "adamw":
        out.append(("opt", "--optimizer adamw8bit", replace(s, optimizer="adamw8bit")))
    if s.method == "full":
        out.append(("method", "--method lora", replace(s, method="lora")))
    if s.method != "qlora":
        out.append(("method", "--method qlora", replace(s, method="qlora")))
    return out


def _more_gpus(arch: Architecture, s: Setup, gpu: GPU, max_gpus: int) -> Setup | None:
    for n in range(s.gpus + 1, max_gpus + 1):
        t = replace(s, gpus=n, zero=3)
        if _fits(arch, t, gpu)[0]:
            return t
    return None


def fit_suggestions(arch: Architecture, s: Setup, gpu: GPU, max_gpus: int = 64) -> list[Suggestion]:
    """Single changes that bring the plan under the GPU's memory, least disruptive first.
    If none does alone, the savers are stacked in that order (then GPUs added) until it
    fits, and that one combination is returned. Empty if nothing fits in `max_gpus`."""
    singles: list[tuple[str, Setup]] = [(opt, t) for _, opt, t in _savers(s)]
    seq = s.seq_len // 2
    while seq >= 512:
        if _fits(arch, replace(s, seq_len=seq), gpu)[0]:
            singles.append((f"--seq-len {seq}", replace(s, seq_len=seq)))
            break
        seq //= 2
    more = _more_gpus(arch, s, gpu, max_gpus)
    if more is not None:
        singles.append((f"--gpus {more.gpus} --zero 3", more))
    out = [Suggestion(opt, gib) for opt, t in singles for ok, gib in [_fits(arch, t, gpu)] if ok]
    if out:
        return out
    cur, applied = s, {}
    while True:
        savers = _savers(cur)
        if not savers:
            break
        key, opt, cur = savers[0]
        applied[key] = opt  # a later --method replaces an earlier one
        ok, gib = _fits(arch, cur, gpu)
        if ok:
            return [Suggestion(" ".join(applied.values()), gib)]
    more = _more_gpus(arch, cur, gpu, max_gpus)
    if more is None:
        return []
    opts = " ".join([*applied.values(), f"--gpus {more.gpus} --zero 3"])
    return [Suggestion(opts, _fits(arch, more, gpu)[1])]


# -- time --------------------------------------------------------------------------------


def attention_flops_per_token(arch: Architecture, seq_len: int) -> float:
    """Forward QKᵀ and AV per token, averaged over a causal sequence (half the keys)."""
    return 2.0 * arch.total_layers * seq_len * arch.q_dim


def flops_per_token(arch: Architecture, s: Setup) -> float:
    """Training FLOPs per token.

    Full: forward 2N, backward 4N (input and weight gradients) = 6N. LoRA/QLoRA skip the
    frozen weights' gradients: 2N + 2N = 4N (adapters are negligible). Attention scores
    cost 3x their forward in both. Gradient checkpointing adds one more forward pass.
    N counts the parameters in matmuls (the input embedding is a lookup).
    """
    n = compute_params(arch)
    attn = attention_flops_per_token(arch, s.seq_len)
    dense = 6.0 * n if s.method == "full" else 4.0 * n
    f = dense + 3.0 * attn
    if s.grad_checkpointing:
        f += 2.0 * n + attn
    return f


@dataclass(frozen=True)
class TrainTime:
    tokens: float  # budget x epochs
    flops_per_token: float
    flops: float
    mfu: float
    hours: float  # wall clock on all GPUs
    gpu_hours: float


def estimate_train_time(
    arch: Architecture, s: Setup, gpu: GPU, tokens: float, epochs: float, mfu: float
) -> TrainTime:
    if mfu <= 0 or mfu > 1:
        raise UserError(f"--mfu: must be in (0, 1], got {mfu}")
    if epochs <= 0:
        raise UserError(f"--epochs: must be positive, got {epochs}")
    seen = tokens * epochs
    fpt = flops_per_token(arch, s)
    flops = fpt * seen
    seconds = flops / (s.gpus * gpu.bf16_tflops * 1e12 * mfu)
    return TrainTime(seen, fpt, flops, mfu, seconds / 3600, seconds * s.gpus / 3600)


# -- corpus generation -------------------------------------------------------------------


@dataclass(frozen=True)
class GenSetup:
    """Assumptions for generating the corpus with an LLM backend (vLLM-style serving)."""

    batch: int = 64  # concurrent sequences per replica
    context: int = 1024  # average tokens in a sequence's KV cache while decoding
    bw_efficiency: float = 0.7  # share of peak memory bandwidth a decode step reaches
    prompt_ratio: float = 0.5  # prompt tokens per generated token (prefill work)
    prefill_mfu: float = 0.5  # prefill is a large matmul: compute-bound


@dataclass(frozen=True)
class Generation:
    model: str
    gpus_per_replica: int
    replicas: int
    batch: int  # after the KV-cache limit
    tokens_per_second: float  # all replicas
    hours: float | None  # None: the generator does not fit the GPUs given
    note: str = ""


def estimate_generation(
    gen: Architecture, gpu: GPU, gpus: int, tokens: float, g: GenSetup
) -> Generation:
    """Decode is memory-bandwidth bound: each step streams the weights once for the whole
    batch plus every sequence's KV cache, so a batch of B yields B tokens per step."""
    if g.batch < 1:
        raise UserError(f"--gen-batch: must be at least 1, got {g.batch}")
    if g.context < 1:
        raise UserError(f"--gen-context: must be at least 1, got {g.context}")
    if not 0 < g.bw_efficiency <= 1:
        raise UserError(f"--bw-efficiency: must be in (0, 1], got {g.bw_efficiency:g}")
    if g.prompt_ratio < 0:
        raise UserError(f"--prompt-ratio: must not be negative, got {g.prompt_ratio:g}")
    n = count_params(gen)
    weights = n * 2.0  # bf16 serving
    # Leave 10% of each card for the runtime and at least a fifth of the rest for KV
    # caches; split the model tensor-parallel over more GPUs when it needs them.
    usable = 0.9 * gpu.memory_bytes
    tp = max(1, math.ceil(weights / (0.8 * usable)))
    if tp > gpus:
        return Generation(
            gen.name, tp, 0, 0, 0.0, None, f"needs at least {tp} GPUs to hold the weights"
        )
    replicas = gpus // tp
    kv_seq = kv_bytes_per_token(gen) * g.context
    batch = max(1, min(g.batch, int((tp * usable - weights) // kv_seq)))
    step_mem = (weights + batch * kv_seq) / (tp * gpu.bandwidth_gbs * 1e9 * g.bw_efficiency)
    step_compute = 2.0 * compute_params(gen) * batch / (tp * gpu.bf16_tflops * 1e12 * g.prefill_mfu)
    tps = replicas * batch / max(step_mem, step_compute)
    prefill = (
        tokens
        * g.prompt_ratio
        * 2.0
        * compute_params(gen)
        / (gpus * gpu.bf16_tflops * 1e12 * g.prefill_mfu)
    )
    note = "memory-bandwidth bound" if step_mem >= step_compute else "compute bound"
    return Generation(gen.name, tp, replicas, batch, tps, (tokens / tps + prefill) / 3600, note)


# -- disk --------------------------------------------------------------------------------

# Arrow shards store a sample's text twice (`text` and its chat form in `messages`):
# ~4 bytes of UTF-8 per token each for English/code (Cyrillic runs higher), plus
# per-row metadata (ids, template, concepts, offsets) of ~150 bytes over ~500-token rows.
DEFAULT_BYTES_PER_TOKEN = 8.5


def estimate_disk(tokens: float, bytes_per_token: float) -> float:
    if bytes_per_token <= 0:
        raise UserError(f"--bytes-per-token: must be positive, got {bytes_per_token}")
    return tokens * bytes_per_token


# -- the whole plan ----------------------------------------------------------------------


@dataclass
class Plan:
    arch: Architecture
    setup: Setup
    gpu: GPU
    tier: str
    budget: int
    budget_source: str
    params: int
    trainable: int
    memory: Memory
    fits: bool
    suggestions: list[Suggestion]
    time: TrainTime
    generation: Generation
    disk_bytes: float
    assumptions: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict:
        m = self.memory
        return {
            "tier": self.tier,
            "budget_tokens": self.budget,
            "budget_source": self.budget_source,
            "model": {
                "name": self.arch.name,
                "base": self.arch.base or None,
                "params": self.params,
                "trainable_params": self.trainable,
                "architecture": asdict(self.arch),
            },
            "setup": {**asdict(self.setup), "targets": list(self.setup.targets)},
            "gpu": asdict(self.gpu),
            "memory_gib": {
                "weights": m.weights / GIB,
                "adapters": m.adapters / GIB,
                "gradients": m.gradients / GIB,
                "optimizer": m.optimizer / GIB,
                "activations": m.activations / GIB,
                "logits": m.logits / GIB,
                "buffers": m.buffers / GIB,
                "overhead": m.overhead / GIB,
                "total": m.total / GIB,
                "gpu": self.gpu.memory_gib,
            },
            "fits": self.fits,
            "to_fit": [asdict(x) for x in self.suggestions],
            "train": asdict(self.time),
            "generation": asdict(self.generation),
            "disk_bytes": self.disk_bytes,
            "assumptions": self.assumptions,
        }
