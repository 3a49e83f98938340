"""`synth templates validate`: everything `synth generate` would otherwise find one
mistake at a time. The front matter, the family (and its params), compile errors,
undefined variables (a dry render of every template over sample worlds), the concepts
the curriculum needs, and the `Answer:` line; every problem as `file:line: message`.
"""

from __future__ import annotations

from pathlib import Path

from synth.errors import UserError
from synth.families import get_family
from synth.families.base import Score
from synth.filters.answer import same_answer, stated_answer
from synth.paths import data_dir
from synth.rng import derive_seed, rng_for
from synth.templating.item import Sample, render_item, sample_world
from synth.templating.library import TemplateLibrary
from synth.templating.spec import TemplateSpec
from synth.wording import check_forms
from synth.world.model import World

VALIDATE_SEEDS = 3  # sample worlds (and items) per template in a dry render


def all_specs(lib: TemplateLibrary) -> list[TemplateSpec]:
    """Every template of the library, each language on its own."""
    variants = getattr(lib, "variants", None)
    if variants is None:
        return sorted(lib.specs.values(), key=lambda s: s.id)
    return [variants[tid][lang] for tid in sorted(variants) for lang in sorted(variants[tid])]


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
        return f"{spec.path}:{spec.line_of('family')}{e}"
    if fam.kind != spec.kind:
        where = f"{spec.path}:{spec.line_of('kind')}"
        return f"{where}: kind is {spec.kind!r} but family {fam.name!r} draws {fam.kind} items"
    try:
        lib.compiled(spec.id, spec.lang)
        for i, world in enumerate(worlds):
            if spec.kind == "ontology" and fam.applies is not None and not fam.applies(world):
                continue  # a run leaves such a template out (nothing to say about this world)
            if spec.kind == "ontology":
                check_forms(world, [spec.lang])  # a language the world's labels lack
            for difficulty in sorted(set(spec.difficulty)):
                sample = preview_item(lib, spec, world, seed=i, difficulty=difficulty, position=i)
                problem = _answer_problem(spec, sample, world, fam.score)
                if problem:
                    return problem
    except UserError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - a family that cannot serve this template's params
        where = f"{spec.path}:{spec.line_of('family')}"
        return f"{where}: family {spec.family!r} failed on this template: {type(e).__name__}: {e}"
    return None


def _answer_problem(
    spec: TemplateSpec, sample: Sample, world: World | None, score: Score
) -> str | None:
    """A sample with a gold answer states it on its last `Answer:` line, so that its
    family's own score counts the sample's reply as correct."""
    gold = sample.draw.answer
    if gold is None:
        return None
    response = sample.response
    if score(response, gold, spec.lang):
        return None
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


def preview_item(
    lib: TemplateLibrary,
    spec: TemplateSpec,
    world: World | None,
    seed: int,
    difficulty: int,
    position: int = 0,
) -> Sample:
    """One item for a preview or a validation: seeded by (seed, template, position)."""
    rng = rng_for(derive_seed(seed, "preview", spec.id, position))
    return render_item(
        lib, spec, world if spec.kind == "ontology" else None, rng, difficulty, position=position
    )
