"""Everything a run needs, resolved once, before anything is drawn.

`resolve(config)` reads the tier, loads the template library, checks the templates
against the languages asked for, loads the tokenizer, builds the world (fictional or the
user's), cuts it to what the budget states and leaves out templates with nothing to say
about it, builds the concept graph and the LLM backend's options, and computes the
fingerprint that a resumed run must match. Each of these is done here and only here:
the parent's producer is made from these very objects, and a worker receives the
`WorkerSetup` (settings, fitted tier, world) instead of a recipe to rebuild them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from synth import __version__
from synth.backends.options import backend_options, fingerprint_options
from synth.chat import check_tokenizer_fits, get_format, infer_format, resolve_system_prompt
from synth.curriculum.concepts import build_graph
from synth.curriculum.tier import TierConfig, load_tier
from synth.errors import UserError
from synth.families import get_family
from synth.generation.capacity import Capacity
from synth.generation.capacity import measure as measure_capacity
from synth.generation.config import GenerateConfig, parse_langs
from synth.generation.unit import Producer, Settings, WorkerSetup
from synth.templating import TemplateLibrary
from synth.templating.item import family_params
from synth.tokenizer import BUILTIN, Tokenizer, load_tokenizer
from synth.units import human, parse_count
from synth.wording import check_forms
from synth.world import load_world
from synth.world.fictional import build_world, sizes
from synth.world.model import World

SHARE_ABOVE = 20_000  # beings: a world this large is mapped by workers, not copied
MIN_BEINGS = 12


@dataclass
class Resolved:
    """A config resolved against the files it names: what the fingerprint covers, and
    the objects the run is made with."""

    config: GenerateConfig
    setup: WorkerSetup  # settings, the tier fitted to the world, the world
    lib: TemplateLibrary
    tokenizer: Tokenizer
    budget: int
    shard_tokens: int
    resolved: dict[str, Any]  # the fingerprinted description of the run
    fingerprint: str
    active_entities: int
    kinds: int
    stage_concepts: list[list[str]]
    capacity: Capacity | None = None

    @property
    def tier(self) -> TierConfig:
        return self.setup.tier

    @property
    def settings(self) -> Settings:
        return self.setup.settings


# The largest budget one run plans: 500 times the largest tier's, days of a large cluster.
# Past it a typo (`1000T`) is refused at once rather than planned.
MAX_BUDGET = 10**13


def resolve(config: GenerateConfig) -> Resolved:
    tier = load_tier(config.tier)
    budget = parse_count(config.tokens, "--tokens") if config.tokens is not None else tier.budget
    if budget > MAX_BUDGET:
        where = "--tokens" if config.tokens is not None else f"{tier.source}: budget"
        raise UserError(
            f"{where}: {budget:,} tokens is more than one run makes (at most {MAX_BUDGET:,});"
            " split it into runs with different --seed values"
        )
    shard_tokens = parse_count(config.shard_tokens, "--shard-tokens")
    if config.executor not in ("local", "ray"):
        raise UserError(f"--executor: unknown executor {config.executor!r}; choose local or ray")
    if config.executor == "ray":
        from synth.executors.ray import require_ray

        require_ray()  # a clear error now if Ray is not installed
    if config.workers is not None and config.workers < 1:
        raise UserError(f"--workers: must be at least 1, got {config.workers}")
    lib = TemplateLibrary(config.templates, builtin=not config.templates_only)
    langs = parse_langs(config.lang)
    chat_format = config.model_format or infer_format(config.model)
    get_format(chat_format)  # a clear error now for an unknown format
    system = resolve_system_prompt(config.system_prompt)
    check_templates(tier, lib, langs)
    tok = load_tokenizer(config.tokenizer)
    # Budgets are counted in the target model's tokens: the built-in vocabulary must have
    # the format's markup (a tokenizer.json passed is the user's own choice).
    if config.tokenizer in BUILTIN:
        check_tokenizer_fits(tok, chat_format)
    world = None
    world_knobs: dict[str, Any] = {}
    entities = kinds = 0
    if needs_world(tier, lib):
        covering = [s for s in tier.stages if "entities" in s.covers]
        cover_tokens = min((budget * s.share for s in covering), default=budget)
        # at least one household, so that even a tiny budget has beings to relate
        wanted = max(MIN_BEINGS, int(cover_tokens // tier.tokens_per_entity))
        kind_tokens = sum(budget * s.share for s in tier.stages if "kinds" in s.covers)
        world_knobs = (
            world_size(wanted, int(kind_tokens // tier.tokens_per_kind), tier)
            if not config.world
            else {}
        )
        world = make_world(config.seed, world_knobs, config.world)
        check_forms(world, langs)  # a Russian run needs the Russian forms of the world's labels
        # A user's world is stated whole, however small the budget; a fictional one is as
        # large as the budget needs unless its knobs fix a larger size.
        entities = len(world.entities) if config.world else min(len(world.entities), wanted)
        kinds = len(world.kinds)
        world = world.restricted(entities)
        if config.progress and world_knobs:
            print(
                f"synth: world for {budget:,} tokens: {describe_world(world_knobs)}",
                file=sys.stderr,
            )
        tier, dropped = fit_to_world(tier, lib, world)
        if dropped and config.progress:
            print(
                f"synth: left out templates with nothing to say about this world: {', '.join(dropped)}",
                file=sys.stderr,
            )
    capacity = None
    if world is not None:
        capacity = measure_capacity(tier, lib, world, tok, next(iter(langs)))
        check_capacity(tier, budget, capacity, config)
        if config.allow_repeat:  # repeats are what was asked for: the dedup filters step aside
            off = list(tier.filters.get("disabled", []))
            tier = replace(
                tier, filters={**tier.filters, "disabled": off + ["exact_dedup", "near_dedup"]}
            )
    graph = build_graph(tier, lib)
    llm = backend_options(
        config.backend,
        tier.raw,
        config.out,
        config.realise,
        config.base_url,
        config.api_key_env,
        config.llm_options,
    )
    settings = Settings(
        tier=config.tier,
        seed=config.seed,
        tokenizer=config.tokenizer,
        chat_format=chat_format,
        system_prompt=system,
        backend=config.backend,
        model=config.model,
        backend_options=llm,
        template_dirs=[str(Path(d).resolve()) for d in config.templates],
        builtin_templates=not config.templates_only,
        active_entities=entities if world is not None else None,
        langs=langs,
        world_file=str(Path(config.world).resolve()) if config.world else None,
    )
    resolved = {
        "tier": tier.tier,
        "curriculum": _sha(Path(tier.source).read_bytes()),
        "budget": budget,
        "seed": config.seed,
        "tokenizer": tok.fingerprint,
        "chat_format": chat_format,
        "system_prompt": system,
        "backend": config.backend,
        "model": config.model,
        "shard_tokens": shard_tokens,
        "templates": {
            f"{tid}@{lang}": _sha(lib.spec(tid, lang).source.encode())
            for tid in sorted(tier.templates)
            for lang in langs
        },
        "pack_files": pack_files(lib, builtin=not config.templates_only),
        "world": {"file": _sha(Path(config.world).read_bytes())} if config.world else world_knobs,
        "langs": langs,
        "synth": __version__,
    }
    if config.backend != "template":  # template runs keep the fingerprints they had
        resolved["llm"] = fingerprint_options(llm)
    fp = _sha(json.dumps(resolved, sort_keys=True).encode())
    return Resolved(
        config=config,
        setup=WorkerSetup(settings, tier, world, fp),
        lib=lib,
        tokenizer=tok,
        budget=budget,
        shard_tokens=shard_tokens,
        resolved=resolved,
        fingerprint=fp,
        active_entities=entities,
        kinds=kinds,
        stage_concepts=graph.stage_introduces,
        capacity=capacity,
    )


def check_capacity(tier: TierConfig, budget: int, cap: Capacity, config: GenerateConfig) -> None:
    """Refuse a budget (or a kinds stage) above what the world can say, naming the fix,
    unless repetition was asked for."""
    if config.allow_repeat:
        return
    where = config.world or "the fictional world (world: in the tier)"
    if budget > cap.tokens:
        raise UserError(
            f"--tokens: {where} can say about {human(cap.tokens, down=True)} tokens ({cap.describe()}); "
            f"give --tokens {human(cap.tokens, down=True)} or less, a larger world or more renderings, "
            "or --allow-repeat to tell its facts more often"
        )
    for s in tier.stages:
        share = budget * s.share
        if "kinds" in s.covers and share > cap.kind_tokens and cap.kind_tokens:
            raise UserError(
                f"{tier.source}: stage {s.name!r} is {human(share)} tokens but the world's kinds "
                f"say about {human(cap.kind_tokens)} ({cap.kind_facts:,} facts x {cap.renderings} "
                f"renderings); give a smaller --tokens or share, more kinds (world: kinds), "
                "or --allow-repeat"
            )


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def make_world(seed: int, knobs: dict[str, Any], world_file: str | None) -> World:
    """The user's world when one is given, else a fictional world with these knobs."""
    if world_file:
        world = load_world(world_file, seed)
        if not world.entities:  # kinds only, or nothing: every ontology family asks about one
            raise UserError(
                f"--world {world_file}: the world has no entities (individuals) to write about;"
                " declare some (YAML: entities:, RDF: instances of its classes)"
            )
        return world
    return build_world(seed, knobs)


def world_size(entities: int, kinds: int, tier: TierConfig) -> dict[str, Any]:
    """The fictional world a budget buys: sized for the `entities` and `kinds` its
    covering stages introduce (`synth.world.fictional.sizes`), under the knobs the tier
    sets itself."""
    return {**sizes(entities, kinds), **tier.world}


def describe_world(k: dict[str, Any]) -> str:
    return (
        f"{k['entities']:,} beings, {k['kinds']:,} kinds {k['depth']} deep, "
        f"{k['places']:,} places in {k['regions']:,} regions, {k['rules']} world rules"
    )


def pack_files(lib: TemplateLibrary, builtin: bool) -> dict[str, str]:
    """Every template file of every pack by its path in the pack, the pack named
    `builtin` or `packN` (in --templates order): a partial edited between a kill and the
    re-run changes the fingerprint, and a pack's `en/command/_common.j2` is never taken
    for the built-in one (or for `ru/command/_common.j2`)."""
    out = {}
    for i, d in enumerate(lib.dirs):
        label = "builtin" if builtin and i == len(lib.dirs) - 1 else f"pack{i}"
        for p in sorted(d.rglob("*.j2")):
            out[f"{label}/{p.relative_to(d).as_posix()}"] = _sha(p.read_bytes())
    return out


def needs_world(cfg: TierConfig, lib: TemplateLibrary) -> bool:
    return any(lib.spec(t).kind == "ontology" for t in cfg.templates)


def fit_to_world(
    cfg: TierConfig, lib: TemplateLibrary, world: World
) -> tuple[TierConfig, list[str]]:
    """Leave out the templates whose family has nothing to say about this world (a
    user's ontology may have no relation chains), then those whose required concepts
    no remaining template introduces. Returns the fitted tier and what was left out."""
    keep = dict(cfg.templates)
    dropped = []
    for tid in list(keep):
        applies = get_family(lib.spec(tid).family).applies
        if applies is not None and not applies(world):
            dropped.append(tid)
            del keep[tid]
    while dropped:
        introduced = {c for t in keep for c in lib.spec(t).introduces + lib.spec(t).concepts}
        orphans = [t for t in keep if any(r not in introduced for r in lib.spec(t).requires)]
        if not orphans:
            break
        for t in orphans:
            dropped.append(t)
            del keep[t]
    if not dropped:
        return cfg, []
    if not keep:
        raise UserError(
            f"{cfg.source}: no template of this tier applies to the world (left out: {', '.join(dropped)})"
        )
    stages = [
        replace(s, templates={t: w for t, w in s.templates.items() if t in keep})
        for s in cfg.stages
    ]
    stages = [s for s in stages if s.templates]
    total = sum(s.share for s in stages)
    stages = [replace(s, share=s.share / total) for s in stages]
    return replace(cfg, templates=keep, stages=stages), dropped


def check_templates(cfg: TierConfig, lib: TemplateLibrary, langs: Iterable[str] = ("en",)) -> None:
    """Every template the tier names exists in every language asked for, compiles, and
    names a known family."""
    for tid in cfg.templates:
        if tid not in lib:
            raise UserError(f"{cfg.source}: template {tid!r} not found in the template packs")
        for lang in langs:
            if lang not in lib.langs(tid):
                raise UserError(
                    f"--lang {lang}: template {tid} has no {lang!r} version (it has: {', '.join(lib.langs(tid))})"
                )
            spec = lib.spec(tid, lang)
            family_params(spec)  # the family exists and takes these params
            lib.compiled(tid, lang)


def make_producer(config: GenerateConfig) -> Producer:
    """The producer of a run, made in this process from the resolved config (what the
    eval probes and a one-worker run use; tests and tools draw items with it)."""
    r = resolve(config)
    return Producer(r.setup, r.lib, r.tokenizer)
