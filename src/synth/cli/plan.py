"""`synth plan`: memory, time, generation and disk for training a model on a tier."""

from __future__ import annotations

import json

import click

from synth.cli.main import Command
from synth.errors import UserError
from synth.plan.build import build_plan, plan_json
from synth.plan.estimate import (
    DEFAULT_BYTES_PER_TOKEN,
    METHODS,
    OPTIMIZERS,
    PRECISIONS,
    GenSetup,
    Setup,
    parse_targets,
)
from synth.plan.gpus import GPUS, custom_gpu, find_gpu
from synth.plan.models import builtin_names, count_params, resolve_model
from synth.plan.report import render
from synth.units import human


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


@click.command("plan", cls=Command, help=HELP)
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
    if not model:
        raise UserError("--model: give a model name (e.g. qwen2.5-7b) or a folder with config.json")
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
    click.echo(json.dumps(plan_json(p), indent=2) if as_json else render(p))
