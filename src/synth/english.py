"""English wording that templates and families share: articles, plurals, lists.

Kinds are nonce words ("wumpus"), so these are rules, not a dictionary.
"""

from __future__ import annotations

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
