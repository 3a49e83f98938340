"""`synth.efficacy.run_efficacy`: what `synth efficacy` calls.

corpus (given, or generated from a Design) → characters → tiny model trained from
scratch → held-out probes decoded greedily → OUT/efficacy.json (and the QA report's
efficacy section when OUT has one).
"""

from __future__ import annotations

import json
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth.efficacy.corpus import generate_corpus
from synth.efficacy.design import Design
from synth.errors import UserError
from synth.shards.atomic import write_json

REPORT = "efficacy.json"
CURVE_PROBES = 120  # probes decoded at each learning-curve checkpoint


@dataclass
class EfficacyConfig:
    out: str
    generate: bool = False  # generate the efficacy design into `out` first
    design: Design = field(default_factory=Design)
    minutes: float = 15.0
    steps: int | None = None  # fixed step count: the run is then exactly repeatable
    device: str = "cpu"
    threads: int | None = None  # torch CPU threads (None: all cores)
    seed: int = 0
    batch: int = 8  # rows of `block` units per step: more, smaller steps memorise faster
    block: int = 96  # units (≈500 characters): a question and its worked answer fit
    layers: int = 4
    width: int = 256
    lr: float = 2e-3
    precision: str = "auto"  # bf16 | fp32 | auto (bf16 where the CPU has it)
    probes: int | None = None  # score only the first N probes
    label: str | None = None  # the condition's name in reports
    quiet: bool = False


def _torch():
    try:
        import torch
    except ImportError:
        raise UserError("synth efficacy needs PyTorch: pip install 'synth[efficacy]'") from None
    return torch


def run_efficacy(cfg: EfficacyConfig) -> dict[str, Any]:
    """Train, score, write OUT/efficacy.json; returns the report."""
    torch = _torch()
    from synth.efficacy.data import Vocab, load_corpus
    from synth.efficacy.model import ModelConfig
    from synth.efficacy.score import CURVE_KINDS, decode_replies, score_probes
    from synth.efficacy.train import TrainConfig, cpu_has_bf16, seconds_per_step, train
    from synth.evaluate import load_probes

    if cfg.minutes <= 0:
        raise UserError(f"--minutes: must be positive, got {cfg.minutes}")
    if cfg.steps is not None and cfg.steps < 1:
        raise UserError(f"--steps: must be at least 1, got {cfg.steps}")
    threads = cfg.threads if cfg.threads is not None else os.cpu_count() or 1
    if threads < 1:
        raise UserError(f"--threads: must be at least 1, got {threads}")
    if cfg.device != "cpu" and not (cfg.device.startswith("cuda") and torch.cuda.is_available()):
        raise UserError(f"--device: {cfg.device} is not available here; use cpu")
    started = time.monotonic()
    deadline = started + cfg.minutes * 60
    out = Path(cfg.out)
    gen_seconds = 0.0
    if cfg.generate:
        t0 = time.perf_counter()
        generate_corpus(cfg.design, out, workers=1, progress=not cfg.quiet)
        gen_seconds = time.perf_counter() - t0
    corpus = load_corpus(out)
    probes = load_probes(out / "eval", cfg.probes)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    vocab = Vocab("".join(corpus.stages))
    mc = ModelConfig(vocab=len(vocab), block=cfg.block, layers=cfg.layers, width=cfg.width)
    if cfg.precision not in ("auto", "bf16", "fp32"):
        raise UserError(f"--precision: choose auto, bf16 or fp32, got {cfg.precision!r}")
    bf16 = cfg.precision == "bf16" or (
        cfg.precision == "auto" and (cfg.device != "cpu" or cpu_has_bf16())
    )
    tc = TrainConfig(batch=cfg.batch, lr=cfg.lr, bf16=bf16)
    curve_probes = _curve_subset(probes, CURVE_PROBES, cfg.seed)

    def checkpoint(model, step: int) -> dict[str, Any]:
        rep = score_probes(
            curve_probes, decode_replies(model, vocab, curve_probes), keep_results=False
        )
        return {k: rep["headline"][k]["accuracy"] for k in CURVE_KINDS if k in rep["headline"]}

    steps = cfg.steps
    timing = None
    if steps is None:
        from synth.efficacy.data import Windows
        from synth.efficacy.model import TinyLM

        torch.manual_seed(cfg.seed)
        probe_model = TinyLM(mc).to(cfg.device)
        sps = seconds_per_step(probe_model, Windows(corpus, vocab, mc.block), tc, device=cfg.device)
        # Leave room for the checkpoints' and the final decoding (≈ 8% of the budget).
        remaining = max(0.0, deadline - time.monotonic())
        steps = max(10, int(remaining * 0.88 / sps))
        timing = {"seconds_per_step": round(sps, 3), "planned_from_minutes": cfg.minutes}
    progress = None if cfg.quiet else _progress_printer()
    model, record = train(
        corpus,
        vocab,
        mc,
        tc,
        steps,
        cfg.seed,
        deadline=deadline if cfg.steps is None else None,
        device=cfg.device,
        checkpoint=checkpoint,
        progress=progress,
    )
    t0 = time.perf_counter()
    replies = decode_replies(model, vocab, probes)
    scored = score_probes(probes, replies)
    score_seconds = time.perf_counter() - t0
    report = {
        "condition": cfg.label or _label(cfg),
        "corpus": str(out),
        "design": cfg.design.to_json() if cfg.generate else _design_of(out),
        "seed": cfg.seed,
        "model": {**mc.to_json(), "params": model.n_params(), "vocab_units": len(vocab)},
        "training": {**tc.to_json(), **{k: v for k, v in record.items() if k != "curve"}},
        "timing": {
            **(timing or {}),
            "generate_seconds": round(gen_seconds, 1),
            "score_seconds": round(score_seconds, 1),
            "total_minutes": round((time.monotonic() - started) / 60, 2),
            "threads": threads,
            "device": cfg.device,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        },
        "corpus_chars": corpus.chars,
        "corpus_rows": corpus.rows,
        "probes": {k: v for k, v in scored.items() if k != "results"},
        "learning_curve": record["curve"],
        "results": scored["results"],
        "repeat": f"synth efficacy {out} --steps {record['steps']} --seed {cfg.seed} --threads {threads}",
    }
    write_json(out / REPORT, report)
    _attach_to_qa(out, report)
    return report


def _curve_subset(probes: list, n: int, seed: int) -> list:
    if len(probes) <= n:
        return probes
    rng = random.Random(seed)
    return sorted(rng.sample(probes, n), key=lambda p: p.id)


def _label(cfg: EfficacyConfig) -> str:
    if not cfg.generate:
        return "corpus"
    d, base = (
        cfg.design,
        Design(entities=cfg.design.entities, probes=cfg.design.probes, seed=cfg.design.seed),
    )
    changed = [f"{k}={str(v).lower()}" for k, v in d.to_json().items() if v != getattr(base, k)]
    return ", ".join(changed) or "default"


def _design_of(out: Path) -> dict | None:
    from synth.efficacy.corpus import DESIGN_FILE

    p = out / DESIGN_FILE
    return json.loads(p.read_text()) if p.is_file() else None


def _attach_to_qa(out: Path, report: dict) -> None:
    """When `synth qa` left a qa.json beside the corpus (OUT/qa or OUT/report), add
    the efficacy summary to it, so the review and the check sit together."""
    summary = {k: report[k] for k in ("condition", "probes", "learning_curve")}
    summary["training"] = {
        k: report["training"][k] for k in ("steps", "first_loss", "final_loss", "epochs")
    }
    for folder in (out / "qa", out / "report", out):
        q = folder / "qa.json"
        if q.is_file():
            try:
                data = json.loads(q.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            data["efficacy"] = summary
            write_json(q, data)


def _progress_printer():
    last = [0.0]

    def show(step: int, total: int, loss: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 10 or step == total:
            last[0] = now
            print(
                f"\rsynth efficacy: step {step}/{total}, loss {loss:.3f}",
                end="",
                file=sys.stderr,
                flush=True,
            )
            if step == total:
                print(file=sys.stderr)

    return show


def report_lines(report: dict) -> list[str]:
    """The headline groups as a few readable lines."""
    t = report["training"]
    lines = [
        f"{report['condition']}: {t['steps']} steps ({t['epochs']} epochs, {report['timing']['total_minutes']} min), "
        f"loss {t['first_loss']:.2f} → {t['final_loss']:.2f}"
    ]
    for name, g in report["probes"]["headline"].items():
        lines.append(f"  {name:<18} {g['accuracy']:>6.1%}  chance {g['chance']:>6.1%}  n={g['n']}")
    return lines
