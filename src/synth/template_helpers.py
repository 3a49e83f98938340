"""What a template can call. Random choices draw from the item's own generator, so a
template's phrasing is as reproducible as its facts."""

from __future__ import annotations

import random
from typing import Any

from jinja2 import pass_context

from synth import morph
from synth.world import names_ru
from synth.world.names import article, plural


def join_and(items: list[Any], conj: str = "and") -> str:
    items = [str(x) for x in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def with_article(word: str) -> str:
    return f"{article(word)} {word}"


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


FILTERS = {"plural": plural, "a": with_article, "join_and": join_and, "cap": cap}


# -- Russian: names and morphology (docs/russian.md) ------------------------------------
# The filters read the world's Russian names from the render variable `names`
# (world.names["ru"]); an id missing there (no world, as in the structural tier) gets
# the name derived from the id itself, so `names` is optional.


def _names(ctx: Any) -> dict[str, str]:
    names = ctx.get("names")
    return names if isinstance(names, dict) else {}


@pass_context
def ru(ctx: Any, ident: Any, case: str = "nomn", number: str = "sing") -> str:
    """{{ kind | ru("gent", "plur") }} → "вумпусов": an id's Russian name, inflected."""
    return names_ru.ru(str(ident), _names(ctx), case, number)


@pass_context
def ru_agree(ctx: Any, n: int, ident: Any, case: str = "nomn") -> str:
    """{{ 5 | agree(kind) }} → "5 вумпусов": a number with the noun it governs."""
    return names_ru.count(int(n), str(ident), _names(ctx), case)


@pass_context
def ru_adj(
    ctx: Any,
    prop: Any,
    noun: Any = None,
    case: str = "nomn",
    number: str = "sing",
    short: bool = False,
) -> str:
    """{{ prop | ru_adj(e.name) }} → "ядовитая": an adjective agreeing with a noun id
    (or with a gender given outright: "masc", "femn", "neut")."""
    return names_ru.adj(
        str(prop), None if noun is None else str(noun), _names(ctx), case, number, short
    )


@pass_context
def ru_pred(
    ctx: Any, prop: Any, subject: Any, neg: bool = False, number: str = "sing", short: bool = False
) -> str:
    """{{ state | ru_pred(thing, neg) }} → "не открыта": a property or state said of a subject."""
    return names_ru.pred(str(prop), str(subject), _names(ctx), bool(neg), number, short)


@pass_context
def ru_rel(ctx: Any, rel: Any, s: Any, o: Any, neg: bool = False) -> str:
    """{{ r | ru_rel(s, o) }} → "Грима — предок Бриса": a relation as a clause (r: an id
    or a logic family's English form)."""
    return names_ru.rel(str(rel), str(s), str(o), _names(ctx), bool(neg))


@pass_context
def by_gender(ctx: Any, ident: Any, masc: str, femn: str, neut: str | None = None) -> str:
    """{{ e.name | by_gender("жил", "жила") }}: the word that agrees with the id's gender."""
    g = names_ru.gender(str(ident), _names(ctx))
    return femn if g == "femn" else (neut if g == "neut" and neut is not None else masc)


FILTERS.update(
    {
        "ru": ru,
        "agree": ru_agree,
        "ru_adj": ru_adj,
        "ru_pred": ru_pred,
        "ru_rel": ru_rel,
        "by_gender": by_gender,
        "rel_id": names_ru.relation_id,
        "has_short": names_ru.has_short,
        "prep": morph.prep,
    }
)


def item_globals(rng: random.Random) -> dict[str, Any]:
    def pick(*options: Any) -> Any:
        seq = options[0] if len(options) == 1 and isinstance(options[0], (list, tuple)) else options
        return rng.choice(seq)  # the same draw as seq[rng.randrange(len(seq))], cheaper

    def shuffle(seq: Any) -> list:
        out = list(seq)
        rng.shuffle(out)
        return out

    def chance(p: float) -> bool:
        return rng.random() < p

    def randint(a: int, b: int) -> int:
        return rng.randint(a, b)

    def sample(seq: Any, k: int) -> list:
        seq = list(seq)
        return rng.sample(seq, min(k, len(seq)))

    return {
        "pick": pick,
        "shuffle": shuffle,
        "chance": chance,
        "randint": randint,
        "sample": sample,
    }
