"""How a user's world reads: the surface form of each property, relation and attribute
label, so that its text is grammatical whatever its ids look like.

A fictional world's labels are words chosen to fit the wording's phrase banks
(properties are adjectives: "venomous"; relations and attributes have banks of their
own). A user's labels are identifiers written for a machine: `swims` is a verb, not an
adjective ("Pingu is swims"), `fed_by` drops its verb ("Tweety fed by Ada"),
`easy_to_spot` and `locatedIn` are not words at all. So every label of a user's world
gets a surface form when the world is loaded, declared or inferred, in `World.forms`:

    forms[label] = {"role": "property", "en": "swims", "en_not": "does not swim",
                    "ru": "плавает", "ru_not": "не плавает"}
    forms[label] = {"role": "relation", "en": "is fed by", "ru": "получает корм от {o:gent}"}
    forms[label] = {"role": "attribute", "en": "nickname", "ru": "прозвище"}

English forms are what follows the subject: a property's predicate when it holds and
when it does not (an adjective "is easy to spot", a verb phrase "swims", a noun "is a
swimmer"), a relation's predicate before its object, an attribute's noun. Undeclared
ones are inferred from the label: the identifier is split into words ("easy_to_spot" →
"easy to spot", "locatedIn" → "located in"), a property whose first word is a verb in
the third person is a verb phrase and anything else an adjective; a relation keeps a
verb it has ("feeds", "lives in", "is part of"), and one without gets "is" (and an
article before a noun: "neighbour of" → "is a neighbour of", "fed by" → "is fed by").
A label that is not words even then (`p_2`, `P31`) is refused when the world is loaded,
with the label named: it cannot be said, so it has to be declared.

Russian forms are not guessed from English: a Russian run over a user's world needs
them declared (see `synth.wording.forms`, which words them, and docs/worlds.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from synth.english import article, humanise, is_third_person, is_words
from synth.errors import UserError

PROPERTY_KEYS = ("en", "en_not", "ru", "ru_not")
RELATION_FORM_KEYS = ("en", "ru")
COPULA = ("is", "are")
MODALS = ("can", "cannot", "could", "will", "would", "must", "may", "might", "should", "shall")
PREPOSITIONS = {
    "of", "in", "by", "to", "with", "from", "than", "on", "at", "for", "into", "onto", "near",
    "under", "over", "above", "below", "behind", "beside", "within", "about", "across", "along",
    "around", "after", "before", "through", "towards", "toward", "upon", "against", "among",
    "between", "beyond", "inside", "outside", "like", "as",
}  # fmt: skip
# Words before a preposition that take no article: adjectives and adverbs ("next to",
# "part of", "north of"), and irregular participles ("fed by", "born in").
NO_ARTICLE = {
    "part", "next", "close", "near", "adjacent", "similar", "equal", "related", "opposite",
    "prior", "north", "south", "east", "west", "inside", "outside", "ahead", "full", "fond",
    "aware", "afraid", "proud", "capable", "independent", "different", "distinct", "native",
    "free", "akin", "kin", "responsible", "dependent", "upstream", "downstream", "home",
    "fed", "born", "held", "made", "built", "known", "kept", "led", "run", "seen", "taken",
    "given", "shown", "found", "bought", "sold", "taught", "caught", "brought", "sent",
    "bound", "hidden", "written", "driven", "eaten", "grown", "drawn", "worn", "won", "hung",
    "struck", "stuck", "left", "lost", "met", "paid", "told", "broken", "chosen", "spoken",
    "stolen", "sung", "done", "gone", "married", "subject", "due", "prone", "open", "closed",
}  # fmt: skip


def property_form(text: str) -> dict[str, str]:
    """A property label's English forms from its words: {"en", "en_not"} (see the
    module docstring)."""
    words = text.split()
    head = words[0].lower()
    if head in COPULA and len(words) > 1:
        rest = " ".join(words[1:])
        return {"en": f"is {rest}", "en_not": f"is not {rest}"}
    if head in ("a", "an", "the"):
        return {"en": f"is {text}", "en_not": f"is not {text}"}
    if head in MODALS or head == "has" or head == "does" or is_third_person(head):
        return {"en": text, "en_not": negate_verb(text)}
    return {"en": f"is {text}", "en_not": f"is not {text}"}


def negate_verb(pred: str) -> str:
    """A predicate in the third person, negated: "swims" → "does not swim", "is fed by"
    → "is not fed by", "can fly" → "cannot fly", "has wings" → "does not have wings"."""
    from synth.english import verb_base

    head, _, rest = pred.partition(" ")
    low = head.lower()
    tail = f" {rest}" if rest else ""
    if low in COPULA:
        return f"{head} not{tail}"
    if low == "can":
        return f"cannot{tail}"
    if low in MODALS:
        return f"{head} not{tail}"
    return f"does not {verb_base(head)}{tail}"


def relation_form(text: str) -> str:
    """A relation label's English predicate, which its object follows: a verb it has
    stays ("feeds", "lives in", "is part of"; "has part" → "has the part"), one
    without gets "is" ("located in" → "is located in"), with an article before a noun
    ("neighbour of" → "is a neighbour of"); a bare noun is the other's ("sibling" → "is
    a sibling of")."""
    words = text.split()
    head = words[0].lower()
    if head == "has" and len(words) == 2:
        return f"has the {words[1]}"
    if head in COPULA and len(words) > 1:
        return "is " + _with_article(words[1:])
    if head in MODALS or head in ("has", "does") or is_third_person(head):
        return text
    if len(words) > 1 and words[-1].lower() in PREPOSITIONS:
        return "is " + _with_article(words)
    return f"is {article(text)} {text} of"


def _has_verb(text: str) -> bool:
    head = text.split()[0].lower()
    return head in COPULA or head in MODALS or head in ("has", "does") or is_third_person(head)


def _with_article(words: list[str]) -> str:
    """A phrase ending in a preposition, with "a"/"an" before a noun: "neighbour of" →
    "a neighbour of", but "located in", "part of", "larger than", "the heir of"."""
    text = " ".join(words)
    if len(words) < 2 or words[-1].lower() not in PREPOSITIONS:
        return text
    before = words[-2].lower()
    first = words[0].lower()
    if (
        first in ("a", "an", "the", "not")
        or before in NO_ARTICLE
        or first in NO_ARTICLE
        or before.endswith(("ed", "en"))
        or (words[-1].lower() == "than" and before.endswith(("er", "more", "less")))
        or before in PREPOSITIONS
    ):
        return text
    return f"{article(text)} {text}"


def attribute_form(text: str) -> str:
    """An attribute label's noun: "nickname"; "hasName" → "name"."""
    words = text.split()
    if len(words) > 1 and words[0].lower() in ("has", "is"):
        words = words[1:]
    return " ".join(words)


def label_forms(
    labels: Mapping[str, str],
    declared: Mapping[str, Mapping[str, str]],
    refuse: Callable[[str, str], UserError],
) -> dict[str, dict[str, str]]:
    """Every label's forms: `labels` maps a label to its role (property, relation,
    attribute), `declared` gives what the world's author wrote (en, en_not, ru, ru_not).
    A label that is not words after splitting, and has no English form declared, is
    refused with `refuse(label, role)`."""
    out: dict[str, dict[str, str]] = {}
    for label, role in labels.items():
        given = dict(declared.get(label, {}))
        words = given.get("en") or humanise(label)
        if not is_words(words):
            raise refuse(label, role)
        if role == "property":
            form = property_form(words)
            if given.get("en_not"):
                form["en_not"] = given["en_not"]
        elif role == "relation":  # a declared form that starts with its verb is kept as written
            declared_verb = "en" in given and _has_verb(words)
            form = {"en": words if declared_verb else relation_form(words)}
        else:
            form = {"en": attribute_form(words)}
        for lang in ("ru", "ru_not"):
            if given.get(lang):
                form[lang] = given[lang]
        out[label] = {"role": role, **form}
    return out


def not_words_error(where: str, label: str, role: str, rdf: bool = False) -> UserError:
    """The one-line error for a label that cannot be said."""
    key = "properties:" if role == "property" else "relations:"
    if rdf:
        how = 'give it an rdfs:label "..."@en'
    elif role == "attribute":
        how = f"name it under 'names: {{en: {{{label}: ...}}}}'"
    else:
        how = f"declare its English form under '{key}' (e.g. {label}: {{en: ...}})"
    return UserError(f"{where}: {role} {label!r} does not read as words; {how}")


def property_labels(
    kind_props: Mapping[str, Iterable[tuple[str, bool]]],
    facts: Iterable[tuple[str, str, str]],
    rules: Iterable,
) -> list[str]:
    """Every property a world speaks of: settled by a kind, stated of a being, or in a
    rule (a rule may conclude a property no kind has: "?x is cold_proof")."""
    out: dict[str, None] = {}
    for props in kind_props.values():
        out.update((p, None) for p, _ in props)
    out.update((f[2], None) for f in facts if f[1] in ("is", "not:is"))
    for r in rules:
        for t in (*r.premises, r.conclusion):
            if t[1] in ("is", "not:is") and not t[2].startswith("?"):
                out[t[2]] = None
    return list(out)
