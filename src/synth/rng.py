"""Seeds that make every item a pure function of its coordinates.

`item_seed(seed, "ontology", "kind_entry", 17)` is the same in any process, on any
machine, in any order: that is what makes items random-access and runs reproducible
whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any tuple of ints and strings (stable across processes)."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "little") >> 1


def rng_for(*parts: object) -> random.Random:
    return random.Random(derive_seed(*parts))
