"""Pronounceable nonce names: kinds ("wumpus"-like), people, places.

Names are built from syllables so they read as words but mean nothing a model already
knows: a fictional world is the controlled case of knowledge injection.
"""

from __future__ import annotations

import random

ONSETS = [
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gl",
    "gr",
    "kr",
    "pl",
    "sk",
    "st",
    "tr",
    "sh",
]
VOWELS = ["a", "e", "i", "o", "u", "a", "o", "e"]
CODAS = ["", "", "", "n", "r", "l", "m", "s"]
KIND_ENDINGS = ["pus", "mus", "rax", "nix", "dor", "bel", "tum", "vex", "lop", "zor"]
FIRST_ENDINGS = ["a", "o", "en", "is", "an", "el", "ia", "or"]
LAST_ENDINGS = ["ane", "ovar", "ick", "ard", "ell", "ow", "enko", "ust", "ing"]
PLACE_ENDINGS = ["mora", "vale", "holm", "grad", "wick", "ford", "aro", "eth"]


def _syllable(rng: random.Random) -> str:
    return rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)


class NameMaker:
    """Draws names that are unique within one world."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        for _ in range(1000):
            name = make()
            if name not in self.used and 4 <= len(name) <= 14:
                self.used.add(name)
                return name
        raise RuntimeError("name space exhausted; lower the world size")

    def kind(self) -> str:
        return self._unique(lambda: _syllable(self.rng).rstrip("s") + self.rng.choice(KIND_ENDINGS))

    def first(self) -> str:
        r = self.rng
        return self._unique(lambda: (_syllable(r) + r.choice(FIRST_ENDINGS)).capitalize())

    def last(self) -> str:
        r = self.rng
        return self._unique(
            lambda: (
                _syllable(r) + (_syllable(r) if r.random() < 0.4 else "") + r.choice(LAST_ENDINGS)
            ).capitalize()
        )

    def place(self) -> str:
        r = self.rng
        return self._unique(lambda: (_syllable(r) + r.choice(PLACE_ENDINGS)).capitalize())
