"""`synth plan`: memory, time, generation and disk for training a model on a tier."""

from __future__ import annotations

import json

import click

from synth.errors import UserError
from synth.plan.estimate import (
    CHUNKED_LOGIT_BYTES,
    DEFAULT_BYTES_PER_TOKEN,
    DEFAULT_MFU,
    GIB,
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    GenSetup,
    Plan,
    Setup,
    estimate_disk,
    estimate_generation,
    estimate_memory,
    estimate_train_time,
    fit_suggestions,
    parse_targets,
    trainable_params,
    validate,
)
from synth.plan.gpus import GPU, GPUS, custom_gpu, find_gpu
from synth.plan.models import Architecture, builtin_names, count_params, resolve_model
from synth.units import human

# Used when curricula/<tier>.yaml is missing or unreadable (see `tier_budget`).
DEFAULT_BUDGETS = {"command": 100_000_000, "structural": 1_000_000_000, "ontology": 10_000_000_000}


def tier_budget(tier: str) -> tuple[int, str]:
    """The tier's token budget and where it came from."""
    try:
        from synth.config import load_tier

        cfg = load_tier(tier)
        return cfg.budget, cfg.source
    except Exception as e:  # a missing or half-written curriculum must not stop planning
        if tier in DEFAULT_BUDGETS:
            return DEFAULT_BUDGETS[tier], "built-in default"
        if isinstance(e, UserError):
            raise
        raise UserError(f"--tier: cannot read {tier!r}: {e}") from None


# -- rendering ---------------------------------------------------------------------------


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


# -- the command -------------------------------------------------------------------------


def _list_models(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for name in builtin_names():
        a = resolve_model(name)
        click.echo(
            f"{name:<22} {human(count_params(a)):>6}  context {a.context}"
            + (f"  (→ {a.base})" if a.base else "")
        )
    ctx.exit()


def _list_gpus(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    for g in GPUS.values():
        click.echo(
            f"{g.key:<14} {g.name:<28} {g.memory_gib:>5g} GiB {g.bf16_tflops:>7g} TFLOP/s {g.bandwidth_gbs:>6g} GB/s"
        )
    ctx.exit()


def build_plan(
    *,
    model: str,
    tier: str | None,
    tokens: str | None,
    setup: Setup,
    gpu: GPU,
    epochs: float,
    mfu: float | None,
    generator: str | None,
    gen: GenSetup,
    bytes_per_token: float,
) -> Plan:
    """Everything `synth plan` prints, as data. Raises UserError on bad input."""
    arch = resolve_model(model)
    if tokens is not None:
        from synth.units import parse_count

        budget, source = parse_count(tokens, "--tokens"), "--tokens"
    elif tier is not None:
        budget, source = tier_budget(tier)
    else:
        raise UserError("--tier: give a tier (command, structural, ontology) or --tokens")
    validate(arch, setup)
    mfu = DEFAULT_MFU[setup.method] if mfu is None else mfu
    memory = estimate_memory(arch, setup)
    fits = memory.total <= gpu.memory_bytes
    tight = fits and memory.total > 0.95 * gpu.memory_bytes
    suggestions = fit_suggestions(arch, setup, gpu) if (not fits or tight) else []
    time = estimate_train_time(arch, setup, gpu, budget, epochs, mfu)
    gen_arch = resolve_model(generator) if generator else arch
    generation = estimate_generation(gen_arch, gpu, setup.gpus, budget, gen)
    disk = estimate_disk(budget, bytes_per_token)
    explained = {
        "--mfu": (
            mfu,
            f"model-FLOPs utilization (defaults: {', '.join(f'{k} {v:g}' for k, v in DEFAULT_MFU.items())})",
        ),
        "--epochs": (epochs, "passes over the corpus"),
        "--overhead": (
            setup.overhead,
            "allocator fragmentation and temporaries, share of the rest",
        ),
        "--cuda-context": (
            setup.cuda_context_gib,
            "GiB per GPU for the CUDA context and library workspaces",
        ),
        "--logit-bytes": (
            setup.logit_bytes,
            f"bytes per logit at the loss (HF loss 12; chunked/fused ~{CHUNKED_LOGIT_BYTES:g})",
        ),
        "--precision": (
            setup.precision,
            "mixed: bf16 compute, fp32 master weights + AdamW states (16 B/param full)",
        ),
        "--gen-batch": (
            gen.batch,
            "concurrent sequences per generator replica (capped by KV-cache room)",
        ),
        "--gen-context": (gen.context, "average KV-cache length per sequence while decoding"),
        "--bw-efficiency": (
            gen.bw_efficiency,
            "share of peak memory bandwidth a decode step reaches",
        ),
        "--prompt-ratio": (
            gen.prompt_ratio,
            "prompt tokens per generated token (prefill at 50% of peak)",
        ),
        "--bytes-per-token": (bytes_per_token, "Arrow shards: text + messages copy + row metadata"),
    }
    assumptions = {
        "epochs": epochs,
        "bytes_per_token": bytes_per_token,
        "explained": explained,
        "activations": "per layer and token: 2 RMSNorms (fp32 in + bf16 out), q/k/v/out of flash "
        "attention, 4·FFN for SwiGLU; checkpointing keeps each layer's input plus one layer",
        "flops": "6N per token full, 4N LoRA/QLoRA, +2N with checkpointing, + attention scores",
    }
    return Plan(
        arch=arch,
        setup=setup,
        gpu=gpu,
        tier=tier or "custom",
        budget=budget,
        budget_source=source,
        params=count_params(arch),
        trainable=trainable_params(arch, setup),
        memory=memory,
        fits=fits,
        suggestions=suggestions,
        time=time,
        generation=generation,
        disk_bytes=disk,
        assumptions=assumptions,
    )


HELP = """Plan the resources to train a model on a tier's corpus: memory per GPU (and whether
it fits), training time, corpus generation time and disk — from the model's architecture,
the training method and the GPU. Every assumption is printed and has an option.

\b
Examples:
  synth plan --tier ontology --model qwen2.5-7b --method lora --rank 16 --gpu h100
  synth plan --tier command --model saiga-llama3-8b --method qlora --gpu rtx4090 --seq-len 4096
  synth plan --tier structural --model ./my-model-dir --method full --gpus 8 --gpu a100-80
  synth plan --tokens 5M --model Qwen/Qwen3-8B --method full --optimizer adamw8bit --gpu h200
  synth plan --tier command --model qwen2.5-0.5b --method full --gpu-mem 16 --gpu-tflops 65
  synth plan --tier ontology --model qwen2.5-7b --json | jq .memory_gib.total

\b
Reading the output:
  Memory per GPU   weights, adapters, gradients, optimizer states, activations, logits,
                   buffers and overhead; the verdict, and if it does not fit, which
                   single change (or combination) would make it fit.
  Training time    FLOPs/token × tokens × epochs ÷ (GPUs × dense bf16 peak × MFU).
  Generation       decode is memory-bandwidth bound: weights + KV caches streamed once
                   per step for the whole batch.
  Disk             tokens × bytes per token of the Arrow shards.

--model takes a built-in name in any spelling (qwen2.5-7b, Qwen/Qwen2.5-7B-Instruct,
saiga_llama3_8b) or a folder holding a config.json; see --list-models and --list-gpus."""


@click.command("plan", help=HELP)
@click.option(
    "--tier",
    help="command, structural or ontology (or a curricula YAML file); sets the token budget.",
)
@click.option("--tokens", help="Token budget instead of the tier's, e.g. 5M, 1.5B.")
@click.option("--model", help="Model name or a folder/config.json path.")
@click.option("--method", type=click.Choice(METHODS), default="lora", show_default=True)
@click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank.")
@click.option(
    "--target-modules",
    default="all-linear",
    show_default=True,
    help="LoRA targets: all-linear, attn, mlp or a list like q_proj,v_proj.",
)
@click.option("--gpu", "gpu_name", help="GPU from the table (see --list-gpus). [default: h100-sxm]")
@click.option(
    "--gpus", type=int, default=1, show_default=True, help="Number of GPUs (data parallel)."
)
@click.option(
    "--gpu-mem", type=float, help="GPU memory in GiB (a GPU not in the table, or an override)."
)
@click.option(
    "--gpu-tflops", type=float, help="Dense bf16 TFLOP/s (a GPU not in the table, or an override)."
)
@click.option(
    "--gpu-bandwidth", type=float, help="Memory bandwidth in GB/s (for generation estimates)."
)
@click.option("--precision", type=click.Choice(PRECISIONS), default="mixed", show_default=True)
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default="adamw", show_default=True)
@click.option(
    "--zero",
    type=click.Choice(["0", "2", "3"]),
    help="ZeRO stage. [default: 0 on one GPU, 3 on several]",
)
@click.option(
    "--micro-batch", type=int, default=1, show_default=True, help="Sequences per GPU per step."
)
@click.option(
    "--seq-len", type=int, help="Tokens per sequence. [default: 2048 or the model's context]"
)
@click.option("--grad-checkpointing/--no-grad-checkpointing", default=True, show_default=True)
@click.option("--epochs", type=float, default=1.0, show_default=True)
@click.option(
    "--mfu", type=float, help="Model-FLOPs utilization. [default: full 0.40, lora 0.35, qlora 0.28]"
)
@click.option(
    "--overhead", type=float, default=0.10, show_default=True, help="Memory overhead fraction."
)
@click.option(
    "--cuda-context", type=float, default=1.0, show_default=True, help="GiB per GPU for CUDA."
)
@click.option(
    "--logit-bytes",
    type=float,
    default=12.0,
    show_default=True,
    help="Bytes per logit at the loss.",
)
@click.option("--generator", help="Model that generates the corpus. [default: --model]")
@click.option("--gen-batch", type=int, default=64, show_default=True)
@click.option("--gen-context", type=int, default=1024, show_default=True)
@click.option("--bw-efficiency", type=float, default=0.7, show_default=True)
@click.option("--prompt-ratio", type=float, default=0.5, show_default=True)
@click.option("--bytes-per-token", type=float, default=DEFAULT_BYTES_PER_TOKEN, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--list-models",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_models,
    help="List built-in models.",
)
@click.option(
    "--list-gpus",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_list_gpus,
    help="List the GPU table.",
)
def plan(
    tier: str | None,
    tokens: str | None,
    model: str | None,
    method: str,
    rank: int,
    target_modules: str,
    gpu_name: str | None,
    gpus: int,
    gpu_mem: float | None,
    gpu_tflops: float | None,
    gpu_bandwidth: float | None,
    precision: str,
    optimizer: str,
    zero: str | None,
    micro_batch: int,
    seq_len: int | None,
    grad_checkpointing: bool,
    epochs: float,
    mfu: float | None,
    overhead: float,
    cuda_context: float,
    logit_bytes: float,
    generator: str | None,
    gen_batch: int,
    gen_context: int,
    bw_efficiency: float,
    prompt_ratio: float,
    bytes_per_token: float,
    as_json: bool,
) -> None:
    try:
        if not model:
            raise UserError(
                "--model: give a model name (e.g. qwen2.5-7b) or a folder with config.json"
            )
        base = find_gpu(gpu_name) if gpu_name else (None if gpu_mem else find_gpu("h100-sxm"))
        gpu = custom_gpu(base, gpu_mem, gpu_tflops, gpu_bandwidth)
        arch = resolve_model(model)
        setup = Setup(
            method=method,
            precision=precision,
            optimizer=optimizer,
            zero=int(zero) if zero is not None else (0 if gpus == 1 else 3),
            gpus=gpus,
            micro_batch=micro_batch,
            seq_len=seq_len if seq_len is not None else min(2048, arch.context),
            grad_checkpointing=grad_checkpointing,
            rank=rank,
            targets=parse_targets(target_modules),
            logit_bytes=logit_bytes,
            overhead=overhead,
            cuda_context_gib=cuda_context,
        )
        gen = GenSetup(
            batch=gen_batch,
            context=gen_context,
            bw_efficiency=bw_efficiency,
            prompt_ratio=prompt_ratio,
        )
        p = build_plan(
            model=model,
            tier=tier,
            tokens=tokens,
            setup=setup,
            gpu=gpu,
            epochs=epochs,
            mfu=mfu,
            generator=generator,
            gen=gen,
            bytes_per_token=bytes_per_token,
        )
    except UserError as e:
        # One line, exit code 2, no traceback: the same contract as the main CLI.
        raise click.UsageError(str(e)) from None
    click.echo(json.dumps(plan_json(p), indent=2) if as_json else render(p))


def plan_json(p: Plan) -> dict:
    """The plan for tools: numbers plus the assumptions' values by option name."""
    d = p.to_dict()
    explained = p.assumptions["explained"]
    assert isinstance(explained, dict)
    d["assumptions"] = {k: v for k, v in p.assumptions.items() if k != "explained"}
    d["assumptions"]["options"] = {k: v[0] for k, v in explained.items()}
    return d


__all__ = ["DEFAULT_BUDGETS", "build_plan", "plan", "plan_json", "render", "tier_budget"]
