"""How a user's world's labels are said: the English and Russian wording of a property,
relation or attribute whose form the world gives (`World.forms`, synth.world.forms).

The phrase banks of `en.py` and `ru.py` were written for the fictional world, whose
properties are adjectives ("every wumpus is venomous", "no wumpus is shy"). A user's
property may be a verb ("swims") or a noun ("a swimmer"); those frames would make
"every penguin is swims". So the wording asks here first: `plain` gives the words of
properties that are all adjectives (the banks say them, exactly as before), and for any
other the functions below say them with their own verb: "every penguin swims", "no
penguin flies", "penguins do not fly", "Does Pingu swim?". A relation of a user's world
is said with its verb ("Tweety is fed by Ada"), asked about with it ("Which keeper is
Tweety fed by?"), and negated with it ("does not feed").

Russian forms are declared by the world's author: a property's Russian name is an
adjective (which the banks decline as they do the fictional ones), a noun, or a verb in
the third person ("плавает": "не плавает", "все пингвины плавают", "Плавает ли
Пингу?"); a relation's is a predicate with its object's slot and case ("кормит
{o:accs}", "находится в {o:loct}", "— сосед {o:gent}"), or words the case is inferred
for (a trailing preposition governs its usual case, a verb takes the accusative, a noun
the genitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from synth.english import article, join_and, plural, verb_base

COPULA = ("is", "are")
MODALS = ("can", "cannot", "could", "will", "would", "must", "may", "might", "should", "shall")
ADVERBS = ("never", "always", "not", "also", "often", "usually")


# -- English -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pred:
    """A property said of one subject or of many, holding or not: "swims" / "does not
    swim" / "swim" / "do not swim"; `comp` is what follows "is" for an adjective or a
    noun ("easy to spot", "a swimmer"), "" for a verb."""

    pos: str  # adj | noun | verb
    sing: str
    sing_not: str
    plur: str
    plur_not: str
    comp: str

    def said(self, holds: bool = True, many: bool = False) -> str:
        return (
            (self.plur if holds else self.plur_not)
            if many
            else (self.sing if holds else self.sing_not)
        )


def plural_pred(pred: str) -> str:
    """A predicate of one, said of many: "swims" → "swim", "is a swimmer" → "are
    swimmers", "does not fly" → "do not fly", "can fly" → "can fly"."""
    head, _, rest = pred.partition(" ")
    low = head.lower()
    if low in ADVERBS and rest:
        return f"{head} {plural_pred(rest)}"
    if low == "is":
        words = rest.split(" ")
        if words[0] == "not" and len(words) > 1:
            return "are not " + _plural_comp(" ".join(words[1:]))
        return "are " + _plural_comp(rest)
    if low in MODALS or low in ("are", "cannot"):
        return pred
    base = verb_base(head)
    return f"{base} {rest}".strip()


def _plural_comp(comp: str) -> str:
    """ "a swimmer" → "swimmers"; an adjective stays."""
    words = comp.split(" ")
    if words[0] in ("a", "an") and len(words) > 1:
        return " ".join(words[1:-1] + [plural(words[-1])])
    return comp


@lru_cache(maxsize=4096)
def _pred(sing: str, sing_not: str) -> Pred:
    head, _, rest = sing.partition(" ")
    if head == "is" and rest:
        pos = "noun" if rest.split(" ")[0] in ("a", "an", "the") else "adj"
        comp = rest
    else:
        pos, comp = "verb", ""
    return Pred(pos, sing, sing_not, plural_pred(sing), plural_pred(sing_not), comp)


def pred(world: Any, prop: str) -> Pred:
    """How a property reads (an adjective as it is written when the world says nothing)."""
    form = world.form(prop) if world is not None else {}
    if "en" not in form:
        return _pred(f"is {prop}", f"is not {prop}")
    return _pred(form["en"], form.get("en_not") or f"is not {form['en'][3:]}")


def plain(world: Any, props: list[str]) -> list[str] | None:
    """The words of these properties if every one is an adjective ("easy_to_spot" →
    "easy to spot"), for the phrase banks; None if one is a verb or a noun."""
    if world is None or not getattr(world, "forms", None):
        return props
    out = []
    for p in props:
        pr = pred(world, p)
        if pr.pos != "adj":
            return None
        out.append(pr.comp)
    return out


def properties(world: Any, rel: str, props: list[str]) -> str:
    """Properties said of one subject with their own verbs: "swims and is feathered",
    "does not fly and is not patient"."""
    preds = [pred(world, p) for p in props]
    holds = rel == "is"
    adjs = [p.comp for p in preds if p.pos == "adj"]
    parts = []
    if adjs:
        parts.append(("is " if holds else "is not ") + join_and(adjs, "and" if holds else "or"))
    parts += [p.said(holds) for p in preds if p.pos != "adj"]
    if len(parts) > 1 and any(" and " in x or " or " in x for x in parts):
        return ", ".join(parts[:-1]) + ", and " + parts[-1]
    return join_and(parts)


def first_person(world: Any, pred: str) -> str:
    """A predicate its subject says, for what follows its first verb: "am feathered and
    swims" → "am feathered and swim" (the head is made first person by the caller)."""
    if world is None or not getattr(world, "forms", None):
        return pred

    def mine(third: str) -> str:
        head, _, rest = third.partition(" ")
        return f"am {rest}" if head == "is" else plural_pred(third)

    props = [f for f in world.forms.values() if f.get("role") == "property"]
    verbs = {f["en"]: mine(f["en"]) for f in props if _pred(f["en"], "").pos == "verb"}
    nots = {f["en_not"]: mine(f["en_not"]) for f in props if f.get("en_not")}
    out = pred
    for table in (nots, verbs):
        for third, first in sorted(table.items(), key=lambda kv: -len(kv[0])):
            joint = rf"(\band|\bor|\bbut|,)(\s+)(also\s+)?{re.escape(third)}\b"
            out = re.sub(
                joint, lambda m, f=first: m.group(1) + m.group(2) + (m.group(3) or "") + f, out
            )
    return re.sub(r"(\band|,) is\b", r"\1 am", out)


def kind_clause(say: Any, kind: str, rel: str, prop: str) -> str:
    """A kind's property with its verb: "every penguin swims", "no penguin flies"."""
    p = pred(say.world, prop)
    k = say.name(kind)
    ks = plural(k)
    if rel == "is":
        return say.pick(f"every {k} {p.sing}", f"all {ks} {p.plur}", f"{ks} {p.plur}",
                        f"each {k} {p.sing}")  # fmt: skip
    return say.pick(f"no {k} {p.sing}", f"{ks} {p.plur_not}", f"not a single {k} {p.sing}",
                    f"none of the {ks} {p.plur}")  # fmt: skip


def kind_paragraph(say: Any, k: str, yes: list[str], no: list[str]) -> str:
    """What a kind's members are and are not, with each property's verb."""
    w, name = say.world, say.name(k)
    ys = join_and([pred(w, p).sing for p in yes])
    ns = join_and([pred(w, p).sing for p in no], "or")
    if yes and no:
        they = join_and([pred(w, p).plur_not for p in no])
        return say.pick(f"Every {name} {ys}, and no {name} {ns}.",
                        f"{plural(name).capitalize()} {join_and([pred(w, p).plur for p in yes])}; "
                        f"they {they}.")  # fmt: skip
    if yes:
        return f"Every {name} {ys}."
    return f"No {name} {ns}."


def ask(say: Any, subject: str, prop: str) -> str:
    """A yes-or-no question whether a property holds: "Does Pingu swim?", "Is Pingu
    easy to spot?", "Can Pingu fly?"."""
    p = pred(say.world, prop)
    s = say.name(subject)
    head, _, rest = p.sing.partition(" ")
    if head.lower() in COPULA or head.lower() in MODALS:
        return f"{head.capitalize()} {s} {rest}?"
    return f"Does {s} {plural_pred(p.sing)}?"


def gap(say: Any, prop: str, holds: bool) -> tuple[str, str]:
    """(what stays before the gap, what fills it) for a property left out of a sentence:
    ("", "swims"), ("does not", "fly"), ("is", "a swimmer")."""
    p = pred(say.world, prop)
    said = p.said(holds)
    if p.pos != "verb":
        return ("is" if holds else "is not"), p.comp
    if holds:
        return "", said
    m = re.match(
        r"^(does not|do not|cannot|will not|must not|may not|should not|never)\s+(.*)$", said
    )
    return (m.group(1), m.group(2)) if m else ("", said)


def relation(world: Any, r: str) -> str | None:
    """A user relation's English predicate ("is fed by"), negated for `not:<r>`; None
    for a relation the world gives no form for."""
    neg = r.startswith("not:")
    form = world.form(r[4:] if neg else r) if world is not None else {}
    if "en" not in form:
        return None
    text = form["en"]
    if not neg:
        return text
    if form.get("role") == "attribute":
        return f"not {text}"
    from synth.world.forms import negate_verb

    return negate_verb(text)


def ask_relation(say: Any, fact: tuple[str, str, str]) -> str | None:
    """A question whose answer is a relation's object, with the relation's verb:
    "Which keeper is Tweety fed by?", "Which penguin does Ada feed?"."""
    s, r, o = fact
    text = relation(say.world, r)
    if text is None or say.world.form(r).get("role") != "relation":
        return None
    e = say.world.entity_by_id.get(o)
    what = f"which {say.name(e.kind)}" if e is not None else "what"
    name = say.name(s)
    head, _, rest = text.partition(" ")
    if head == "has" and rest.startswith("the "):
        return say.pick(f"{what.capitalize()} is {rest} of {name}?", f"Name {rest} of {name}.")
    if head.lower() in COPULA or head.lower() in MODALS:
        q = f"{what.capitalize()} {head} {name} {rest}?"
    else:
        q = f"{what.capitalize()} does {name} {plural_pred(text)}?"
    if e is None:
        return q
    k = say.name(e.kind)
    return say.pick(q, f"Name {article(k)} {k} that {name} {text}.")


# -- Russian -----------------------------------------------------------------------------

# The case a trailing preposition governs in a relation's Russian form.
PREP_CASE = {
    "в": "loct", "во": "loct", "на": "loct", "о": "loct", "об": "loct", "при": "loct",
    "у": "gent", "от": "gent", "из": "gent", "до": "gent", "для": "gent", "без": "gent",
    "около": "gent", "возле": "gent", "среди": "gent", "после": "gent", "вокруг": "gent",
    "с": "ablt", "со": "ablt", "над": "ablt", "под": "ablt", "перед": "ablt", "за": "ablt",
    "между": "ablt", "к": "datv", "ко": "datv", "по": "datv",
}  # fmt: skip
# Prepositions whose vowel the wording supplies ("во Вролморе"): the slot syntax of ru.py.
SLOT_PREPS = ("в", "во", "с", "со", "к", "ко", "о", "об", "из", "у")


def ru_is_verb(text: str) -> bool:
    """Whether a Russian form is a verb phrase ("плавает", "умеет летать")."""
    from synth.russian import grammar

    return grammar.is_verb_phrase(text)


def ru_verb(text: str, number: str = "sing", person: str = "3per") -> str:
    """A verb phrase with its verb in another number or person: "плавает" → "плавают"
    (many), "плаваю" (said by its subject)."""
    from synth.russian import grammar

    return grammar.verb_phrase(text, number, person)


def ru_property(world: Any, names: dict[str, str], prop: str) -> str | None:
    """A property's Russian form when it is a verb phrase, else None (an adjective or
    a noun, which the banks say)."""
    text = names.get(prop)
    if text is None or world is None or world.form(prop).get("role") != "property":
        return None
    return text if ru_is_verb(text) else None


def ru_said(names: dict[str, str], prop: str, verb: str, holds: bool, number: str = "sing") -> str:
    """A verb property said: "плавает", "не летает", "плавают"."""
    text = verb if holds else names.get("not:" + prop) or "не " + verb
    return text if number == "sing" else ru_verb(text, "plur")


@lru_cache(maxsize=4096)
def ru_relation_pattern(text: str) -> str:
    """A relation's Russian form as a pattern of ru.py's slots: its object's slot as
    written ("кормит {o:accs}"), or the one its words imply: a trailing preposition
    governs its usual case ("находится в" → "находится {в o:loct}"), a verb takes the
    accusative ("кормит" → "кормит {o:accs}"), a noun the genitive ("сосед" → "— сосед
    {o:gent}")."""
    # "{от o:gent}" → "от {o:gent}" (the slot syntax of ru.py knows a few prepositions)
    text = re.sub(
        r"\{(\w+) o(:[^}]*)?\}", lambda m: f"{m.group(1)} {{o{m.group(2) or ''}}}", text.strip()
    )
    if not _SLOT.search(text):
        words = text.split(" ")
        last = words[-1].lower()
        if last in PREP_CASE:
            text = f"{text} {{o:{PREP_CASE[last]}}}"
        elif ru_is_verb(text) or text.startswith("—"):
            text = f"{text} {{o:accs}}" if not text.startswith("—") else f"{text} {{o:gent}}"
        else:
            text = f"— {text} {{o:gent}}"
    # "в {o:loct}" → "{в o:loct}": the slot takes the preposition's vowel where Russian
    # does ("во Вролморе")
    return re.sub(r"(?<![\w-])(" + "|".join(SLOT_PREPS) + r") \{o", r"{\1 o", text)


def ru_relation(world: Any, r: str) -> str | None:
    """A user relation's Russian pattern, None without one."""
    form = world.form(r) if world is not None else {}
    if form.get("role") != "relation" or not form.get("ru"):
        return None
    return ru_relation_pattern(form["ru"])


_SLOT = re.compile(r"\{(?:(\w+) )?o(?::([^}]*))?\}")


def ru_ask_relation(say: Any, fact: tuple[str, str, str]) -> str | None:
    """A question whose answer is a relation's object: "Какого пингвина кормит Ада?",
    "В каком месте находится Северное крыло?"."""
    from synth.russian import grammar, morph

    s, r, o = fact
    pattern = ru_relation(say.world, r)
    e = say.world.entity_by_id.get(o) if pattern else None
    if pattern is None or e is None:
        return None
    m = _SLOT.search(pattern)
    if m is None:
        return None
    prep, spec = m.group(1), (m.group(2) or "nomn").split(":")
    case = next((x for x in spec if x in morph.CASES), "nomn")
    before, after = pattern[: m.start()].rstrip(), pattern[m.end() :]
    head, _, last = before.rpartition(" ")
    if prep is None and last in PREP_CASE:  # "получает корм от {o:gent}": "от" opens the question
        prep, before = last, head
    kind = e.kind
    which = morph.adjective(
        "какой", grammar.gender(kind, say.names), "sing", case, grammar.animate(kind, say.names)
    )
    noun = f"{which} {say.ru(kind, case)}"
    if prep:
        noun = morph.prep(noun, prep)
    rest = f"{before} {after}".strip().removeprefix("—").strip()
    rest = re.sub(r"\s+", " ", say._fill(rest, s))
    q = f"{noun} {rest} {say.name(s)}?".replace(" ,", ",")
    return q[:1].upper() + q[1:]


def ru_properties(say: Any, subj: str, rel: str, props: list[str]) -> str:
    """Properties said of one subject when a verb is among them: "пернат и плавает",
    "не пернат и не летает"."""
    holds = rel == "is"
    verbs = {p: ru_property(say.world, say.names, p) for p in props}
    others = [p for p in props if not verbs[p]]
    words = say._adjs(subj, others)[0] if others else []
    said = [ru_said(say.names, p, v, holds) for p, v in verbs.items() if v]
    if holds:
        return join_and(words + said, "и")
    return join_and(["не " + w for w in words] + said, "и")


def ru_kind_clause(say: Any, kind: str, rel: str, prop: str, verb: str) -> str:
    """A kind's property that is a verb: "каждый пингвин плавает", "ни один пингвин не
    летает", "пингвины не летают"."""
    holds = rel == "is"
    one = ru_said(say.names, prop, verb, holds)
    many = ru_said(say.names, prop, verb, holds, "plur")
    k_pl = say.ru(kind, "nomn", "plur")
    if holds:
        return say.pick(f"{say._every(kind)} {one}", f"все {k_pl} {many}", f"{k_pl} {many}")
    return say.pick(f"{say._every(kind, 'ни один')} {one}", f"{k_pl} {many}",
                    f"{k_pl} никогда {many}")  # fmt: skip


def ru_whatever(say: Any, p1: str, p2: str, p3: str) -> str | None:
    """A rule over three properties when one is a verb: "всякий, кто плавает и пернат,
    также холодоустойчив"; None when all three are adjectives (the banks say it)."""
    from synth.russian import grammar

    if not any(ru_property(say.world, say.names, p) for p in (p1, p2, p3)):
        return None

    def said(p: str, g: str) -> str:
        verb = ru_property(say.world, say.names, p)
        if verb:
            return verb
        return grammar.pred(p, g, say.names).removeprefix("— ")

    a, b, c = (said(p, "masc") for p in (p1, p2, p3))
    an, bn, cn = (said(p, "neut") for p in (p1, p2, p3))
    return say.pick(f"всякий, кто {a} и {b}, также {c}",
                    f"если существо {an} и {bn}, то оно и {cn}")  # fmt: skip


def ru_gap(say: Any, prop: str, holds: bool) -> tuple[str, str] | None:
    """(what stays before the gap, what fills it) for a verb property left out of a
    sentence: ("", "плавает"), ("не", "летает"); None for an adjective or a noun."""
    verb = ru_property(say.world, say.names, prop)
    if not verb:
        return None
    said = ru_said(say.names, prop, verb, holds)
    if said.startswith("не "):
        return "не", said[3:]
    return "", said


def ru_generic(say: Any, r: str, o: str, s: str | None = None) -> str | None:
    """A user relation said with its Russian form ("кормит Пингу"); `not:<r>` negated
    ("не кормит Пингу"); None without a form."""
    neg = r.startswith("not:")
    pattern = ru_relation(say.world, r[4:] if neg else r)
    if pattern is None:
        return None
    text = say._fill(pattern, s or "X", o=o)
    if neg:
        text = "не " + text.removeprefix("— ")
    return text


def ru_label(world: Any, r: str) -> str | None:
    """A user relation's Russian words on their own ("кормит"), None without a form."""
    pattern = ru_relation(world, r)
    if pattern is None:
        return None
    text = _SLOT.sub(lambda m: m.group(1) or "", pattern)
    return re.sub(r"\s+", " ", text).strip(" —")


def ru_mine(say: Any, pred: str) -> str:
    """A predicate its subject says, for the verbs of the world's own forms:
    "плавает" → "плаваю", "кормит Пингу" → "кормлю Пингу"."""
    world = say.world
    if world is None or not getattr(world, "forms", None):
        return pred
    verbs = _ru_verbs(tuple(sorted((k, f.get("ru", "")) for k, f in world.forms.items())))
    if not verbs:
        return pred
    return " ".join(verbs.get(w, w) for w in pred.split(" "))


@lru_cache(maxsize=256)
def _ru_verbs(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The present-tense verbs of a world's Russian forms, with their first person."""
    from synth.russian import morph

    out = {}
    for _, text in items:
        for w in re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text).split():
            if morph.is_verb(w):
                out[w] = morph.verb(w, "sing", "1per")
    return out


# -- what a language needs ------------------------------------------------------------


def missing(world: Any, lang: str) -> list[tuple[str, str]]:
    """(label, role) of a user world's labels that `lang` cannot say: Russian forms are
    declared, never guessed from English (a transliterated "свимс" is not Russian);
    English ones are always inferred. Labels the phrase banks know need none."""
    if lang != "ru" or world is None or not world.source:
        return []
    from synth.russian.names import role_of
    from synth.wording.ru import FORWARD

    names = world.names.get("ru", {})
    out = []
    for label, form in world.forms.items():
        role = form.get("role")
        if form.get("ru") or names.get(label) or (role != "property" and label in FORWARD):
            continue
        if role == "property" and role_of(label) == "adj":
            continue
        out.append((label, role))
    return out


def check(world: Any, langs: Any) -> None:
    """Refuse a run in a language the world's labels cannot be said in, naming the first
    label and how to give its form."""
    from synth.errors import UserError

    for lang in langs:
        gaps = missing(world, lang)
        if not gaps:
            continue
        label, role = gaps[0]
        rdf = not str(world.source).lower().endswith((".yaml", ".yml"))
        if rdf:
            how = f'an rdfs:label "..."@{lang}'
        elif role == "property":
            how = f"'properties: {{{label}: {{{lang}: ..., {lang}_not: ...}}}}'"
        elif role == "relation":
            how = f"'{lang}:' under 'relations: {label}:'"
        else:
            how = f"'names: {{{lang}: {{{label}: ...}}}}'"
        more = (
            f" (and {len(gaps) - 1} more: {', '.join(g[0] for g in gaps[1:4])}{', ...' if len(gaps) > 4 else ''})"
            if len(gaps) > 1
            else ""
        )
        raise UserError(
            f"{world.source}: {role} {label!r} has no {lang} form{more}; a {lang} corpus needs"
            f" one for every label: give it {how} (see docs/worlds.md)"
        )
