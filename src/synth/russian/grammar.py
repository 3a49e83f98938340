"""Russian as text: an id's name inflected, numbers with the noun they govern,
adjectives and predicates that agree with their subject, relations as clauses.

Everything here reads the tables and names of `synth.russian.names` and declines with
`synth.russian.morph`; templates reach it through the filters of
`synth.russian.filters`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from synth.russian import morph
from synth.russian.names import (
    MORPH_ROLE,
    RELATIONS_RU,
    SHORT_OK,
    STATES_RU,
    role_of,
    surface_ru,
)
from synth.vocab import CHAINS, SYMMETRIC


@lru_cache(maxsize=1)
def english_relation_forms() -> dict[str, str]:
    """The logic families' English relation forms (with or without the `{s} ` subject)
    -> relation id, so a Russian template can read a rule view's forms as ids."""
    out: dict[str, str] = {}
    pairs = [p for chains in CHAINS.values() for chain in chains for p in chain]
    pairs += [p for syms in SYMMETRIC.values() for p in syms]
    for rid, forms in pairs:
        for f in forms:
            out[f] = rid
            out[f.replace("{s} ", "", 1)] = rid
    return out


def relation_id(form: str) -> str:
    return form if form in RELATIONS_RU else english_relation_forms().get(form, form)


def lookup(ident: str, names: dict[str, str]) -> tuple[str, str]:
    """(Russian nominative, role) of an id: the world's name if it has one, else the
    name derived from the id."""
    ident = str(ident)
    return names.get(ident) or surface_ru(ident), role_of(ident)


def morph_role(ident: str, role: str, names: dict[str, str]) -> str:
    """How `synth.russian.morph` declines an id's name: generated names by rule; a name the
    world's author wrote (world.names differs from the derived one) by the dictionary
    where it knows the words ("лев" → "льва"), by rule where it does not."""
    authored = ident in names and names[ident] != surface_ru(ident)
    if authored:
        text = names[ident]
        if re.fullmatch(r"[А-ЯЁ]\w*[оуюиеэ]", text):
            return "fixed"  # a foreign name in -у, -и, -о, ... does not decline: Пингу, Твити
        if all(w[:1].isupper() for w in text.split(" ")):  # a name: "Том", "Старая Марен"
            return "named" if role in ("name", "person", "place", "kind") else ""
        return ""  # a phrase ("Северное крыло") or a word ("пингвин"): the dictionary's
    return MORPH_ROLE.get(role, "")


def ru(ident: str, names: dict[str, str], case: str = "nomn", number: str = "sing") -> str:
    """The Russian name of an id in a case and number."""
    text, role = lookup(ident, names)
    if role == "var":
        return text
    mrole = morph_role(str(ident), role, names)
    if role == "adj" or (mrole == "" and role != "ru" and morph.is_adjective(text)):
        return morph.adjective(text, "masc", number, case)
    if role == "state":
        return state_pred(ident, "masc", number=number)
    return morph.inflect(text, case, number, mrole)


def count(n: int, ident: str, names: dict[str, str], case: str = "nomn") -> str:
    """ "n noun" in agreement: (5, "wumpus") → "5 вумпусов"."""
    text, role = lookup(ident, names)
    return morph.agree(int(n), text, case, morph_role(str(ident), role, names))


def gender(ident: str, names: dict[str, str]) -> str:
    """masc | femn | neut: what a predicate about the id agrees with."""
    text, role = lookup(ident, names)
    if role in ("var", "adj", "state"):
        return "masc"
    return morph.gender_of(text, morph_role(str(ident), role, names))


def animate(ident: str, names: dict[str, str]) -> bool:
    text, role = lookup(ident, names)
    if role in ("kind", "name", "person", "var"):
        return True
    return role in ("noun", "ru") and morph.real_anim(text.split(" ")[-1])


def adj(
    prop: str,
    noun: str | None,
    names: dict[str, str],
    case: str = "nomn",
    number: str = "sing",
    short: bool = False,
) -> str:
    """A property or colour as an adjective agreeing with `noun` (an id; None:
    masculine): ("venomous", "Grima Vonglerane") → "ядовитая"."""
    text, _ = lookup(prop, names)
    short = short and has_short(prop)
    if noun in morph.GENDERS or noun is None:  # a gender given outright
        g, anim = noun or "masc", False
    else:
        g, anim = gender(noun, names), animate(noun, names)
    return morph.adjective(text, g, number, case, anim, short)


def state_pred(state: str, g: str, number: str = "sing", neg: bool = False) -> str:
    """A state of an object as a predicate agreeing in gender: "open" → "открыта"."""
    kind, *forms = STATES_RU[state]
    if kind == "verb":
        text = forms[1] if number == "plur" else forms[0]
    elif kind == "short":
        text = forms[3] if number == "plur" else forms[("masc", "femn", "neut").index(g)]
    else:
        text = morph.adjective(forms[0], g, number)
    return ("не " if neg else "") + text


def pred(
    prop: str,
    subject: str,
    names: dict[str, str],
    neg: bool = False,
    number: str = "sing",
    short: bool = False,
) -> str:
    """What is said of a subject: a state ("горит", "открыта"), a property
    ("ядовитая"), or any other id as a predicate noun ("— вумпус"); negated with "не"."""
    if prop in STATES_RU:
        return state_pred(prop, gender(subject, names), number, neg)
    text, role = lookup(prop, names)
    if role != "adj" and is_verb_phrase(text):  # a user world's verb: "плавает", "не летает"
        said = (names.get("not:" + prop) or "не " + text) if neg else text
        return verb_phrase(said, number)
    if role != "adj" and not morph.is_adjective(text):  # a predicate noun: "— вумпус"
        return ("не " if neg else "— ") + ru(prop, names)
    g = gender(subject, names)
    short = short and has_short(prop)
    return ("не " if neg else "") + morph.adjective(text, g, number, "nomn", short=short)


def is_verb_phrase(text: str) -> bool:
    """Whether a Russian form is a verb phrase in the present tense ("плавает", "умеет
    летать"), as a user world's property may be."""
    head = text.removeprefix("не ").split(" ")[0]
    return bool(head) and morph.is_verb(head)


def verb_phrase(text: str, number: str = "sing", person: str = "3per") -> str:
    """A verb phrase with its verb in a number and person: "плавает" → "плавают"
    (plural), "плаваю" (first person); "не" stays before it."""
    if number == "sing" and person == "3per":
        return text
    head, _, rest = text.partition(" ")
    if head == "не" and rest:
        return "не " + verb_phrase(rest, number, person)
    return f"{morph.verb(head, number, person)} {rest}".strip()


def has_short(prop: str) -> bool:
    """Whether a property reads well in the short form (see SHORT_OK)."""
    return prop in SHORT_OK


_SLOT = re.compile(r"(?:\b([свко]) )?\{(s|o)(?::(\w+))?\}|\[([^|\]]*)\|([^\]]*)\]")


def rel(rel_id: str, s: str, o: str, names: dict[str, str], neg: bool = False) -> str:
    """A relation between two ids as a Russian clause: ("ancestor_of", a, b) →
    "Грима Вонглерова — предок Бриса Тамова"; neg: its negation."""
    rid = relation_id(rel_id)
    pos, negf = RELATIONS_RU.get(rid, ("{s} " + rid.replace("_", " ") + " {o}", None))
    pattern = (negf or "неверно, что " + pos) if neg else pos
    g = gender(s, names)

    def fill(m: re.Match) -> str:
        p, slot, case, masc, femn = m.groups()
        if slot is None:
            return masc if g != "femn" else femn
        word = ru(s if slot == "s" else o, names, case or "nomn")
        return morph.prep(word, p) if p else word

    return _SLOT.sub(fill, pattern)
