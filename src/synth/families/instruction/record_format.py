"""Output formats: render records as JSON, JSON Lines, CSV, a Markdown table or YAML,
exactly — from a plain description, or converted from another of these formats.

params: `mode` — "render" (records described in prose or bullets) or "convert"
(records given in one format, wanted in another).
Difficulty is the table's size: 2–3 rows × 2 fields at d1, 4–5 rows × 5 fields at d6.
Vars: `entity` (what a record is, e.g. "planet"), `fields`, `records` (one list of
[field, value-as-text] pairs per record), `target` and `layout` (the wanted format and,
for JSON/YAML, how it is laid out), `source_format` / `source_text` (convert mode),
`expected` (always several lines).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from synth.families.base import Draw, ItemContext, choices, family
from synth.families.instruction.common import (
    NAMES,
    PLACES,
    SHORT_WORDS,
    level,
    make_draw,
    retry,
    scorer,
)
from synth.vocab import COLOURS, JOBS

FAMILY = "record_format"
TITLE_ADJ = [
    "Amber",
    "Silent",
    "Broken",
    "Hidden",
    "Last",
    "Golden",
    "Winter",
    "Hollow",
    "Crimson",
    "Distant",
]
TITLE_NOUN = [
    "Gate",
    "River",
    "Crown",
    "Harbor",
    "Lantern",
    "Orchard",
    "Tower",
    "Compass",
    "Garden",
    "Bridge",
]
TASK_VERBS = ["fix", "write", "review", "update", "test", "plan", "move", "clean"]


def _sku(r: random.Random) -> str:
    return (
        r.choice("ABCDEFGHKLMNPRSTVXZ")
        + r.choice("ABCDEFGHKLMNPRSTVXZ")
        + f"-{r.randint(100, 999)}"
    )


SCHEMAS: dict[str, tuple[str, list[tuple[str, Any]]]] = {
    "people": (
        "person",
        [
            ("name", lambda r: r.choice(NAMES)),
            ("age", lambda r: r.randint(18, 90)),
            ("city", lambda r: r.choice(PLACES)),
            ("job", lambda r: r.choice(JOBS)),
            ("active", lambda r: r.random() < 0.5),
        ],
    ),
    "products": (
        "product",
        [
            ("sku", _sku),
            ("item", lambda r: r.choice(SHORT_WORDS)),
            ("price", lambda r: r.randint(50, 9999) / 100),
            ("qty", lambda r: r.randint(0, 500)),
            ("in_stock", lambda r: r.random() < 0.6),
        ],
    ),
    "planets": (
        "planet",
        [
            ("name", lambda r: r.choice(NAMES)),
            ("moons", lambda r: r.randint(0, 30)),
            ("radius_km", lambda r: r.randint(1000, 70000)),
            ("ringed", lambda r: r.random() < 0.3),
            ("colour", lambda r: r.choice(COLOURS)),
        ],
    ),
    "books": (
        "book",
        [
            ("title", lambda r: f"The {r.choice(TITLE_ADJ)} {r.choice(TITLE_NOUN)}"),
            ("author", lambda r: f"{r.choice(NAMES)} {r.choice(NAMES)}"),
            ("year", lambda r: r.randint(1800, 2024)),
            ("pages", lambda r: r.randint(80, 900)),
            ("in_print", lambda r: r.random() < 0.5),
        ],
    ),
    "tasks": (
        "task",
        [
            ("id", lambda r: r.randint(1, 999)),
            ("title", lambda r: f"{r.choice(TASK_VERBS)} {r.choice(SHORT_WORDS)}"),
            ("priority", lambda r: r.choice(["low", "medium", "high"])),
            ("owner", lambda r: r.choice(NAMES)),
            ("done", lambda r: r.random() < 0.4),
        ],
    ),
    "cities": (
        "city",
        [
            ("name", lambda r: r.choice(PLACES)),
            ("population", lambda r: r.randint(500, 2_000_000)),
            ("founded", lambda r: r.randint(900, 1990)),
            ("port", lambda r: r.random() < 0.3),
            ("mayor", lambda r: r.choice(NAMES)),
        ],
    ),
}
SCHEMA_NAMES = list(SCHEMAS)
FORMATS = ["json", "jsonl", "csv", "markdown", "yaml"]
FENCE_LANG = {"json": "json", "jsonl": "json", "csv": "csv", "markdown": "markdown", "yaml": "yaml"}


def text_of(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render(rows: list[dict], fields: list[str], fmt: str, layout: str) -> str:
    if fmt == "json":
        if layout == "pretty":
            return json.dumps(rows, indent=2, ensure_ascii=False)
        return "[\n" + ",\n".join(json.dumps(x, ensure_ascii=False) for x in rows) + "\n]"
    if fmt == "jsonl":
        return "\n".join(json.dumps(x, ensure_ascii=False) for x in rows)
    if fmt == "csv":
        return "\n".join(
            [",".join(fields)] + [",".join(text_of(x[f]) for f in fields) for x in rows]
        )
    if fmt == "markdown":
        head = "| " + " | ".join(fields) + " |"
        sep = "|" + "|".join("---" for _ in fields) + "|"
        return "\n".join(
            [head, sep] + ["| " + " | ".join(text_of(x[f]) for f in fields) + " |" for x in rows]
        )
    # yaml
    if layout == "block":
        out = []
        for x in rows:
            for i, f in enumerate(fields):
                out.append(("- " if i == 0 else "  ") + f"{f}: {text_of(x[f])}")
        return "\n".join(out)
    return "\n".join("- {" + ", ".join(f"{f}: {text_of(x[f])}" for f in fields) + "}" for x in rows)


def _layout(r: random.Random, fmt: str, n_cells: int) -> str:
    if fmt == "json":
        return "pretty" if n_cells <= 15 and r.random() < 0.5 else "lines"
    if fmt == "yaml":
        return "block" if r.random() < 0.6 else "flow"
    return "plain"


@dataclass(frozen=True)
class Params:
    mode: str = choices("render", "convert")


def _norm(s: str) -> Any:
    s = s.strip()
    if s.startswith("["):
        return ("json", json.loads(s))
    if s.startswith("{"):
        return ("jsonl", [json.loads(ln) for ln in s.split("\n") if ln.strip()])
    if s.startswith("|"):
        rows = [
            [c.strip() for c in ln.strip().strip("|").split("|")]
            for ln in s.split("\n")
            if ln.strip()
        ]
        return ("markdown", [row for row in rows if not all(set(c) <= set("-: ") for c in row)])
    if s.startswith("- "):
        import yaml

        return ("yaml", yaml.safe_load(s))
    return ("csv", [[c.strip() for c in ln.split(",")] for ln in s.split("\n") if ln.strip()])


score = scorer(_norm)


@family(FAMILY, "instruction", params=Params, score=score)
def record_format(ctx: ItemContext) -> Draw:
    """Write given records in an exactly specified format."""
    d = level(ctx)
    mode = ctx.params.mode

    def make(r: random.Random) -> Draw | None:
        schema = r.choice(SCHEMA_NAMES)
        entity, spec = SCHEMAS[schema]
        n_fields = min(2 + d // 2, 5)
        n_rows = min(1 + (d + 1) // 2 + r.randint(0, 1), 6)
        picked = [spec[0]] + sorted(r.sample(spec[1:], n_fields - 1), key=spec.index)
        fields = [f for f, _ in picked]
        rows = [{f: gen(r) for f, gen in picked} for _ in range(n_rows)]
        if len({text_of(x[fields[0]]) for x in rows}) < n_rows:
            return None  # the first field names each record
        target = r.choice(FORMATS)
        layout = _layout(r, target, n_rows * n_fields)
        expected = render(rows, fields, target, layout)
        extra: dict[str, Any] = {}
        inp: dict[str, Any] = {
            "fields": fields,
            "records": rows,
            "format": target,
            "layout": layout,
        }
        if mode == "convert":
            source = r.choice([f for f in FORMATS if f != target])
            src_layout = _layout(r, source, n_rows * n_fields)
            source_text = render(rows, fields, source, src_layout)
            extra = {
                "source_format": source,
                "source_layout": src_layout,
                "source_text": source_text,
                "source_lang": FENCE_LANG[source],
            }
            inp = {
                "source_format": source,
                "source": source_text,
                "format": target,
                "layout": layout,
            }
        return make_draw(
            ctx,
            f"format.{mode}.{target}",
            inp,
            expected,
            probe_kind=f"format.{target}",
            entity=entity,
            schema=schema,
            fields=fields,
            records=[[[f, text_of(x[f])] for f in fields] for x in rows],
            target=target,
            layout=layout,
            fence=FENCE_LANG[target],
            typed=[f for f in fields if not isinstance(rows[0][f], str)],
            **extra,
        )

    return retry(ctx, make)
