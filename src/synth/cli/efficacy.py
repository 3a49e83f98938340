"""`synth efficacy`: does a corpus teach? Train a tiny model on it, ask its probes."""

from __future__ import annotations

from pathlib import Path

import click

from synth.cli.main import Command
from synth.efficacy.design import KNOBS, Design, condition_dir


@click.command("efficacy", cls=Command)
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--tier",
    default=None,
    metavar="ontology",
    help="Generate the compact ontology design into OUT first (else OUT must hold a corpus).",
)
@click.option(
    "--entities",
    default=300,
    show_default=True,
    type=int,
    help="With --tier: entities of the world.",
)
@click.option(
    "--ablate",
    "ablate",
    multiple=True,
    metavar="KNOB=VALUE",
    help="Regenerate with a design knob changed, into OUT/ablate/KNOB-VALUE (repeatable; "
    "KNOB=VALUE,KNOB=VALUE changes several in one condition): "
    + "; ".join(f"{k}: {v}" for k, v in KNOBS.items())
    + ".",
)
@click.option(
    "--minutes", default=15.0, show_default=True, type=float, help="Time budget per condition."
)
@click.option(
    "--steps",
    default=None,
    type=int,
    help="Train exactly this many steps (repeatable runs; else from --minutes).",
)
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
@click.option("--threads", default=None, type=int, help="Torch CPU threads  [default: all cores].")
@click.option(
    "--seed", default=0, show_default=True, type=int, help="World, data order and weights."
)
@click.option(
    "--precision",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "bf16", "fp32"]),
    help="Training matmuls: auto uses bf16 where the CPU has it (avx512_bf16/AMX; 1.6x faster).",
)
@click.option("--probes", "n_probes", default=None, type=int, help="Score only the first N probes.")
@click.option("--quiet", "-q", is_flag=True, help="No progress.")
def efficacy_cmd(
    out: str,
    tier: str | None,
    entities: int,
    ablate: tuple[str, ...],
    minutes: float,
    steps: int | None,
    device: str,
    threads: int | None,
    seed: int,
    precision: str,
    n_probes: int | None,
    quiet: bool,
) -> None:
    """Train a tiny word-level transformer from scratch on a corpus and score its
    held-out probes: stated facts, derived facts by proof depth, reversed relations,
    each beside its chance level. Results in OUT/efficacy.json.

    \b
    Examples:
      synth efficacy outputs/eff --tier ontology --entities 300 --minutes 15
      synth efficacy outputs/eff --tier ontology --ablate renderings=1
      synth efficacy outputs/my-corpus --minutes 5      # a corpus you generated
    """
    from synth.efficacy.run import EfficacyConfig, report_lines, run_efficacy

    if tier is not None and tier != "ontology":
        raise click.UsageError(f"--tier: efficacy generates the ontology design only, got {tier!r}")
    if entities < 10:
        raise click.UsageError(f"--entities: need at least 10, got {entities}")
    if ablate and tier is None:
        raise click.UsageError("--ablate regenerates the corpus: pass --tier ontology too")
    base = Design(entities=entities, seed=seed)
    conditions = [(Path(out), base, None)] if not ablate else []
    for spec in ablate:
        d = base.ablate(spec)
        name = spec.replace(" ", "").lower()
        conditions.append((Path(out) / "ablate" / condition_dir(spec), d, name))
    for folder, design, name in conditions:
        cfg = EfficacyConfig(
            out=str(folder),
            generate=tier is not None,
            design=design,
            minutes=minutes,
            steps=steps,
            device=device,
            threads=threads,
            seed=seed,
            probes=n_probes,
            precision=precision,
            label=name,
            quiet=quiet,
        )
        report = run_efficacy(cfg)
        for line in report_lines(report):
            click.echo(line)
        click.echo(f"  → {folder / 'efficacy.json'}")
