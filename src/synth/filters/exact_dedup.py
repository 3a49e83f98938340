"""Exact dedup on normalized content, streaming, with a compact hash set.

Normalization: casefold, punctuation to spaces, whitespace collapsed — so "Hello, world!"
and "hello world" are one text, while "2-3" and "23" stay apart. The index is a
numpy open-addressing set of 64-bit hashes: 8 bytes a slot at load <= 0.7, i.e.
11-23 bytes a sample (a Python set of ints costs ~70-100).
"""

from __future__ import annotations

import functools
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from synth.filters.base import derived, sample_content, stable_hash64
from synth.row import Row

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
ZERO_STANDIN = 0x5BD1E9955BD1E995  # 0 marks an empty slot, so key 0 is stored as this
_SMALL = 32  # below this many keys, a Python loop beats numpy's per-call overhead


@functools.lru_cache(maxsize=1)
def _punct_table() -> dict[int, str]:
    # Every punctuation character of the BMP (Unicode category P*), incl. «», —, „“.
    chars = "".join(chr(c) for c in range(0x10000) if unicodedata.category(chr(c)).startswith("P"))
    return str.maketrans(chars, " " * len(chars))


@functools.lru_cache(maxsize=1)
def _ascii_table() -> bytes:
    """`_punct_table` and casefold for ASCII, as a bytes table; the separators 0x1c-0x1f,
    whitespace to str.split() but not to bytes.split(), become spaces too."""
    table = bytearray(range(256))
    for c in range(128):
        if unicodedata.category(chr(c)).startswith("P") or 0x1C <= c <= 0x1F:
            table[c] = 0x20
        elif 0x41 <= c <= 0x5A:
            table[c] = c + 0x20
    return bytes(table)


def normalize(text: str) -> str:
    """casefold, punctuation to spaces, whitespace runs to one space, stripped."""
    # Each punctuation character becomes a space and split() merges the runs: the same
    # as a regex putting one space for each run, at a fraction of its cost. ASCII text
    # (most of it) goes through bytes, faster still.
    if text.isascii():
        return b" ".join(text.encode().translate(_ascii_table()).split()).decode()
    return " ".join(text.casefold().translate(_punct_table()).split())


def text_key(text: str) -> int:
    """The dedup key of a text: a stable 64-bit hash of its normalized form."""
    return stable_hash64(normalize(text))


def normalized_turns(row: Row) -> list[tuple[str, str]]:
    """(role, normalized content) of each turn but the system's, once per row in a chain."""
    return derived(row, "normalized_turns", _normalized_turns)


def _normalized_turns(row: Row) -> list[tuple[str, str]]:
    return [
        (m.get("role") or "", normalize(m.get("content") or ""))
        for m in row.messages or ()
        if m.get("role") != "system"
    ]


def join_normalized(parts: Iterable[str]) -> str:
    """`normalize` of texts joined by whitespace, from their normalized forms: it works
    character by character and whitespace only separates words, so each part can be
    normalized on its own (the turns of a chat serve content and question alike)."""
    return " ".join(p for p in parts if p)


def normalized_content(row: Row) -> str:
    """`normalize(sample_content(row))`, once per row in a chain (contamination uses it too)."""
    return derived(row, "normalized_content", _normalized_content)


def _normalized_content(row: Row) -> str:
    if row.messages:
        return join_normalized(n for _, n in normalized_turns(row))
    return normalize(sample_content(row))


def content_key(row: Row) -> int:
    """`text_key(sample_content(row))`: what exact dedup compares."""
    return derived(row, "content_key", _content_key)


def _content_key(row: Row) -> int:
    return stable_hash64(normalized_content(row))


_REHASH_CHUNK = 1 << 16


def zeroed_u64(n: int) -> array:
    """n zeroed uint64 slots, without a temporary of the same size."""
    return array("Q", [0]) * n


def u64_from_state(state: dict[str, Any]) -> array:
    """The array('Q') behind a pickled table. Tables are pickled as their numpy view:
    with protocol 5 `pickle.dump` writes its memory straight to the file, where an
    array('Q') would be copied into a bytes object first."""
    if "buf" in state:  # saved before tables were pickled as numpy views
        return state["buf"]
    buf = array("Q")
    buf.frombytes(memoryview(np.ascontiguousarray(state["table"])).cast("B"))
    return buf


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
        self._buf = zeroed_u64(1 << bits)
        self._table = np.frombuffer(self._buf, dtype=np.uint64)

    def __len__(self) -> int:
        return self._n

    def __getstate__(self) -> dict[str, Any]:
        return {"bits": self._bits, "table": self._table, "n": self._n, "max_load": self.max_load}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._bits, self._buf = state["bits"], u64_from_state(state)
        self._mask = (1 << self._bits) - 1
        self._table = np.frombuffer(self._buf, dtype=np.uint64)
        self._n, self.max_load = state["n"], state["max_load"]

    def state(self) -> dict[str, Any]:
        """The set as JSON values and its table (a numpy array, not copied)."""
        return {"bits": self._bits, "n": self._n, "max_load": self.max_load, "table": self._table}

    @classmethod
    def restored(cls, state: dict[str, Any]) -> U64Set:
        """The set `state()` described; ValueError if the pieces do not fit together."""
        table, bits, n = state["table"], state["bits"], state["n"]
        if not isinstance(bits, int) or not 4 <= bits <= 40 or not isinstance(n, int):
            raise ValueError("a dedup set's size is not a small whole number")
        if (
            not isinstance(table, np.ndarray)
            or table.dtype != np.uint64
            or table.shape != (1 << bits,)
        ):
            raise ValueError("a dedup table has the wrong type or size")
        if not 0 <= n <= table.size or int(np.count_nonzero(table)) != n:
            raise ValueError("a dedup table does not hold the count saved with it")
        s = cls.__new__(cls)
        s.max_load = float(state["max_load"])
        s._n = n
        s._bits, s._mask = bits, (1 << bits) - 1
        s._buf = array("Q")
        s._buf.frombytes(memoryview(np.ascontiguousarray(table)).cast("B"))
        s._table = np.frombuffer(s._buf, dtype=np.uint64)
        return s

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
        return np.where(keys == 0, np.uint64(ZERO_STANDIN), keys)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A bool array: which keys are in the set."""
        keys = self._fix(keys)
        if keys.size <= _SMALL:
            return np.array([self.has_one(k) for k in keys.tolist()], dtype=bool)
        found = np.zeros(keys.size, dtype=bool)
        slots = self._home(keys)
        active = np.arange(keys.size)
        while active.size > _SMALL:
            v = self._table[slots[active]]
            hit = v == keys[active]
            found[active[hit]] = True
            active = active[(v != 0) & ~hit]
            slots[active] = (slots[active] + 1) & self._mask
        # The few keys left sit in long runs: one numpy round per step would cost more
        # than probing on in Python.
        buf, mask = self._buf, self._mask
        for i, key, slot in zip(active.tolist(), keys[active].tolist(), slots[active].tolist()):
            while (v := buf[slot]) != 0:
                if v == key:
                    found[i] = True
                    break
                slot = (slot + 1) & mask
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
        for start in range(0, old.size, _REHASH_CHUNK):  # chunks: small temporaries at any size
            self._insert(old[start : start + _REHASH_CHUNK])

    def _insert(self, keys: np.ndarray) -> None:
        """Insert keys known to be distinct and absent."""
        slots = self._home(keys)
        pending = np.arange(keys.size)
        while pending.size > _SMALL:
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
        buf, mask = self._buf, self._mask  # the last few, as in `contains`
        for key, slot in zip(keys[pending].tolist(), slots[pending].tolist()):
            while buf[slot] != 0:
                slot = (slot + 1) & mask
            buf[slot] = key

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
        return self._find(key or ZERO_STANDIN)[0]

    def has_any(self, keys: Iterable[int]) -> bool:
        """Whether any of a few keys is in the set: the one-key probe, inlined, stopping
        at the first found (near dedup asks this for a sample's band keys)."""
        buf, mask, shift = self._buf, self._mask, 64 - self._bits
        for key in keys:
            key = key or ZERO_STANDIN
            i = ((key * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> shift
            while True:
                v = buf[i]
                if v == key:
                    return True
                if v == 0:
                    break
                i = (i + 1) & mask
        return False

    def add_one(self, key: int) -> bool:
        """Add a key; False if it was already there."""
        key = key or ZERO_STANDIN
        buf, mask = self._buf, self._mask
        i = ((key * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> (64 - self._bits)
        while True:  # `_find`, inlined: this runs for every key added
            v = buf[i]
            if v == key:
                return False
            if v == 0:
                break
            i = (i + 1) & mask
        if self._n + 1 > self.max_load * self._table.size:
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
            key = content_key(row)
            self._last = (row, key)
        return key

    def reason(self, row: Row) -> str | None:
        return "exact_dup" if self._seen.has_one(self._key(row)) else None

    def accept(self, row: Row) -> None:
        self._seen.add_one(self._key(row))
        self._last = (None, 0)

    def state(self) -> dict[str, Any]:
        return {"seen": self._seen.state()}

    def restore(self, state: dict[str, Any]) -> None:
        self._seen = U64Set.restored(state["seen"])
        self._last = (None, 0)

    def stats(self) -> dict[str, Any]:
        n = len(self._seen)
        return {
            "keys": n,
            "table_bytes": self._seen.nbytes,
            "bytes_per_sample": round(self._seen.nbytes / n, 1) if n else None,
        }
