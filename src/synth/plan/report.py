"""`synth plan`'s text report: every figure with what it counts and why."""

from __future__ import annotations

from synth.plan.estimate import GIB, Plan, Setup
from synth.plan.models import Architecture
from synth.units import human


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if x >= 0.1 else f"{100 * x:.2g}%"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours:,.0f} h ({hours / 24:.1f} days)"


def _bytes(b: float) -> str:
    if b >= 2**40:
        return f"{b / 2**40:.2f} TiB"
    if b >= GIB:
        return f"{b / GIB:.1f} GiB"
    return f"{b / 2**20:.0f} MiB"


def _method_label(p: Plan) -> str:
    s = p.setup
    if s.method == "full":
        return "full fine-tuning"
    mods = "all linear layers" if len(s.targets) == 7 else ",".join(s.targets)
    return f"{'QLoRA (4-bit NF4 base)' if s.method == 'qlora' else 'LoRA'} r{s.rank} on {mods}"


def _buffers_label(s: Setup) -> str:
    parts = []
    if s.zero == 3 and s.gpus > 1:
        parts.append("ZeRO-3 gathered layers")
    if s.method == "qlora":
        parts.append("one dequantized weight")
    return ", ".join(parts)


def _arch_line(a: Architecture, params: int) -> str:
    base = f" (built on {a.base})" if a.base else ""
    kind = (
        f"{a.encoder_layers}+{a.layers} enc+dec layers"
        if a.encoder_layers
        else f"{a.layers} layers"
    )
    return (
        f"{a.name}{base}: {human(params)} parameters — hidden {a.hidden}, {kind}, "
        f"{a.heads} heads / {a.kv_heads} KV (head {a.d_head}), FFN {a.ffn}, vocab {a.vocab}, "
        f"{'tied' if a.tied else 'untied'} embeddings, context {a.context}"
    )


def render(p: Plan) -> str:
    s, m, g, a = p.setup, p.memory, p.gpu, p.arch
    wide = s.precision == "fp32"
    lines = [
        f"synth plan — tier {p.tier}: {human(p.budget)} tokens ({p.budget_source})",
        f"  model     {_arch_line(a, p.params)}",
        f"  method    {_method_label(p)}; {human(p.trainable)} trainable ({_pct(p.trainable / p.params)})",
        f"  hardware  {s.gpus}× {g.name} ({g.bf16_tflops:g} TFLOP/s dense bf16, {g.bandwidth_gbs:g} GB/s)",
        f"  training  precision {s.precision}, {s.optimizer}, ZeRO-{s.zero}, micro-batch {s.micro_batch} × "
        f"{s.seq_len} tokens per GPU, gradient checkpointing {'on' if s.grad_checkpointing else 'off'}",
        "",
        "Memory per GPU                                                GiB",
    ]
    w_label = {
        "full": f"{'fp32' if wide else 'bf16'}, trained",
        "lora": f"{'fp32' if wide else 'bf16'}, frozen",
        "qlora": "NF4 linear layers + 16-bit rest, frozen",
    }[s.method]
    if s.zero == 3 and s.gpus > 1:
        w_label += f", sharded /{s.gpus}"
    if s.method == "full":
        opt = "fp32 master + " if s.precision == "mixed" else ""
        opt += (
            "8-bit AdamW moments"
            if s.optimizer == "adamw8bit"
            else f"AdamW moments ({'bf16' if s.precision == 'bf16' else 'fp32'})"
        )
    else:
        opt = "8-bit AdamW moments" if s.optimizer == "adamw8bit" else "AdamW moments"
    tok = s.micro_batch * s.seq_len
    rows = [
        ("weights", w_label, m.weights),
        (
            "adapters",
            f"{human(p.trainable)} LoRA params, {'bf16' if s.precision == 'bf16' else 'fp32'}",
            m.adapters,
        ),
        (
            "gradients",
            "of the trainable parameters"
            + (f", sharded /{s.gpus}" if s.zero >= 2 and s.gpus > 1 else ""),
            m.gradients,
        ),
        (
            "optimizer",
            opt + (f", sharded /{s.gpus}" if s.zero >= 2 and s.gpus > 1 else ""),
            m.optimizer,
        ),
        (
            "activations",
            f"{tok} tokens, {'checkpointed' if s.grad_checkpointing else 'all layers kept'}",
            m.activations,
        ),
        ("logits", f"{tok} tokens × {a.vocab} vocab × {s.logit_bytes:g} B", m.logits),
        ("buffers", _buffers_label(s), m.buffers),
        (
            "overhead",
            f"{s.overhead:.0%} fragmentation + {s.cuda_context_gib:g} GiB CUDA context",
            m.overhead,
        ),
    ]
    for name, what, value in rows:
        if name in ("adapters", "buffers") and value == 0:
            continue
        lines.append(f"  {name:<12}{what:<48}{value / GIB:>7.2f}")
    free = g.memory_gib - m.total / GIB
    verdict = f"fits ({free:.1f} GiB free)" if p.fits else f"does NOT fit ({-free:.1f} GiB over)"
    lines.append(
        f"  {'total':<12}{f'of {g.memory_gib:g} GiB on one {g.name}':<48}{m.total / GIB:>7.2f}  → {verdict}"
    )
    if p.suggestions:
        lines.append("  to make it fit:" if not p.fits else "  headroom is thin; these leave more:")
        lines += [f"    {x.change:<62} → {x.total_gib:.1f} GiB" for x in p.suggestions]
    elif not p.fits:
        lines.append("  no combination of savers fits within 64 GPUs of this kind")
    t = p.time
    n_label = "6N (full)" if s.method == "full" else "4N (LoRA: no frozen-weight gradients)"
    if s.grad_checkpointing:
        n_label += " + 2N recompute"
    lines += [
        "",
        "Training time",
        f"  FLOPs per token   {t.flops_per_token:.3g} = {n_label} + attention",
        f"  tokens            {human(p.budget)} × {p.assumptions['epochs']:g} epoch(s) = {human(t.tokens)}; {t.flops:.3g} FLOPs",
        f"  wall clock        {_duration(t.hours)} on {s.gpus}× {g.name} at MFU {t.mfu:g}  ({t.gpu_hours:,.0f} GPU-hours)",
    ]
    gen = p.generation
    lines += ["", f"Corpus generation (LLM backend: {gen.model}, bf16, vLLM-style batched decode)"]
    if gen.hours is None:
        lines.append(f"  {gen.note} of this kind; give more --gpus or a smaller --generator")
    else:
        lines.append(
            f"  {gen.replicas} replica(s) × {gen.gpus_per_replica} GPU, {gen.batch} sequences each, "
            f"{gen.tokens_per_second:,.0f} tokens/s ({gen.note}) → {_duration(gen.hours)}"
        )
    lines += [
        "",
        "Disk",
        f"  shards            {human(p.budget)} tokens × {p.assumptions['bytes_per_token']:g} B/token → {_bytes(p.disk_bytes)}",
        "",
        "Assumptions (each can be overridden with the option shown)",
    ]
    for opt, (value, why) in p.assumptions["explained"].items():
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        lines.append(f"  {opt:<20}{shown:<10}{why}")
    return "\n".join(lines)
