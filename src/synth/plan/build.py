"""`synth plan` as data: the tier's budget, the estimates, the assumptions explained."""

from __future__ import annotations

from synth.errors import UserError
from synth.plan.estimate import (
    CHUNKED_LOGIT_BYTES,
    DEFAULT_MFU,
    GenSetup,
    Plan,
    Setup,
    estimate_disk,
    estimate_generation,
    estimate_memory,
    estimate_train_time,
    fit_suggestions,
    trainable_params,
    validate,
)
from synth.plan.gpus import GPU
from synth.plan.models import count_params, resolve_model

# Used when curricula/<tier>.yaml is missing or unreadable (see `tier_budget`).
DEFAULT_BUDGETS = {"command": 100_000_000, "structural": 1_000_000_000, "ontology": 10_000_000_000}


def tier_budget(tier: str) -> tuple[int, str]:
    """The tier's token budget and where it came from."""
    try:
        from synth.curriculum.tier import load_tier

        cfg = load_tier(tier)
        return cfg.budget, cfg.source
    except Exception as e:  # a missing or half-written curriculum must not stop planning
        if tier in DEFAULT_BUDGETS:
            return DEFAULT_BUDGETS[tier], "built-in default"
        if isinstance(e, UserError):
            raise
        raise UserError(f"--tier: cannot read {tier!r}: {e}") from None


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


def plan_json(p: Plan) -> dict:
    """The plan for tools: numbers plus the assumptions' values by option name."""
    d = p.to_dict()
    explained = p.assumptions["explained"]
    assert isinstance(explained, dict)
    d["assumptions"] = {k: v for k, v in p.assumptions.items() if k != "explained"}
    d["assumptions"]["options"] = {k: v[0] for k, v in explained.items()}
    return d
