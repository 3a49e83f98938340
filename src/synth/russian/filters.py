"""The Jinja filters Russian templates use (docs/russian.md): an id's Russian name in a
case and number, numbers with their noun, adjectives and predicates that agree, relations
as clauses. They read the world's Russian names from the render variable `names`
(world.names["ru"]); an id missing there (no world, as in the structural tier) gets the
name derived from the id itself, so `names` is optional.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context

from synth.russian import grammar, morph


def _names(ctx: Any) -> dict[str, str]:
    names = ctx.get("names")
    return names if isinstance(names, dict) else {}


@pass_context
def ru(ctx: Any, ident: Any, case: str = "nomn", number: str = "sing") -> str:
    """{{ kind | ru("gent", "plur") }} → "вумпусов": an id's Russian name, inflected."""
    return grammar.ru(str(ident), _names(ctx), case, number)


@pass_context
def ru_agree(ctx: Any, n: int, ident: Any, case: str = "nomn") -> str:
    """{{ 5 | agree(kind) }} → "5 вумпусов": a number with the noun it governs."""
    return grammar.count(int(n), str(ident), _names(ctx), case)


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
    return grammar.adj(
        str(prop), None if noun is None else str(noun), _names(ctx), case, number, short
    )


@pass_context
def ru_pred(
    ctx: Any, prop: Any, subject: Any, neg: bool = False, number: str = "sing", short: bool = False
) -> str:
    """{{ state | ru_pred(thing, neg) }} → "не открыта": a property or state said of a subject."""
    return grammar.pred(str(prop), str(subject), _names(ctx), bool(neg), number, short)


@pass_context
def ru_rel(ctx: Any, rel: Any, s: Any, o: Any, neg: bool = False) -> str:
    """{{ r | ru_rel(s, o) }} → "Грима — предок Бриса": a relation as a clause (r: an id
    or a logic family's English form)."""
    return grammar.rel(str(rel), str(s), str(o), _names(ctx), bool(neg))


@pass_context
def by_gender(ctx: Any, ident: Any, masc: str, femn: str, neut: str | None = None) -> str:
    """{{ e.name | by_gender("жил", "жила") }}: the word that agrees with the id's gender."""
    g = grammar.gender(str(ident), _names(ctx))
    return femn if g == "femn" else (neut if g == "neut" and neut is not None else masc)


FILTERS: dict[str, Any] = {
    "ru": ru,
    "agree": ru_agree,
    "ru_adj": ru_adj,
    "ru_pred": ru_pred,
    "ru_rel": ru_rel,
    "by_gender": by_gender,
    "rel_id": grammar.relation_id,
    "has_short": grammar.has_short,
    "prep": morph.prep,
}
