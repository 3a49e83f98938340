"""`synth templates`: list, check, preview and start template packs.

A template pack is a folder of `*.j2` files (see docs/templates.md). The library code
lives in `synth.templating`: `validate` for the checks, `item` for the one render path.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from synth.cli.main import Group
from synth.curriculum.tier import load_tier
from synth.errors import UserError
from synth.families import get_family
from synth.generation.resolve import fit_to_world
from synth.templating import TemplateLibrary
from synth.templating.item import sample_world
from synth.templating.validate import VALIDATE_SEEDS, all_specs, preview_item, validate_pack
from synth.wording import check_forms

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@click.group("templates", cls=Group)
def templates() -> None:
    """Template packs: list them, check one, preview a template, start a new one.

    \b
    Examples:
      synth templates list --templates my_pack
      synth templates validate my_pack
      synth templates render ontology.entity_bio -n 2 --seed 7
      synth templates new city_guide --dir my_pack
    """


# -- list -----------------------------------------------------------------------------------


@templates.command("list")
@click.option(
    "--templates", "dirs", multiple=True, metavar="DIR", help="Add a template pack (repeatable)."
)
@click.option(
    "--templates-only", is_flag=True, help="Only the --templates packs, not the built-in one."
)
def list_templates(dirs: tuple[str, ...], templates_only: bool) -> None:
    """List every template: id, language, kind, shape, family and file."""
    lib = TemplateLibrary(list(dirs), builtin=not templates_only)
    specs = all_specs(lib)
    width = max((len(s.id) for s in specs), default=10)
    for s in specs:
        click.echo(
            f"{s.id:<{width}}  {s.lang:<3} {s.kind:<12} {s.shape:<9} {s.family:<22} {s.path}"
        )
    click.echo(f"{len(specs)} template(s)")


# -- validate -------------------------------------------------------------------------------


@templates.command("validate")
@click.argument("pack", type=click.Path(file_okay=False))
@click.option(
    "--world",
    "world_file",
    metavar="FILE",
    help="Dry-render over this world (YAML or RDF) instead of sample fictional worlds.",
)
@click.option(
    "--seeds",
    default=VALIDATE_SEEDS,
    show_default=True,
    help="Sample worlds (and items) per template.",
)
def validate(pack: str, world_file: str | None, seeds: int) -> None:
    """Check a template pack: front matter, family, compile errors, undefined variables
    (a dry render over sample worlds), concept declarations and the Answer: line.
    Lists each problem as file:line: message and exits 1 if there is any."""
    n, problems = validate_pack(Path(pack), max(1, seeds), world_file)
    for p in problems:
        click.echo(p)
    if problems:
        click.echo(f"{pack}: {len(problems)} problem(s) in {n} template(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{pack}: {n} template(s) OK")


# -- render ---------------------------------------------------------------------------------


@templates.command("render")
@click.argument("tid", metavar="ID")
@click.option(
    "--world",
    "world_file",
    metavar="FILE",
    help="A world of your own (YAML or RDF) instead of a fictional one.",
)
@click.option("-n", "count", default=3, show_default=True, help="Samples to render.")
@click.option("--seed", default=0, show_default=True, help="World and item seed.")
@click.option(
    "--difficulty",
    default=None,
    type=int,
    help="Target difficulty (default: the template's lowest).",
)
@click.option(
    "--lang", default=None, help="Language version of the template (default: English, else any)."
)
@click.option(
    "--templates", "dirs", multiple=True, metavar="DIR", help="Add a template pack (repeatable)."
)
def render(
    tid: str,
    world_file: str | None,
    count: int,
    seed: int,
    difficulty: int | None,
    lang: str | None,
    dirs: tuple[str, ...],
) -> None:
    """Preview a template: render a few samples with their gold answers."""
    lib = TemplateLibrary(list(dirs))
    spec = lib.spec(tid, lang) if lang else lib.spec(tid)
    world = sample_world(seed, world_file) if spec.kind == "ontology" or world_file else None
    if world is not None and spec.kind == "ontology":
        check_forms(world, [spec.lang])
        if world_file and _left_out(lib, spec, world):
            raise UserError(
                f"{tid}: has nothing to say about {world_file} (synth generate leaves it out"
                " for this world); `synth templates list` shows the others"
            )
    d = difficulty if difficulty is not None else spec.difficulty[0]
    for i in range(count):
        sample = preview_item(lib, spec, world, seed, d, position=i)
        click.echo(
            f"── {spec.id} ({spec.lang}) sample {i + 1} · seed {seed}"
            f" · difficulty {sample.draw.difficulty} ──"
        )
        if sample.messages is not None:
            for m in sample.messages:
                click.echo(f"[{m['role']}]\n{m['content']}")
        else:
            click.echo(sample.text or "")
        if sample.draw.answer is not None:
            click.echo(f"(gold answer: {sample.draw.answer})")
        click.echo("")


def _left_out(lib: TemplateLibrary, spec, world) -> bool:
    """Whether `synth generate` leaves this template out for the world: its family has
    nothing to say about it, or (in the ontology tier) what it builds on is left out."""
    applies = get_family(spec.family).applies
    if applies is not None and not applies(world):
        return True
    tier = load_tier("ontology")
    if spec.id not in tier.templates:
        return False
    _, dropped = fit_to_world(tier, lib, world)
    return spec.id in dropped


# -- new ------------------------------------------------------------------------------------

STARTER = """\
---
# A synth template: YAML front matter between the '---' lines, then a Jinja body.
id: user.{name}                # unique id; a tier's curricula YAML names templates by it
kind: ontology                 # instruction | logic | ontology
lang: en
family: entity_profile         # the item generator whose variables this template renders
shape: document                # document: the body is the sample; chat: blocks user, assistant
introduces: [user.{name}]      # concepts this template teaches first ...
requires: [world.kinds]        # ... and the ones taught before it (curriculum order)
difficulty: [1, 8]
description: A short profile of one being of the world.
---
{{#- Variables come from the family: entity_profile gives `e` (name, kind, ancestors,
    colour, lives_in, works_as, links, props). Helpers draw from the item's own seed:
    pick(a, b, ...), shuffle(list), chance(p), randint(a, b), sample(list, k); filters
    a ("an owl"), plural, join_and, cap. Use pick generously, so that no two samples
    read alike. Templates run in a sandbox: no Python, no files outside the pack, and
    a time and size limit per sample. Check the pack with `synth templates validate DIR`
    and preview with `synth templates render user.{name} --templates DIR`. -#}}
{{{{ pick("About " ~ e.name, e.name, "Who is " ~ e.name ~ "?") }}}}

{{{{ pick(e.name ~ " is " ~ (e.kind | a), e.name ~ " is one of the " ~ (e.kind | plural)) }}}}
{{%- if e.ancestors %}}, and so also {{{{ e.ancestors | map("a") | join_and }}}}{{% endif %}}.
{{{{ pick(e.name ~ " lives in " ~ e.lives_in, "The home of " ~ e.name ~ " is " ~ e.lives_in) }}}}.
{{% for p in shuffle(e.props) %}}
{{{{ e.name }}}} is {{{{ "" if p.holds else "not " }}}}{{{{ p.name }}}}.
{{% endfor %}}
"""


@templates.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    default=".",
    show_default=True,
    metavar="DIR",
    help="The pack folder to write into (created if missing).",
)
def new(name: str, directory: str) -> None:
    """Write a commented starting template NAME.j2 into a pack."""
    if not _NAME.match(name):
        raise UserError(
            f"templates new: {name!r}: a name is letters, digits and '_', starting with a letter"
        )
    path = Path(directory) / f"{name}.j2"
    if path.exists():
        raise UserError(f"templates new: {path} exists; choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER.format(name=name), encoding="utf-8")
    click.echo(f"wrote {path}; check it with: synth templates validate {path.parent}")
