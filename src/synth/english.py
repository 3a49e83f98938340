"""English wording that templates and families share: articles, plurals, lists.

Kinds are nonce words ("wumpus"), so these are rules, not a dictionary.
"""

from __future__ import annotations

import re
from typing import Any


def plural(noun: str) -> str:
    """English plural for nonce kinds and real nouns alike."""
    if noun.endswith(("s", "x", "z", "sh", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def with_article(word: str) -> str:
    return f"{article(word)} {word}"


def join_and(items: list[Any], conj: str = "and") -> str:
    """["a", "b", "c"] → "a, b and c"."""
    items = [str(x) for x in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- verbs and identifiers ---------------------------------------------------------------

_BASE = {"has": "have", "does": "do", "is": "be", "goes": "go"}
# Words ending in "s" that are not verbs in the third person ("famous", "harmless", "plus").
_NOT_VERBS = ("ss", "us", "is", "ous", "ics", "ays")
_ADVERBS = {"always", "sometimes", "perhaps", "less", "thus", "this", "its", "his", "hers",
            "yours", "ours", "theirs", "towards", "afterwards", "backwards", "whereas",
            "various", "news", "species", "series", "lens"}  # fmt: skip


def is_third_person(word: str) -> bool:
    """Whether a word reads as a verb in the third person singular: "swims", "flies",
    "feeds", "watches" (not "famous", "harmless", "always")."""
    w = word.lower()
    if w in _BASE:
        return True
    if len(w) < 3 or not w.endswith("s") or w in _ADVERBS:
        return False
    return not w.endswith(_NOT_VERBS) or w in ("plays", "stays", "says", "prays", "lays", "pays")


def verb_base(word: str) -> str:
    """A verb in the third person singular to its base form: "swims" → "swim", "flies"
    → "fly", "watches" → "watch", "goes" → "go", "has" → "have"."""
    w = word.lower()
    if w in _BASE:
        return _BASE[w]
    if w.endswith("ies") and len(w) > 4:
        return word[:-3] + "y"
    if w.endswith(("sses", "shes", "ches", "xes", "zzes", "oes")):
        return word[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return word[:-1]
    return word


def words_of(ident: str) -> list[str]:
    """An identifier split into its words: "easy_to_spot" → easy, to, spot; "locatedIn"
    → located, In; "HVACZone" → HVAC, Zone; "AHU1" → AHU, 1."""
    text = re.sub(r"[_\s]+", " ", ident)
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    text = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", text)
    text = re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", " ", text)
    return text.split()


def humanise(ident: str, proper: bool = False) -> str:
    """An identifier as words: "easy_to_spot" → "easy to spot", "locatedIn" → "located
    in", "HVAC_Zone" → "HVAC zone"; `proper` for a name ("northWing" → "North Wing").
    A word written all in capitals (an acronym) keeps them."""
    out = []
    for w in words_of(ident):
        if proper:
            out.append(w if w.isupper() and len(w) > 1 else w[:1].upper() + w[1:])
        else:
            out.append(w if w.isupper() and len(w) > 1 else w.lower())
    return " ".join(out)


def is_words(text: str) -> bool:
    """Whether a text is words: letters, with hyphens or apostrophes inside a word."""
    return bool(text.strip()) and all(
        re.fullmatch(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", w) for w in text.split()
    )
