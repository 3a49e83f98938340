"""Tier configs: `curricula/<tier>.yaml` (or any YAML file with the same fields).

A tier config says how big the corpus is, which templates make it and in what mix, how
big the world is, how the curriculum is staged and where the filters draw their bands.
Everything that changes the output is here or in the templates, so the pair is what
the run's fingerprint covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synth import safe_yaml
from synth.errors import UserError
from synth.paths import data_dir
from synth.safe_yaml import shown
from synth.units import parse_count

TIERS = ("command", "structural", "ontology")
# What a curriculum file may say; anything else is a typo, refused with its line.
TIER_KEYS = (
    "tier", "description", "budget", "sample_tokens", "tokens_per_entity", "tokens_per_kind",
    "renderings", "world",
    "templates", "stages", "filters", "eval", "realise", "llm",
)  # fmt: skip
STAGE_KEYS = ("name", "share", "templates", "difficulty", "replay", "concepts", "covers")


@dataclass
class StageConfig:
    name: str
    share: float
    templates: dict[str, float]
    difficulty: tuple[int, int] = (1, 1)
    replay: float = 0.0
    concepts: list[str] = field(default_factory=list)
    covers: list[str] = field(
        default_factory=list
    )  # world parts this stage must state: entities, kinds


@dataclass
class TierConfig:
    tier: str
    budget: int
    sample_tokens: tuple[int, int]
    world: dict[str, Any]
    templates: dict[str, float]
    stages: list[StageConfig]
    filters: dict[str, Any]
    eval: dict[str, Any]
    source: str  # file path, for error messages
    raw: dict[str, Any]
    # Stage tokens a covering stage spends per entity it states: how many of the world's
    # entities a budget introduces (2000 suits 500–4000-token documents about each).
    tokens_per_entity: float = 2000.0
    # The same for a stage that `covers: [kinds]`: how many kinds a budget's world has.
    tokens_per_kind: float = 2000.0
    # How many times the corpus may tell one fact of the world (the design's band): a
    # budget above facts x the band's top x tokens per telling is refused (capacity).
    renderings: tuple[int, int] = (2, 32)


def tier_file(tier: str) -> Path:
    """`command` → the built-in curricula/command.yaml; a path → itself."""
    p = Path(tier)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise UserError(f"--tier: no such curriculum file: {tier}")
        return p
    f = data_dir("curricula") / f"{tier}.yaml"
    if tier not in TIERS or not f.is_file():
        raise UserError(
            f"--tier: unknown tier {tier!r}; choose one of {', '.join(TIERS)} or give a curricula YAML file"
        )
    return f


def _get(d: dict, key: str, where: str, typ=None, default=...):
    if key not in d:
        if default is ...:
            raise UserError(f"{where}: missing required field {key!r}")
        return default
    v = d[key]
    if typ is not None and not isinstance(v, typ):
        raise UserError(
            f"{where}: field {key!r} must be {_type_names(typ)}, got {type(v).__name__}"
        )
    return v


def _type_names(typ: Any) -> str:
    types = typ if isinstance(typ, tuple) else (typ,)
    return " or ".join(
        {"dict": "a mapping", "list": "a list"}.get(t.__name__, t.__name__) for t in types
    )


def _pair(v: Any, where: str, key: str) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    if (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and all(isinstance(x, int) for x in v)
        and v[0] <= v[1]
    ):
        return (int(v[0]), int(v[1]))
    raise UserError(f"{where}: {key!r} must be [low, high] with low <= high, got {shown(v)}")


def _positive(v: Any, where: str, key: str) -> float:
    """A finite number above 0 (YAML's .nan and .inf are floats too)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 < v < math.inf:
        raise UserError(f"{where}: {key} must be a positive number, got {shown(v)}")
    return float(v)


MAX_PROBES = 100_000


def _eval(raw: Any, where: str) -> dict[str, Any]:
    """`eval: {probes: N}`: how many held-out probes to make."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"{where}: 'eval' must be a mapping such as {{probes: 500}}")
    for key in raw:
        if key != "probes":
            raise UserError(f"{where}: eval: unknown key {shown(key)}; known: probes")
    n = raw.get("probes", 0)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_PROBES:
        raise UserError(
            f"{where}: eval: probes must be a whole number from 0 to {MAX_PROBES:,}, got {shown(n)}"
        )
    return dict(raw)


def _fraction(v: Any, where: str, key: str) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v < 1:
        raise UserError(f"{where}: {key} must be a number in [0, 1), got {shown(v)}")
    return float(v)


def _covers(v: list, where: str) -> list[str]:
    for x in v:
        if x not in ("entities", "kinds"):
            raise UserError(
                f"{where}: covers: unknown world part {shown(x)}; use entities or kinds"
            )
    return [str(x) for x in v]


def _known_keys(d: dict, known: tuple[str, ...], path: Path, where: str) -> None:
    for key in d:
        if key not in known:
            line = _line_of(path, str(key))
            at = f"{path}:{line}" if line else where
            inside = "" if where == str(path) else f" in {where.split(': ', 1)[-1]}"
            raise UserError(
                f"{at}: unknown key {str(key)[:40]!r}{inside}; known: {', '.join(known)}"
            )


def _line_of(path: Path, key: str) -> int | None:
    """The first line that starts a mapping entry `key:` (a best guess for an error)."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return None
    for i, ln in enumerate(lines, start=1):
        s = ln.strip().removeprefix("- ").strip()
        if s.startswith(key + ":"):
            return i
    return None


def load_tier(tier: str) -> TierConfig:
    path = tier_file(tier)
    try:
        raw = safe_yaml.load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not a UTF-8 text file ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        at = f":{line + 1}" if line is not None else ""
        raise UserError(f"{path}{at}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: a curriculum file must be a mapping")
    where = str(path)
    _known_keys(raw, TIER_KEYS, path, where)
    name = _get(raw, "tier", where, str)
    budget = parse_count(_get(raw, "budget", where), f"{where}: budget")
    templates = _get(raw, "templates", where, dict)
    if not templates:
        raise UserError(f"{where}: 'templates' is empty")
    for tid, w in templates.items():
        _positive(w, where, f"template {shown(tid)} weight")
    stages = []
    for i, s in enumerate(_get(raw, "stages", where, list, default=[]) or []):
        sw = f"{where}: stages[{i}]"
        if not isinstance(s, dict):
            raise UserError(f"{sw}: must be a mapping")
        _known_keys(s, STAGE_KEYS, path, sw)
        st = _get(s, "templates", sw, (list, dict))
        st = (
            {t: float(templates.get(t, 1.0)) for t in st}
            if isinstance(st, list)
            else {t: _positive(w, sw, f"template {shown(t)} weight") for t, w in st.items()}
        )
        for t in st:
            if t not in templates:
                raise UserError(f"{sw}: template {t!r} is not listed in the tier's 'templates'")
        stages.append(
            StageConfig(
                name=str(_get(s, "name", sw, str, default=f"stage{i}")),
                share=_positive(_get(s, "share", sw), sw, "share"),
                templates=st,
                difficulty=_pair(_get(s, "difficulty", sw, default=[1, 1]), sw, "difficulty"),
                replay=_fraction(_get(s, "replay", sw, default=0.0), sw, "replay"),
                concepts=list(_get(s, "concepts", sw, list, default=[])),
                covers=_covers(_get(s, "covers", sw, list, default=[]), sw),
            )
        )
    if not stages:
        stages = [StageConfig("all", 1.0, {t: float(w) for t, w in templates.items()}, (1, 3))]
    total = sum(s.share for s in stages)
    if total <= 0 or any(s.share <= 0 for s in stages):
        raise UserError(f"{where}: every stage needs a positive 'share'")
    for s in stages:
        s.share /= total
        if not 0 <= s.replay < 1:
            raise UserError(f"{where}: stage {s.name!r}: replay must be in [0, 1)")
    return TierConfig(
        tier=name,
        budget=budget,
        sample_tokens=_pair(
            _get(raw, "sample_tokens", where, default=[1, 1_000_000]), where, "sample_tokens"
        ),
        world=dict(_get(raw, "world", where, dict, default={})),
        templates={t: float(w) for t, w in templates.items()},
        stages=stages,
        filters=dict(_get(raw, "filters", where, dict, default={}) or {}),
        eval=_eval(raw.get("eval"), where),
        source=where,
        raw=raw,
        tokens_per_entity=_positive(
            _get(raw, "tokens_per_entity", where, (int, float), default=2000),
            where,
            "tokens_per_entity",
        ),
        tokens_per_kind=_positive(
            _get(raw, "tokens_per_kind", where, (int, float), default=2000),
            where,
            "tokens_per_kind",
        ),
        renderings=_pair(_get(raw, "renderings", where, default=[2, 32]), where, "renderings"),
    )
