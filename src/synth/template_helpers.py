"""What a template can call. Random choices draw from the item's own generator, so a
template's phrasing is as reproducible as its facts."""

from __future__ import annotations

import random
from typing import Any

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


def item_globals(rng: random.Random) -> dict[str, Any]:
    def pick(*options: Any) -> Any:
        seq = options[0] if len(options) == 1 and isinstance(options[0], (list, tuple)) else options
        return seq[rng.randrange(len(seq))]

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

    return {"pick": pick, "shuffle": shuffle, "chance": chance, "randint": randint, "sample": sample}
