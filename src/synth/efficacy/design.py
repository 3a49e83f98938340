"""The efficacy corpus design: a compact ontology world and the knobs an ablation turns.

`synth efficacy` needs a corpus small enough to be trained on for minutes on one CPU
thread, yet made by synth's real pipeline (world → plan → templates → filters →
shards → probes). A `Design` becomes a curriculum YAML and a small template pack (the
biography template with its knobs set as front-matter params), which
`synth.generate` then runs like any other tier.

Knobs (what knowledge-injection studies found a corpus needs):

- `renderings`: how many differently worded biographies each entity gets;
- `shuffle`: whether a biography's sentences come in shuffled order;
- `qa_mix`: whether QA about training entities is interleaved with the biographies
  (else it comes after all of them, as a separate stage);
- `derived`: whether documents state derived facts (inherited properties) with their
  reasons, and worked derivation documents are included;
- `fullnames`: whether every sentence of a biography names its entity (else the first
  does and the rest say "it").

`--ablate` changes one knob, or several at once (`renderings=1,fullnames=false`).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from synth.errors import UserError

# The pipeline mixes a stage's templates by sample count, so the design sets samples
# per entity of the world and sizes the stage from each template's mean length in
# characters (measured on the compact world). A 3M-parameter model stores facts only
# after many exposures, and 15 minutes on two CPU cores read ≈6M word units (≈30M
# characters): the 300-entity corpus is kept to ≈0.81M characters, read ≈35 times.
PER_ENTITY = {
    # Stated facts, asked of training entities only (≈1.75 times per attribute each). The
    # answer first restates the fact in one fixed biography wording ("Rex works as a
    # potter.") and then gives the value: the model then recalls a held-out entity's
    # value the way it learnt it, mid-sentence after the name, instead of needing a
    # separate question-to-value mapping that only training entities ever exercise
    # (on a 100-entity check with a character model: held-out stated 0.25 with
    # value-only answers, 0.56 with the restatement, training questions ≈0.95 either way).
    # Seven, not eight: the characters of one in eight went to relation questions.
    "efficacy.qa_fact": 7.0,
    # Derived facts, answered by stating the fact as the biographies do, then the worked
    # derivation (the same restatement as efficacy.qa_fact's, for derived facts). Three
    # per entity: a leaf kind's property is settled for that kind and open for the
    # eleven others, so the model must learn (kind, property) pairs; with one question
    # per entity (2-3 per pair) depth-1 probes stayed at chance (0.57 against 0.59),
    # with three they reach 0.93.
    "efficacy.qa_property": 3.0,
    # Relations, as yes/no questions (stated, reversed, through a chain, or not holding):
    # a third of the probes, answered by first recalling who the subject is related to
    # ("Loia is the mentor of Bramia.", or "... of no one."), then deciding, in fixed
    # wordings. At 9,632 steps, held-out stated relations: 0.70 with ontology.qa_relation's
    # answers (verdict first, many wordings) at 0.5 per entity, 0.72 with the recalled
    # answers at 0.5 (too few to learn their form: replies mixed it with other
    # templates'), 0.91 with fixed-wording recalled answers at 1.5 (negatives 0.86,
    # reversed 0.88). Two per entity of ontology.qa_relation's answers reached 0.79 but
    # cost attribute questions 6 points (a larger corpus read fewer times).
    "efficacy.qa_relation": 1.5,
    "ontology.kind_entry": 0.15,  # kind entries again beside the entities
}
DERIVATION_PER_ENTITY = 0.15  # worked derivation documents (`derived` knob)
# As the budget counts them: a chat sample with its chat-template markup (the model
# reads it without: `Q: …` / `A: …`, about half as long).
MEAN_CHARS = {
    "efficacy.bio": 225,  # above the measured 213, so few entities miss a rendering
    "efficacy.qa_fact": 130,  # measured 128
    "efficacy.qa_property": 262,  # measured 260
    # measured 198; sized as 226 (the earlier answers' length) when the figures above
    # were taken, and kept so that they describe this corpus
    "efficacy.qa_relation": 226,
    "ontology.kind_entry": 140,
    "ontology.derivation_doc": 515,
}
KIND_STAGE_CHARS = 12_000

KNOBS = {
    "renderings": "biographies per entity (default 5)",
    "shuffle": "shuffle a biography's sentences (default true)",
    "qa_mix": "interleave QA with the biographies (default true)",
    "derived": "state derived facts and include derivation documents (default true)",
    "fullnames": "name the entity in every sentence of its biography (default true)",
}


@dataclass(frozen=True)
class Design:
    """One corpus design; `ablate` returns a copy with one knob changed."""

    entities: int = 300
    renderings: int = 5
    shuffle: bool = True
    qa_mix: bool = True
    derived: bool = True
    fullnames: bool = True
    probes: int = 400
    seed: int = 0

    def ablate(self, spec: str) -> Design:
        """`renderings=1`, `shuffle=false`, `qa_mix=false`, `derived=false`,
        `fullnames=false`, or several joined by commas."""
        if "," in spec:
            d = self
            for part in spec.split(","):
                d = d.ablate(part)
            return d
        key, sep, raw = spec.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in KNOBS:
            known = ", ".join(f"{k}=..." for k in KNOBS)
            raise UserError(f"--ablate: {spec!r} is not KNOB=VALUE with a knob among {known}")
        raw = raw.strip().lower()
        if key == "renderings":
            if not raw.isdigit() or int(raw) < 1:
                raise UserError(f"--ablate: renderings must be a positive integer, got {raw!r}")
            return dataclasses.replace(self, renderings=int(raw))
        if raw not in ("true", "false", "1", "0", "yes", "no"):
            raise UserError(f"--ablate: {key} takes true or false, got {raw!r}")
        return dataclasses.replace(self, **{key: raw in ("true", "1", "yes")})

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def condition_dir(spec: str) -> str:
    """A folder name for an ablation: `renderings=1,fullnames=false` →
    `renderings-1+fullnames-false`."""
    return spec.replace(" ", "").lower().replace("=", "-").replace(",", "+")


def world_knobs(entities: int) -> dict[str, Any]:
    """A world a tiny model can hold: few kinds two levels deep, one property per kind,
    holding for every other kind (so a yes/no probe's chance is near one half),
    mentors and neighbours for reversed relations, no chains or world rules, and
    entities named by one word (one unit per name)."""
    return {
        "kinds": 12,
        "depth": 2,
        "entities": entities,
        "properties_per_kind": 1,
        "balanced": True,
        "rules": 0,
        "chains": 0,
        "neighbours": max(1, entities // 10),
        "mentors": max(1, entities // 6),
        "places": 8,
        "surnames": False,
        # the three attributes and two relations the design measures (a being of a
        # full-size world also has numbers, dates, languages, crafts and friends)
        "attributes": ["colour", "lives_in", "works_as"],
        "friends": 0,
    }


def samples_per_entity(d: Design) -> dict[str, float]:
    """Samples of each template per entity of the world (biographies first)."""
    out = {"efficacy.bio": float(d.renderings), **PER_ENTITY}
    if d.derived:
        out["ontology.derivation_doc"] = DERIVATION_PER_ENTITY
    return out


def _chars(mix: dict[str, float], entities: int) -> int:
    return int(sum(n * entities * MEAN_CHARS[t] for t, n in mix.items()))


def tier_yaml(d: Design) -> dict[str, Any]:
    """The curriculum for a design: kinds and rules first, then every entity's
    biographies (each entity introduced in order, `renderings` times over), with the
    QA either interleaved or following in a stage of its own. Mix weights are sample
    counts; stage shares are characters."""
    per = samples_per_entity(d)
    others = {t: n for t, n in per.items() if t != "efficacy.bio"}
    templates: dict[str, float] = {
        "ontology.kind_entry": 1.0,
        "ontology.rule_entry": 0.3,
        **dict.fromkeys(per, 1.0),
    }
    stages: list[dict[str, Any]] = [
        {
            "name": "kinds",
            "share": KIND_STAGE_CHARS,
            "covers": ["kinds"],
            "templates": ["ontology.kind_entry", "ontology.rule_entry"],
            "difficulty": [1, 1],
            "concepts": ["world.kinds", "world.kind_properties", "world.rules"],
        }
    ]
    if d.qa_mix:
        stages.append(
            {
                "name": "entities-and-questions",
                "share": _chars(per, d.entities),
                "covers": ["entities"],
                "templates": per,
                "difficulty": [1, 2],
                "concepts": ["world.entities", "world.relations", "qa.stated", "qa.derived"],
            }
        )
    else:
        bios = {"efficacy.bio": per["efficacy.bio"]}
        stages.append(
            {
                "name": "entities",
                "share": _chars(bios, d.entities),
                "covers": ["entities"],
                "templates": bios,
                "difficulty": [1, 1],
                "concepts": ["world.entities", "world.relations"],
            }
        )
        stages.append(
            {
                "name": "questions",
                "share": _chars(others, d.entities),
                "templates": others,
                "difficulty": [1, 2],
                "concepts": ["qa.stated", "qa.derived"],
            }
        )
    return {
        "tier": "efficacy",
        "description": "a compact ontology world for `synth efficacy`",
        "budget": sum(st["share"] for st in stages),
        # Every entity of the world is introduced, however few characters its
        # biographies take (the world's size is the design's, not the budget's).
        "tokens_per_entity": 1,
        "sample_tokens": [20, 4000],
        "world": world_knobs(d.entities),
        "templates": templates,
        "stages": stages,
        # Renderings of one biography are near-duplicates by design (that is the
        # multiplicity under test), a short question about one fact comes in a few
        # wordings only (exact repeats are more exposures, not noise), and the
        # balance/diversity guards would fight both.
        "filters": {
            "length": {"min": 6, "max": 4000},
            "disabled": ["exact_dedup", "near_dedup", "diversity", "balance"],
        },
        "eval": {"probes": d.probes},
    }


def write_design(d: Design, folder: Path) -> tuple[Path, Path, Path]:
    """Write the tier YAML, the template pack and a character tokenizer under
    `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    tier = folder / "efficacy.yaml"
    tier.write_text(yaml.safe_dump(tier_yaml(d), sort_keys=False), encoding="utf-8")
    pack = folder / "pack"
    write_pack(d, pack)
    tok = folder / "chars.tokenizer.json"
    write_char_tokenizer(tok)
    (folder / "design.json").write_text(json.dumps(d.to_json(), indent=1), encoding="utf-8")
    return tier, pack, tok


_PACK = Path(__file__).with_name("pack")


def write_pack(d: Design, pack: Path) -> None:
    """The shipped efficacy templates, the biography's knobs set in its front matter."""
    out = pack / "en" / "efficacy"
    out.mkdir(parents=True, exist_ok=True)
    for src in sorted(_PACK.glob("*.j2")):
        text = src.read_text(encoding="utf-8")
        params = {
            "intro_passes": d.renderings,
            "shuffle": d.shuffle,
            "derived": d.derived,
            "fullnames": d.fullnames,
        }
        text = text.replace("@PARAMS@", json.dumps(params))
        (out / src.name).write_text(text, encoding="utf-8")


def write_char_tokenizer(path: Path) -> None:
    """A tokenizer.json that counts one token per character: the budget is then in
    the tiny model's own units. Built with HF `tokenizers` (synth's --tokenizer PATH)."""
    try:
        from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    except ImportError:
        raise UserError(
            "synth efficacy needs the `tokenizers` package: pip install 'synth[efficacy]'"
        ) from None
    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    path.write_text(tok.to_str(), encoding="utf-8")
