"""`synth curriculum show | check`: the concept DAG and stage plan of a tier, and a
corpus checked against its curriculum."""

from __future__ import annotations

import click

from synth.cli.main import Group


@click.group(cls=Group)
def curriculum() -> None:
    """Inspect and check the concept-layering curriculum."""


@curriculum.command("show")
@click.argument("tier")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "dot"]),
    default="text",
    show_default=True,
    help="dot: Graphviz source (render with `dot -Tpng`).",
)
@click.option(
    "--tokens", metavar="N", help="Budget to show token shares for (default: the tier's)."
)
@click.option(
    "--templates", "templates", multiple=True, metavar="DIR", help="Extra template packs."
)
def curriculum_show(tier: str, fmt: str, tokens: str | None, templates: tuple[str, ...]) -> None:
    """Print a tier's concept DAG and stage plan.

    \b
    Examples:
      synth curriculum show ontology
      synth curriculum show structural --format dot | dot -Tpng > structural.png
    """
    from synth.curriculum.concepts import build_graph, describe, to_dot
    from synth.curriculum.tier import load_tier
    from synth.templating import TemplateLibrary
    from synth.units import parse_count

    cfg = load_tier(tier)
    lib = TemplateLibrary(list(templates))
    graph = build_graph(cfg, lib)
    budget = parse_count(tokens, "--tokens") if tokens else cfg.budget
    click.echo(to_dot(cfg, graph) if fmt == "dot" else describe(cfg, graph, budget))


@curriculum.command("check")
@click.argument("out", type=click.Path(file_okay=False))
def curriculum_check(out: str) -> None:
    """Check a corpus against its curriculum: stage order, concepts introduced before
    use, and (ontology) every fact stated before a sample uses it."""
    from pathlib import Path

    from synth.curriculum.check import check_corpus

    rep = check_corpus(Path(out))
    click.echo(f"{out}: {rep.rows:,} rows, {rep.facts_checked:,} fact uses checked")
    for i, (d, r) in enumerate(zip(rep.stage_difficulty, rep.stage_replay)):
        click.echo(f"  stage {i}: mean difficulty {d:.2f}, replay {r:.1%}")
    if rep.ok:
        click.echo("curriculum check passed")
        return
    for p in rep.problems:
        click.echo(f"  problem: {p}", err=True)
    raise SystemExit(1)
