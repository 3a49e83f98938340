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


# -- names for a world of millions --------------------------------------------------------

REGION_ENDINGS = ["mark", "land", "moor"]


def _syllables() -> list[str]:
    return sorted({o + v + c for o in ONSETS for v in set(VOWELS) for c in set(CODAS)})


class NameBank:
    """Every name a world of up to ~20 million beings needs, unique in Latin and in
    Cyrillic, drawn once from the world's seed: first names, surnames, kinds, places,
    regions. A being's name is a pair (first name, surname) chosen by a bijection of its
    index, so names are unique by construction, cost no memory per being, and a name
    leads back to its index (`index_of`)."""

    def __init__(self, seed: int, kinds: int, places: int, regions: int, surnames: bool):
        import random

        from synth.russian.names import first_ru, kind_ru, last_ru, place_ru

        rng = random.Random(f"{seed}\x1fnames")
        syl = _syllables()
        one = list(syl)
        two = [a + b for a in syl[::7] for b in syl[::5]]

        def unique(cands: list[str], ru, n: int, where: str, more=None) -> list[str]:
            """n names, unique in Latin and in Cyrillic: the candidates in a shuffled
            order, then (if given) more drawn by `more()` until there are enough."""
            rng.shuffle(cands)
            out, seen_lat, seen_ru = [], set(), set()

            def take(c: str) -> None:
                if c in seen_lat or not 4 <= len(c) <= 14:
                    return
                r = ru(c)
                if r in seen_ru:
                    return
                seen_lat.add(c)
                seen_ru.add(r)
                out.append(c)

            for c in cands:
                take(c)
                if len(out) >= n:
                    return out
            tries = 0
            while more is not None and len(out) < n and tries < 20 * n:
                take(more())
                tries += 1
            if len(out) < n:
                raise RuntimeError(f"name space exhausted for {where}: {len(out)} < {n}")
            return out

        from synth.russian.names import is_place  # the place endings

        firsts = [(s + e).capitalize() for s in one for e in FIRST_ENDINGS]
        firsts = [f for f in firsts if not is_place(f)]
        want = 4000 if surnames else min(len(firsts), 5000)
        self.first = unique(firsts, first_ru, want, "first names")
        lasts = [(s + e).capitalize() for s in one + two for e in LAST_ENDINGS]
        self.last = unique(lasts, last_ru, 4000, "surnames") if surnames else []
        kind_c = [s.rstrip("s") + e for s in one for e in KIND_ENDINGS]
        if kinds > len(kind_c) // 2:
            kind_c += [s.rstrip("s") + e for s in two for e in KIND_ENDINGS]

        def three_syllables() -> str:  # a world of hundreds of thousands of kinds
            s = rng.choice(syl) + rng.choice(syl) + rng.choice(syl)
            return s.rstrip("s") + rng.choice(KIND_ENDINGS)

        self.kinds = unique(kind_c, kind_ru, kinds, "kinds", three_syllables)
        place_c = [(s + e).capitalize() for s in one + two for e in PLACE_ENDINGS]
        self.places = unique(place_c, place_ru, places, "places")
        taken = set(self.places)
        region_c = [(s + e).capitalize() for s in one + two for e in REGION_ENDINGS]
        self.regions = unique([r for r in region_c if r not in taken], place_ru, regions, "regions")
        self.surnames = surnames
        self.space = len(self.first) * len(self.last) if surnames else len(self.first)
        # i -> (a*i + b) mod space: a bijection of [0, space) that scatters neighbours
        self._a = _coprime(self.space, rng.randrange(self.space // 3, self.space // 2 + 2))
        self._b = rng.randrange(self.space)
        self._a_inv = pow(self._a, -1, self.space)
        self._first_index = {n: i for i, n in enumerate(self.first)}
        self._last_index = {n: i for i, n in enumerate(self.last)}

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in
                ("first", "last", "kinds", "places", "regions", "surnames", "space", "_a", "_b", "_a_inv")}  # fmt: skip

    @classmethod
    def from_json(cls, d: dict) -> NameBank:
        """The bank a shared world wrote (workers read it instead of drawing it again)."""
        bank = cls.__new__(cls)
        for k, v in d.items():
            setattr(bank, k, v)
        bank._first_index = {n: i for i, n in enumerate(bank.first)}
        bank._last_index = {n: i for i, n in enumerate(bank.last)}
        return bank

    def person(self, i: int) -> str:
        q = (self._a * i + self._b) % self.space
        if not self.surnames:
            return self.first[q]
        f, last = divmod(q, len(self.last))
        return f"{self.first[f]} {self.last[last]}"

    def index_of(self, name: str) -> int | None:
        """The index whose name this is (None if no index has it)."""
        if self.surnames:
            first, _, last = name.partition(" ")
            f, la = self._first_index.get(first), self._last_index.get(last)
            if f is None or la is None:
                return None
            q = f * len(self.last) + la
        else:
            q = self._first_index.get(name)
            if q is None:
                return None
        return (self._a_inv * (q - self._b)) % self.space


def _coprime(n: int, start: int) -> int:
    from math import gcd

    a = max(1, start)
    while gcd(a, n) != 1:
        a += 1
    return a
