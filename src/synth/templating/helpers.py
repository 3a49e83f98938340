"""What a template can call. Random choices draw from the item's own generator, so a
template's phrasing is as reproducible as its facts."""

from __future__ import annotations

import random
from typing import Any

from synth.english import cap, join_and, plural, with_article
from synth.russian.filters import FILTERS as RUSSIAN_FILTERS

FILTERS = {"plural": plural, "a": with_article, "join_and": join_and, "cap": cap, **RUSSIAN_FILTERS}


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
