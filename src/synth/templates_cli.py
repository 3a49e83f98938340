"""`synth templates`: list, check, preview and start template packs.

A template pack is a folder of `*.j2` files (see docs/templates.md). `validate` checks
what `synth generate` would otherwise find one mistake at a time: the front matter,
the family, compile errors, undefined variables (by a dry render of every template over
sample worlds), the concepts the curriculum needs, and the `Answer:` line. Register the
group on the main command with `cli.add_command(templates)`.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from synth.errors import UserError
from synth.families import ItemContext, get_family
from synth.families.base import Draw, Scope
from synth.paths import data_dir
from synth.rng import derive_seed, rng_for
from synth.template_helpers import item_globals
from synth.templating import TemplateLibrary, TemplateSpec
from synth.world.model import World

VALIDATE_SEEDS = 3  # sample worlds (and items) per template in a dry render
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Group(click.Group):
    """User mistakes are one line and exit code 2, as in the main command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as e:
            click.echo(f"synth: error: {e}", err=True)
            sys.exit(UserError.exit_code)


@click.group("templates", cls=_Group)
def templates() -> None:
    """Template packs: list them, check one, preview a template, start a new one.

    \b
    Examples:
      synth templates list --templates my_pack
      synth templates validate my_pack
      synth templates render ontology.entity_bio -n 2 --seed 7
      synth templates new city_guide --dir my_pack
    """


# -- rendering one item -------------------------------------------------------------------


@dataclass
class Sample:
    draw: Draw
    text: str | None
    messages: list[dict[str, str]] | None

    @property
    def response(self) -> str:
        """What states the answer: the last assistant message, or the document."""
        if self.messages is not None:
            return next(
                (m["content"] for m in reversed(self.messages) if m["role"] == "assistant"), ""
            )
        return self.text or ""


def render_item(
    lib: TemplateLibrary,
    spec: TemplateSpec,
    world: World | None,
    seed: int,
    difficulty: int,
    position: int = 0,
) -> Sample:
    """Draw and render one item the way the pipeline does (Producer.item), without
    the run's tokenizer and chat format: the family's vars plus the item helpers."""
    rng = rng_for(derive_seed(seed, "preview", spec.id, position))
    lo, hi = spec.difficulty
    scope = (
        Scope(known_entities=len(world.entities), known_kinds=len(world.kinds))
        if world
        else Scope()
    )
    ctx = ItemContext(
        rng=rng,
        world=world if spec.kind == "ontology" else None,
        difficulty=min(max(difficulty, lo), hi),
        params=spec.params,
        lang=spec.lang,
        split="train",
        scope=scope,
        position=position,
    )
    draw = get_family(spec.family, str(spec.path)).fn(ctx)
    variables = {**draw.vars, **item_globals(rng), "difficulty": draw.difficulty, "lang": spec.lang}
    text, messages = lib.render(spec.id, variables, spec.lang)
    return Sample(draw, text, messages)


def sample_world(seed: int, world_file: str | None = None) -> World:
    """The user's world if one is given, else a fictional one for the seed."""
    if world_file:
        from synth.world import load_world

        return load_world(world_file, seed)
    return _fictional_world(seed)


@functools.lru_cache(maxsize=4)
def _fictional_world(seed: int) -> World:
    # Validating or previewing several templates reuses the same few sample worlds.
    from synth.world.fictional import build_world

    return build_world(seed)


def all_specs(lib: TemplateLibrary) -> list[TemplateSpec]:
    """Every template of the library, each language on its own."""
    variants = getattr(lib, "variants", None)
    if variants is None:
        return sorted(lib.specs.values(), key=lambda s: s.id)
    return [variants[tid][lang] for tid in sorted(variants) for lang in sorted(variants[tid])]


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


class _CheckingLibrary(TemplateLibrary):
    """A library that notes a pack file's front-matter problems and goes on, so one
    validation lists every broken template, not just the first."""

    def __init__(self, pack: Path, builtin: bool):
        self.pack = pack
        self.problems: list[str] = []
        super().__init__([pack], builtin=builtin)

    def _add(self, root: Path, path: Path) -> None:
        if root != self.pack:
            return super()._add(root, path)
        try:
            super()._add(root, path)
        except UserError as e:
            self.problems.append(str(e))


def validate_pack(
    pack: Path, seeds: int = VALIDATE_SEEDS, world_file: str | None = None
) -> tuple[int, list[str]]:
    """(templates checked, problems as `file:line: message`) for one pack."""
    if not pack.is_dir():
        raise UserError(f"templates validate: no such directory: {pack}")
    is_builtin = pack.resolve() == data_dir("templates").resolve()
    lib = _CheckingLibrary(pack, builtin=not is_builtin)
    problems = list(lib.problems)
    specs = [s for s in all_specs(lib) if s.path.is_relative_to(pack)]
    worlds = [sample_world(seed, world_file) for seed in range(seeds)]
    for spec in specs:
        problem = _check_template(lib, spec, worlds)
        if problem:
            problems.append(problem)
    return len(specs), problems


def _front_line(spec: TemplateSpec, key: str) -> int:
    """The line of a front matter field (1 if it is missing)."""
    for i, line in enumerate(spec.source.split("\n"), start=1):
        if line.startswith(key + ":"):
            return i
    return 1


def _check_template(lib: TemplateLibrary, spec: TemplateSpec, worlds: list[World]) -> str | None:
    """The first problem of one template, or None."""
    if not spec.all_concepts:
        return (
            f"{spec.path}:1: declares no concepts:"
            " give introduces, requires or concepts in the front matter"
        )
    try:
        fam = get_family(spec.family, "")
    except UserError as e:
        return f"{spec.path}:{_front_line(spec, 'family')}{e}"
    if fam.kind != spec.kind:
        where = f"{spec.path}:{_front_line(spec, 'kind')}"
        return f"{where}: kind is {spec.kind!r} but family {fam.name!r} draws {fam.kind} items"
    try:
        lib.compiled(spec.id, spec.lang)
        for i, world in enumerate(worlds):
            for difficulty in sorted(set(spec.difficulty)):
                sample = render_item(lib, spec, world, seed=i, difficulty=difficulty, position=i)
                problem = _answer_problem(spec, sample, world)
                if problem:
                    return problem
    except UserError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - a family that cannot serve this template's params
        where = f"{spec.path}:{_front_line(spec, 'family')}"
        return f"{where}: family {spec.family!r} failed on this template: {type(e).__name__}: {e}"
    return None


def _answer_problem(spec: TemplateSpec, sample: Sample, world: World | None) -> str | None:
    """A sample with a gold answer states it on its last `Answer:` line."""
    from synth.filters.answer import same_answer, stated_answer

    gold = sample.draw.answer
    if gold is None:
        return None
    response = sample.response
    stated = stated_answer(response, spec.lang)
    label = (
        (world.names.get(spec.lang, {}).get(gold, gold) if world else gold)
        if spec.kind == "ontology"
        else gold
    )
    if stated is None:
        if gold in response or label in response:
            return None
        return (
            f"{spec.path}: the sample has the gold answer {gold!r} but no 'Answer:' line states it"
        )
    if same_answer(stated, gold) or same_answer(stated, label) or spec.lang != "en":
        return (
            None  # other languages state a declined surface form: the pipeline's filter checks it
        )
    return f"{spec.path}: the sample states the answer {stated!r} but the gold answer is {gold!r}"


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
    d = difficulty if difficulty is not None else spec.difficulty[0]
    for i in range(count):
        sample = render_item(lib, spec, world, seed, d, position=i)
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
