"""Exact dedup on normalized content, streaming, with a compact hash set.

Normalization: casefold, punctuation to spaces, whitespace collapsed — so "Hello, world!"
and "hello world" are one text, while "2-3" and "23" stay apart. The index is a
numpy open-addressing set of 64-bit hashes: 8 bytes a slot at load <= 0.7, i.e.
11-23 bytes a sample (a Python set of ints costs ~70-100).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from array import array
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from synth.filters.base import sample_content, stable_hash64
from synth.row import Row

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ZERO_STANDIN = 0x5BD1E9955BD1E995  # 0 marks an empty slot, so key 0 is stored as this
_SMALL = 32  # below this many keys, a Python loop beats numpy's per-call overhead


@functools.lru_cache(maxsize=1)
def _punct_re() -> re.Pattern[str]:
    # Every punctuation character of the BMP (Unicode category P*), incl. «», —, „“.
    chars = "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)).startswith("P"))
    return re.compile("[" + re.escape(chars) + "]+")


def normalize(text: str) -> str:
    """casefold, punctuation to spaces, whitespace runs to one space, stripped."""
    return " ".join(_punct_re().sub(" ", text.casefold()).split())


def text_key(text: str) -> int:
    """The dedup key of a text: a stable 64-bit hash of its normalized form."""
    return stable_hash64(normalize(text))


class U64Set:
    """Open-addressing (linear probing) set of uint64 keys in one numpy array.

    Batch `add`/`contains` are vectorized; `add_one`/`has_one` serve one key at a time
    without numpy call overhead. The table doubles when the load passes `max_load`.
    """

    def __init__(self, capacity: int = 1024, max_load: float = 0.7) -> None:
        if not 0.1 <= max_load <= 0.9:
            raise ValueError("max_load must be in [0.1, 0.9]")
        bits = max(4, int(capacity - 1).bit_length())
        self._alloc(bits)
        self.max_load = max_load
        self._n = 0

    def _alloc(self, bits: int) -> None:
        self._bits = bits
        self._mask = (1 << bits) - 1
        # One buffer, two views: array('Q') indexes to Python ints fast (the one-key
        # path), the numpy view serves the batch path.
        self._buf = array("Q", bytes(8 << bits))
        self._table = np.frombuffer(self._buf, dtype=np.uint64)

    def __len__(self) -> int:
        return self._n

    def __getstate__(self) -> dict[str, Any]:
        # The numpy view is rebuilt on load: pickled apart, it would stop sharing memory.
        return {"bits": self._bits, "buf": self._buf, "n": self._n, "max_load": self.max_load}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._bits, self._buf = state["bits"], state["buf"]
        self._mask = (1 << self._bits) - 1
        self._table = np.frombuffer(self._buf, dtype=np.uint64)
        self._n, self.max_load = state["n"], state["max_load"]

    @property
    def capacity(self) -> int:
        return self._table.size

    @property
    def nbytes(self) -> int:
        return int(self._table.nbytes)

    # -- batch ---------------------------------------------------------------------

    def _home(self, keys: np.ndarray) -> np.ndarray:
        # Fibonacci hashing: the top bits of key * golden ratio pick the slot.
        return ((keys * _GOLDEN) >> np.uint64(64 - self._bits)).astype(np.int64)

    @staticmethod
    def _fix(keys: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.uint64).ravel()
        return np.where(keys == 0, np.uint64(_ZERO_STANDIN), keys)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A bool array: which keys are in the set."""
        keys = self._fix(keys)
        if keys.size <= _SMALL:
            return np.array([self.has_one(k) for k in keys.tolist()], dtype=bool)
        found = np.zeros(keys.size, dtype=bool)
        slots = self._home(keys)
        active = np.arange(keys.size)
        while active.size:
            v = self._table[slots[active]]
            hit = v == keys[active]
            found[active[hit]] = True
            active = active[(v != 0) & ~hit]
            slots[active] = (slots[active] + 1) & self._mask
        return found

    def add(self, keys: np.ndarray) -> None:
        if np.size(keys) <= _SMALL:
            for k in np.asarray(keys, dtype=np.uint64).ravel().tolist():
                self.add_one(k)
            return
        keys = np.unique(self._fix(keys))
        keys = keys[~self.contains(keys)]
        if keys.size == 0:
            return
        self._reserve(self._n + keys.size)
        self._insert(keys)
        self._n += keys.size

    def _reserve(self, n: int) -> None:
        if n <= self.max_load * self.capacity:
            return
        old = self._table[self._table != 0]
        bits = self._bits
        while n > self.max_load * (1 << bits):
            bits += 1
        self._alloc(bits)
        self._insert(old)

    def _insert(self, keys: np.ndarray) -> None:
        """Insert keys known to be distinct and absent."""
        slots = self._home(keys)
        pending = np.arange(keys.size)
        while pending.size:
            s = slots[pending]
            free = self._table[s] == 0
            # Several keys may claim one free slot: the first claimant of each wins.
            _, first = np.unique(s[free], return_index=True)
            winners = pending[free][first]
            self._table[slots[winners]] = keys[winners]
            won = np.zeros(keys.size, dtype=bool)
            won[winners] = True
            pending = pending[~won[pending]]
            slots[pending] = (slots[pending] + 1) & self._mask

    # -- one key -------------------------------------------------------------------

    def _slot_one(self, key: int) -> int:
        return ((key * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> (64 - self._bits)

    def _find(self, key: int) -> tuple[bool, int]:
        """(present, slot): the key's slot, or the empty slot where it would go."""
        buf, mask = self._buf, self._mask
        i = self._slot_one(key)
        while True:
            v = buf[i]
            if v == key:
                return True, i
            if v == 0:
                return False, i
            i = (i + 1) & mask

    def has_one(self, key: int) -> bool:
        return self._find(key or _ZERO_STANDIN)[0]

    def add_one(self, key: int) -> bool:
        """Add a key; False if it was already there."""
        key = key or _ZERO_STANDIN
        present, i = self._find(key)
        if present:
            return False
        if self._n + 1 > self.max_load * self.capacity:
            self._reserve(self._n + 1)
            i = self._find(key)[1]
        self._buf[i] = key
        self._n += 1
        return True


@dataclass
class ExactDedupFilter:
    """Drops a row whose normalized content was already kept ("exact_dup")."""

    name: ClassVar[str] = "exact_dedup"
    initial_capacity: int = 1 << 10
    _seen: U64Set = field(init=False, repr=False)
    _last: tuple[Row | None, int] = field(init=False, repr=False, default=(None, 0))

    def __post_init__(self) -> None:
        if self.initial_capacity < 1:
            raise ValueError("initial_capacity must be >= 1")
        self._seen = U64Set(self.initial_capacity)

    def _key(self, row: Row) -> int:
        last, key = self._last
        if last is not row:
            key = text_key(sample_content(row))
            self._last = (row, key)
        return key

    def reason(self, row: Row) -> str | None:
        return "exact_dup" if self._seen.has_one(self._key(row)) else None

    def accept(self, row: Row) -> None:
        self._seen.add_one(self._key(row))
        self._last = (None, 0)

    def stats(self) -> dict[str, Any]:
        n = len(self._seen)
        return {
            "keys": n,
            "table_bytes": self._seen.nbytes,
            "bytes_per_sample": round(self._seen.nbytes / n, 1) if n else None,
        }
