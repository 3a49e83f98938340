"""Near-duplicate removal: MinHash LSH on word 5-gram shingles, vectorized in numpy.

Hashing is deterministic: each word is hashed once with a fixed 64-bit hash (blake2b,
cached), a shingle's hash is an order-sensitive combination of its word hashes
(numpy arithmetic mod 2^64, then a splitmix64 finalizer), and the k MinHash
permutations are h_i(x) = a_i * x + b_i mod 2^32 on the hash's top 32 bits, with odd
a_i from a seeded PCG64. Signatures for many texts are computed at once: all shingles
of a batch in one array, one (k x n_shingles) product, and `np.minimum.reduceat` over
the documents.

What a duplicate means for templated text: samples of one template share its skeleton
(the fixed wording), so on plain shingles two unrelated samples of a wordy template can
look 80% alike. Per template, streaming, the first `calibration` samples are used to
learn the skeleton: shingles that occur in more than `skeleton_share` of them (and in
3 at least). Those are dropped before MinHash, so only what the template filled in is
compared, and LSH buckets are keyed per template. The share is low (2%) because this
project's templates draw their wording from pools of phrasings and system prompts,
each under 30% of samples. On its command and ontology tiers (15k samples) 30% left
the phrasing in and flagged 1.2-1.5% of samples, a fifth to a third of them near
copies (best exact J >= 0.7), the rest distinct problems such as "Convert 266 to hex"
vs "Convert 79 to hex"; 2% flags 0.16-0.8%, 40% near copies (often the same question
in another phrasing), 15% below J 0.5. Fillers that recur in over 2% of samples
(small pools) count as skeleton too: they say little. A near duplicate is then a sample whose filled-in
shingles are ~0.8 Jaccard-similar to those of an earlier kept sample of its template.
Changing k words changes up to 5k shingles, so J ~ (F - 5k) / (F + 5k) for F filled-in
shingles: a few words changed in a sample with a paragraph of filled-in content is a
duplicate; one slot changed in a one-line problem is a different problem, and kept.

During calibration the skeleton is re-estimated at a few checkpoints (warmup,
4 x warmup, calibration); the template's kept samples are re-indexed under each new
estimate, with their shingle sets, so that an LSH candidate is confirmed by exact
Jaccard >= `threshold` (an immature skeleton leaves phrasing in, and many siblings at
J 0.4-0.6 would each get a small chance to collide). When calibration ends the sets
are dropped and the samples' band keys go into the main index. The first `warmup`
samples of a template are only compared against later ones (two samples cannot tell
skeleton from duplication) — exact dedup still covers them.

LSH with b bands of r rows flags a pair with probability 1 - (1 - J^r)^b: for 14 x 8,
0.05 at J = 0.5, 0.52 at 0.69, 0.77 at 0.75, 0.92 at 0.8, 0.99 at 0.85, 1e-3 at 0.3.

All of the above is generation's way: rows arrive one by one, per template, and the
skeleton must be learned as they come. A corpus that is read whole (`synth filter`,
`synth qa`) is first sampled by `calibrate`, and the filter then works as near_corpus
says: boilerplate passages learned from a sample of the whole corpus, rows compared
across groups, every candidate confirmed by a Jaccard estimate (`similarity`, 0.8, on
what is not boilerplate). On templated task rows (bench/dedup_foreign.py) the streaming
way above removes 8% of distinct rows when all rows form one group: a skeleton learned
from the first 200 rows of an 18-task mix misses the instructions of the tasks rare among
them (two tasks under 2% of the rows lose nearly all their rows).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from synth.filters.base import derived, sample_content, stable_hash64
from synth.filters.exact_dedup import _GOLDEN, ZERO_STANDIN, u64_from_state, zeroed_u64
from synth.row import Row

WORD_RE = re.compile(r"\w+")
EMPTY = np.uint32(0xFFFFFFFF)  # signature value of a text without shingles
_CHUNK_SHINGLES = 1 << 14  # shingles per numpy batch: keeps k x chunk in cache-sized blocks
_M30, _M27, _M31 = np.uint64(30), np.uint64(27), np.uint64(31)
_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)

# Bounded: a corpus with random strings (ciphers, ids) has an open vocabulary, and a
# million cached words would be ~100 MB that grows with the budget.
_WORD_CACHE_MAX = 1 << 15
_word_cache: dict[str, int] = {}


def splitmix64(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finalizer: spreads every input bit over all 64 output bits."""
    x = x ^ (x >> _M30)
    x = x * _C1
    x = x ^ (x >> _M27)
    x = x * _C2
    return x ^ (x >> _M31)


# ASCII characters that are not \w, to spaces: for ASCII text, split() then gives exactly
# the \w+ runs, faster than the regex.
_ASCII_NONWORD = {c: " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")}


def words_of(text: str) -> list[str]:
    if text.isascii():
        return text.lower().translate(_ASCII_NONWORD).split()
    return WORD_RE.findall(text.casefold())


def turn_words(row: Row) -> list[tuple[str, list[str]]]:
    """(role, words_of(content)) of each turn but the system's, once per row in a chain."""
    return derived(row, "turn_words", _turn_words)


def _turn_words(row: Row) -> list[tuple[str, list[str]]]:
    return [
        (m.get("role") or "", words_of(m.get("content") or ""))
        for m in row.messages or ()
        if m.get("role") != "system"
    ]


def content_words(row: Row) -> list[str]:
    """`words_of(sample_content(row))`: words never span the blank line between turns,
    so they are the turns' words in order."""
    if row.messages:
        return [w for _, ws in turn_words(row) for w in ws]
    return words_of(row.text)


_cache_clears = 0


def _hash_new_word(word: str) -> int:
    global _cache_clears
    if len(_word_cache) >= _WORD_CACHE_MAX:
        _word_cache.clear()  # bounded memory; hashes do not depend on the cache
        _cache_clears += 1
    h = _word_cache[word] = stable_hash64(word)
    return h


def word_hashes(words: Sequence[str]) -> np.ndarray:
    """A fixed 64-bit hash per word (cached: templated text has a small vocabulary)."""
    clears = _cache_clears
    for w in set(words).difference(_word_cache):  # the new words, found in C
        _hash_new_word(w)
    if _cache_clears != clears:  # cleared on the way: some words may be missing again
        cache = _word_cache
        return np.array([cache[w] if w in cache else _hash_new_word(w) for w in words], np.uint64)
    return np.fromiter(map(_word_cache.__getitem__, words), np.uint64, len(words))


@functools.lru_cache(maxsize=64)
def _ngram_mults(n: int) -> np.ndarray:
    rng = np.random.default_rng(0x5EED + n)
    return rng.integers(0, 1 << 63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


def ngram_hashes(wh: np.ndarray, n: int) -> np.ndarray:
    """Hashes of all word n-grams of one text, given its word hashes."""
    if wh.size < n:
        return np.zeros(0, dtype=np.uint64)
    return _combine(wh, n)


def _combine(wh: np.ndarray, n: int) -> np.ndarray:
    mults = _ngram_mults(n)
    m = wh.size - n + 1
    h = wh[:m] * mults[0]
    for k in range(1, n):
        h += wh[k : k + m] * mults[k]
    return splitmix64(h)


def _doc_dtype(n: int) -> type:
    return np.int16 if n <= np.iinfo(np.int16).max + 1 else np.int64


def ngram_windows(wh: np.ndarray, lens: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word n-gram of several texts (their word hashes `wh` in one array,
    `lens` words a text), in order, and the count per text."""
    counts = np.maximum(lens - n + 1, 0)
    if wh.size < n:
        return np.zeros(0, dtype=np.uint64), counts
    h = _combine(wh, n)
    # Windows that start in the last n-1 words of a text run into the next text.
    ends = np.cumsum(lens)
    cross = (ends[:, None] - np.arange(1, n)[None, :]).ravel()
    keep = np.ones(h.size, dtype=bool)
    keep[cross[(cross >= 0) & (cross < h.size)]] = False
    return h[keep], counts


def sets_by_text(x: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """Shingle hashes of several texts in one array (`counts` a text) as each text's
    distinct hashes, sorted."""
    # Sorted by text, then hash: hashes first, then a stable sort by text, which numpy
    # does as a radix sort on 16-bit ints (together twice as fast as a lexsort).
    doc = np.repeat(np.arange(counts.size, dtype=_doc_dtype(counts.size)), counts)
    order = np.argsort(x)
    order = order[np.argsort(doc[order], kind="stable")]
    x, doc = x[order], doc[order]
    first = np.ones(x.size, dtype=bool)
    first[1:] = (x[1:] != x[:-1]) | (doc[1:] != doc[:-1])
    x, doc = x[first], doc[first]
    return np.split(x, np.cumsum(np.bincount(doc, minlength=counts.size))[:-1])


def isin_sorted(x: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """`np.isin` for a sorted, unique right-hand side (binary search, no re-sorting)."""
    if sorted_values.size == 0:
        return np.zeros(x.size, dtype=bool)
    i = np.searchsorted(sorted_values, x)
    i[i == sorted_values.size] = 0
    return sorted_values[i] == x


class MinHasher:
    """Word n-gram shingles, MinHash signatures and LSH band keys."""

    def __init__(self, bands: int = 14, rows: int = 8, ngram: int = 5, seed: int = 1) -> None:
        if bands < 1 or rows < 1 or ngram < 1:
            raise ValueError("bands, rows and ngram must be >= 1")
        self.bands, self.rows, self.ngram = bands, rows, ngram
        self.num_perm = bands * rows
        rng = np.random.default_rng(seed)
        # Odd multipliers: each h_i(x) = a_i * x + b_i mod 2^32 is a bijection. 32-bit
        # arithmetic moves half the bytes of 64-bit; on well-mixed inputs the estimates
        # match theory (bias ~0, std sqrt(J(1-J)/k), band collisions J^r).
        self._a = rng.integers(0, 1 << 32, self.num_perm, dtype=np.uint64).astype(np.uint32)
        self._a |= np.uint32(1)
        self._b = rng.integers(0, 1 << 32, self.num_perm, dtype=np.uint64).astype(np.uint32)
        self._row_mults = rng.integers(0, 1 << 63, rows, dtype=np.uint64) * np.uint64(2) + 1
        self._band_salts = splitmix64(np.arange(1, bands + 1, dtype=np.uint64))

    # -- shingles ------------------------------------------------------------------

    def shingles(self, text: str) -> np.ndarray:
        """The distinct shingle hashes of one text, sorted."""
        return np.unique(self._batch_shingles([words_of(text)])[0])

    def shingle_sets(self, texts: Sequence[str]) -> list[np.ndarray]:
        """`shingles` of many texts, hashed in one pass."""
        return self.shingle_sets_of_words([words_of(t) for t in texts])

    def shingle_sets_of_words(self, word_lists: list[list[str]]) -> list[np.ndarray]:
        """`shingle_sets` of texts given as their `words_of`."""
        return sets_by_text(*self._batch_shingles(word_lists))

    def _batch_shingles(self, word_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle hashes of several texts in one array, and the count per text."""
        n = self.ngram
        flat: list[str] = []
        lens = np.zeros(len(word_lists), dtype=np.int64)
        for i, ws in enumerate(word_lists):
            if 0 < len(ws) < n:
                ws = ws + [""] * (n - len(ws))  # one shingle of all its words, padded
            flat.extend(ws)
            lens[i] = len(ws)
        return ngram_windows(word_hashes(flat), lens, n)

    # -- signatures ----------------------------------------------------------------

    def _minhash(self, x: np.ndarray, counts: np.ndarray) -> np.ndarray:
        out = np.full((counts.size, self.num_perm), EMPTY, dtype=np.uint32)
        nz = counts > 0
        if not nz.any():
            return out
        starts = np.concatenate([[0], np.cumsum(counts[nz])[:-1]])
        x32 = (x >> np.uint64(32)).astype(np.uint32)  # the shingle hash's top bits
        v = self._a[:, None] * x32[None, :]
        v += self._b[:, None]
        out[nz] = np.minimum.reduceat(v, starts, axis=1).T
        return out

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """MinHash signatures of many texts: (len(texts), num_perm) uint32.

        A text without words gets a row of EMPTY. Duplicated shingles need no removal:
        they do not change a minimum.
        """
        out = np.empty((len(texts), self.num_perm), dtype=np.uint32)
        start, batch, size = 0, [], 0
        for i, text in enumerate(texts):
            ws = words_of(text)
            batch.append(ws)
            size += len(ws)
            if size >= _CHUNK_SHINGLES or i == len(texts) - 1:
                x, counts = self._batch_shingles(batch)
                out[start : i + 1] = self._minhash(x, counts)
                start, batch, size = i + 1, [], 0
        return out

    def signatures_of_sets(self, sets: Sequence[np.ndarray]) -> np.ndarray:
        """MinHash signatures of shingle-hash arrays (e.g. with the skeleton removed)."""
        out = np.empty((len(sets), self.num_perm), dtype=np.uint32)
        start = 0
        while start < len(sets):
            stop, size = start, 0
            while stop < len(sets) and (size < _CHUNK_SHINGLES or stop == start):
                size += sets[stop].size
                stop += 1
            chunk = sets[start:stop]
            counts = np.array([s.size for s in chunk], dtype=np.int64)
            x = np.concatenate(chunk) if size else np.zeros(0, dtype=np.uint64)
            out[start:stop] = self._minhash(x.astype(np.uint64, copy=False), counts)
            start = stop
        return out

    def band_keys(self, sigs: np.ndarray, salt: int | np.ndarray = 0) -> np.ndarray:
        """One 64-bit key per band: (n, bands) uint64.

        `salt` (one int, or one per signature) separates key spaces, e.g. templates.
        """
        s = sigs[:, : self.num_perm].astype(np.uint64).reshape(-1, self.bands, self.rows)
        h = (s * self._row_mults).sum(axis=2, dtype=np.uint64)
        h += self._band_salts
        if isinstance(salt, np.ndarray):
            h += salt.astype(np.uint64)[:, None]
        else:
            h += np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        return splitmix64(h)


def _as_stored(keys: list[int]) -> list[int]:
    """Keys as the index holds them (0 marks its empty slots, so 0 has a stand-in)."""
    return [k or ZERO_STANDIN for k in keys] if 0 in keys else keys


class BoundedKeySet:
    """A set of uint64 keys in a fixed amount of memory, for the LSH band keys.

    Buckets of 8 slots (one 64-byte cache line), picked by the key's top bits: a new key
    takes an empty slot of its bucket, or, in a full bucket, replaces the slot its low
    bits pick. So memory never grows with the corpus (a 10B-token run holds tens of
    millions of samples), and once the index fills, the oldest keys give way first in
    the fullest buckets: a sample is then compared with the most recent few hundred
    thousand samples rather than with all of them. `evicted` counts what was forgotten.
    Lookups are one vectorized compare per bucket row; nothing probes.
    """

    WAYS = 8

    def __init__(self, nbytes: int) -> None:
        buckets = max(1, nbytes // (8 * self.WAYS))
        self._bits = buckets.bit_length() - 1  # a power of two at most nbytes
        self._buf = zeroed_u64(self.WAYS << self._bits)
        self._view()
        self._n = 0
        self.evicted = 0

    def _view(self) -> None:
        self._table = np.frombuffer(self._buf, dtype=np.uint64).reshape(-1, self.WAYS)
        self._shift = np.uint64(64 - self._bits)

    def __getstate__(self) -> dict[str, Any]:
        return {"bits": self._bits, "table": self._table, "n": self._n, "evicted": self.evicted}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._bits, self._buf = state["bits"], u64_from_state(state)
        self._n, self.evicted = state["n"], state["evicted"]
        self._view()

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        return int(self._table.nbytes)

    def _bucket(self, keys: np.ndarray) -> np.ndarray:
        if self._bits == 0:
            return np.zeros(keys.size, dtype=np.int64)
        return ((keys * _GOLDEN) >> self._shift).astype(np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """A bool array: which keys are in the set."""
        keys = np.asarray(keys, dtype=np.uint64).ravel()
        keys = np.where(keys == 0, np.uint64(ZERO_STANDIN), keys)
        return (self._table[self._bucket(keys)] == keys[:, None]).any(axis=1)

    def has_any(self, keys: list[int]) -> bool:
        """Whether any of these keys (as `_as_stored` gives them) is in the set."""
        buf, shift, ways = self._buf, 64 - self._bits, self.WAYS
        for k in keys:
            start = (
                (((k * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF) >> shift) * ways
                if shift < 64
                else 0
            )
            if k in buf[start : start + ways]:
                return True
        return False

    def add(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, dtype=np.uint64).ravel()
        keys = np.unique(np.where(keys == 0, np.uint64(ZERO_STANDIN), keys))
        keys = keys[~self.contains(keys)]
        table, ways = self._table, np.uint64(self.WAYS)
        while keys.size:  # one key per bucket per round: keys of a batch may share one
            buckets = self._bucket(keys)
            _, first = np.unique(buckets, return_index=True)
            take, rows = keys[first], buckets[first]
            empty = table[rows] == 0
            free = empty.any(axis=1)
            slots = np.where(free, empty.argmax(axis=1), (take % ways).astype(np.int64))
            table[rows, slots] = take
            self._n += int(free.sum())
            self.evicted += int((~free).sum())
            rest = np.ones(keys.size, dtype=bool)
            rest[first] = False
            keys = keys[rest]


@functools.lru_cache(maxsize=1 << 12)
def template_salt(template: str) -> int:
    return stable_hash64(template, salt=b"lsh-template")


@dataclass
class _TemplateState:
    seen: int = 0
    observed: list[np.ndarray] = field(default_factory=list)
    skeleton: np.ndarray | None = None
    version: int = 0
    frozen: bool = False
    last: Row | None = None


class TemplateSkeletons:
    """Per template, the shingles that belong to the template rather than the sample.

    Shared by near_dedup and contamination so that both compare what a template filled
    in. Only the filter that owns it calls `observe`.
    """

    shared = False  # another filter reads it (contamination): its owner keeps observing

    def __init__(
        self,
        hasher: MinHasher,
        *,
        share: float = 0.02,
        calibration: int = 200,
        warmup: int = 20,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("skeleton_share must be in (0, 1]")
        if calibration < 0 or warmup < 1:
            raise ValueError("calibration must be >= 0 and warmup >= 1")
        self.hasher = hasher
        self.share = share
        self.calibration = calibration
        warmup = min(warmup, calibration)
        self.checkpoints = {c for c in (warmup, 4 * warmup, calibration) if 0 < c <= calibration}
        self._t: dict[str, _TemplateState] = {}
        self._cache: tuple[Row | None, np.ndarray] = (None, np.zeros(0, dtype=np.uint64))
        self._batch: dict[int, tuple[Row, np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Caches hold rows by identity; they mean nothing in another process.
        return {**self.__dict__, "_cache": (None, np.zeros(0, dtype=np.uint64)), "_batch": {}}

    def _state(self, template: str) -> _TemplateState:
        st = self._t.get(template)
        if st is None:
            st = self._t[template] = _TemplateState()
            if self.calibration == 0:  # no skeleton removal: plain MinHash per template
                st.frozen, st.skeleton, st.version = True, np.zeros(0, dtype=np.uint64), 1
        return st

    def prepare(self, rows: Sequence[Row]) -> None:
        """Shingle a batch of rows at once; `shingles` then serves them from memory."""
        sets = self.hasher.shingle_sets_of_words([content_words(r) for r in rows])
        self._batch = {id(r): (r, sh) for r, sh in zip(rows, sets, strict=True)}

    def shingles(self, row: Row) -> np.ndarray:
        """Distinct shingle hashes of the row's content, sorted (prepared or cached)."""
        hit = self._batch.get(id(row))
        if hit is not None and hit[0] is row:
            return hit[1]
        last, sh = self._cache
        if last is not row:
            sh = self.hasher.shingles(sample_content(row))
            self._cache = (row, sh)
        return sh

    def observe(self, row: Row) -> None:
        st = self._state(row.template)
        if st.frozen or st.last is row:
            return
        st.last = row
        st.seen += 1
        st.observed.append(self.shingles(row))
        if st.seen in self.checkpoints:
            values, counts = np.unique(np.concatenate(st.observed), return_counts=True)
            # At least 3 samples: a near-duplicate pair must not make its own skeleton.
            st.skeleton = values[(counts > self.share * st.seen) & (counts >= 3)]
            st.version += 1
            if st.seen >= self.calibration:
                st.frozen, st.observed = True, []

    def skeleton(self, template: str) -> tuple[int, np.ndarray | None]:
        """(version, sorted skeleton shingles); None while the template warms up."""
        st = self._state(template)
        return st.version, st.skeleton

    def is_frozen(self, template: str) -> bool:
        return self._state(template).frozen

    def without_skeleton(self, shingles: np.ndarray, template: str) -> np.ndarray | None:
        skel = self._state(template).skeleton
        if skel is None:
            return None
        return shingles[~isin_sorted(shingles, skel)]

    def filled(self, row: Row) -> np.ndarray | None:
        """The row's shingles minus its template's skeleton; None while warming up."""
        return self.without_skeleton(self.shingles(row), row.template)

    def filled_many(self, rows: Sequence[Row], template: str) -> list[np.ndarray | None]:
        """`filled` of rows of one template, with one skeleton lookup for all of them."""
        skel = self._state(template).skeleton
        if skel is None:
            return [None] * len(rows)
        sets = [self.shingles(r) for r in rows]
        if len(sets) == 1:
            return [sets[0][~isin_sorted(sets[0], skel)]]
        keep = ~isin_sorted(np.concatenate(sets), skel)
        bounds = np.cumsum([s.size for s in sets])[:-1]
        return [s[k] for s, k in zip(sets, np.split(keep, bounds), strict=True)]

    def state(self) -> dict[str, Any]:
        """Per template: rows seen, the shingles observed while calibrating, the skeleton."""
        return {
            t: {
                "seen": st.seen,
                "observed": list(st.observed),
                "skeleton": st.skeleton,
                "version": st.version,
                "frozen": st.frozen,
            }
            for t, st in self._t.items()
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._t = {
            str(t): _TemplateState(
                int(v["seen"]),
                [_u64(a) for a in v["observed"]],
                None if v["skeleton"] is None else _u64(v["skeleton"]),
                int(v["version"]),
                bool(v["frozen"]),
            )
            for t, v in state.items()
        }
        self._cache, self._batch = (None, np.zeros(0, dtype=np.uint64)), {}

    def stats(self) -> dict[str, Any]:
        frozen = [st for st in self._t.values() if st.frozen]
        sizes = [st.skeleton.size for st in frozen if st.skeleton is not None]
        return {
            "templates": len(self._t),
            "calibrated": len(frozen),
            "skeleton_shingles_mean": round(float(np.mean(sizes)), 1) if sizes else None,
        }


def jaccard_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted, unique hash arrays."""
    inter = int(isin_sorted(a, b).sum())
    union = a.size + b.size - inter
    return inter / union if union else 0.0


class VerifiedLSH:
    """LSH buckets (band key -> items) over stored shingle sets, so that a candidate is
    confirmed by exact Jaccard. Costs the sets: for small collections only (a template's
    calibration rows, the eval probes), where checking against many similar items would
    otherwise turn LSH's few false candidates into many."""

    def __init__(self) -> None:
        self._buckets: dict[int, list[int]] = {}
        self._sets: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._sets)

    def add(self, filled: np.ndarray, keys: np.ndarray) -> None:
        i = len(self._sets)
        self._sets.append(filled)
        for k in keys.tolist():
            self._buckets.setdefault(k, []).append(i)

    def add_many(self, sets: list[np.ndarray], hasher: MinHasher, salt: int) -> None:
        sets = [s for s in sets if s.size]
        if sets:
            keys = hasher.band_keys(hasher.signatures_of_sets(sets), salt)
            for s, k in zip(sets, keys, strict=True):
                self.add(s, k)

    def best(self, filled: np.ndarray, keys: np.ndarray) -> float:
        """The highest exact Jaccard among the items sharing a band with `keys`."""
        found = {i for k in keys.tolist() for i in self._buckets.get(k, ())}
        return max((jaccard_sorted(filled, self._sets[i]) for i in found), default=0.0)


@dataclass
class _Calibrating:
    """A template still calibrating: its kept rows, and a verified index of them that is
    rebuilt whenever the skeleton estimate changes."""

    kept: list[np.ndarray] = field(default_factory=list)
    version: int = -1
    index: VerifiedLSH | None = None


@dataclass
class NearDedupFilter:
    """Drops a row whose filled-in content is a near duplicate of a kept row ("near_dup")."""

    name: ClassVar[str] = "near_dedup"
    bands: int = 14
    rows: int = 8
    ngram: int = 5
    skeleton_share: float = 0.02
    calibration: int = 200
    warmup: int = 20
    threshold: float = 0.7  # exact Jaccard that confirms a candidate while calibrating
    index_mb: int = 32  # fixed size of the band-key index (~250k samples before it forgets)
    # Once `calibrate` has read the corpus (synth filter, synth qa): see near_corpus.
    similarity: float = 0.8  # Jaccard of the varying parts at which a row is a near copy
    sample_rows: int = 20_000  # rows sampled to learn the boilerplate
    boilerplate_rows: int = 10  # sampled rows holding a 16-word passage that make it boilerplate
    skeletons: TemplateSkeletons | None = field(default=None, metadata={"config": False})
    owns_skeletons: bool = field(default=True, metadata={"config": False})

    def __post_init__(self) -> None:
        if not 0 < self.threshold <= 1:
            raise ValueError("threshold must be in (0, 1]")
        if not 0 < self.similarity <= 1:
            raise ValueError("similarity must be in (0, 1]")
        if self.sample_rows < 1 or self.boilerplate_rows < 2:
            raise ValueError("sample_rows must be >= 1 and boilerplate_rows >= 2")
        self._corpus: Any = None  # near_corpus.CorpusNearDedup once calibrated
        if self.skeletons is None:
            self.skeletons = TemplateSkeletons(
                MinHasher(self.bands, self.rows, self.ngram),
                share=self.skeleton_share,
                calibration=self.calibration,
                warmup=self.warmup,
            )
        self.hasher = self.skeletons.hasher
        if self.index_mb < 1:
            raise ValueError("index_mb must be >= 1")
        self._index = BoundedKeySet(self.index_mb << 20)
        # Band keys added since the last prepare(): they join _index in one vectorized add
        # at the next, so _index is fixed within a batch and prepare() can look up every
        # prepared row's keys in it at once; reason() then checks only these.
        self._pending: set[int] = set()
        self._calib: dict[str, _Calibrating] = {}
        self._last: tuple[Row | None, np.ndarray | None, np.ndarray | None] = (None, None, None)
        # id(row) -> (row, filled shingles, band keys, any key in _index), from prepare()
        self._prepared: dict[int, tuple[Row, Any, Any, bool]] = {}
        self._indexed = 0

    def __getstate__(self) -> dict[str, Any]:
        # Per-batch caches hold rows by identity; they mean nothing after a reload.
        return {**self.__dict__, "_prepared": {}, "_last": (None, None, None)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def calibrate(self, rows: Iterable[Row], grouping: str = "one group") -> None:
        """Read the whole corpus (rows in any order, `template` naming each row's group)
        and switch to the corpus mode of near_corpus: boilerplate learned from a sample of
        it, rows compared across groups, every candidate confirmed. For a corpus read
        twice (synth filter, synth qa); generation streams and never calls this."""
        from synth.filters.near_corpus import build_corpus_mode, sample_boilerplate

        sample = sample_boilerplate(rows, self.hasher, self.sample_rows, self.boilerplate_rows)
        self._corpus = build_corpus_mode(
            sample,
            similarity=self.similarity,
            index_mb=self.index_mb,
            ngram=self.ngram,
            grouping=grouping,
        )

    def prepare(self, rows: Sequence[Row]) -> None:
        """Shingles for the batch; filled-in shingles, band keys and whether any key is in
        the index for the rows whose template is calibrated (its skeleton no longer
        changes)."""
        sk = self._sk()
        if self._corpus is not None:
            if self.owns_skeletons and sk.shared:  # contamination's template skeletons
                todo = [r for r in rows if not sk.is_frozen(r.template)]
                if todo:
                    sk.prepare(todo)
            self._corpus.prepare(rows)
            return
        self._flush_pending()
        sk.prepare(rows)
        by_template: dict[str, list[Row]] = {}
        for r in rows:
            if sk.is_frozen(r.template):
                by_template.setdefault(r.template, []).append(r)
        self._prepared = {}
        todo: list[tuple[Row, np.ndarray]] = []
        for template, group in by_template.items():
            for r, filled in zip(group, sk.filled_many(group, template), strict=True):
                self._prepared[id(r)] = (r, filled, None, False)
                if filled is not None and filled.size:
                    todo.append((r, filled))
        if todo:
            sigs = self.hasher.signatures_of_sets([s for _, s in todo])
            salts = np.array([template_salt(r.template) for r, _ in todo], dtype=np.uint64)
            keys = self.hasher.band_keys(sigs, salts)
            indexed = self._index.contains(keys).reshape(keys.shape).any(axis=1).tolist()
            for (r, filled), k, hit in zip(todo, keys, indexed, strict=True):
                self._prepared[id(r)] = (r, filled, k, hit)

    def _flush_pending(self) -> None:
        if self._pending:
            self._index.add(np.fromiter(self._pending, np.uint64, len(self._pending)))
            self._pending = set()

    def _sk(self) -> TemplateSkeletons:
        assert self.skeletons is not None
        return self.skeletons

    def _keys(self, row: Row, filled: np.ndarray) -> np.ndarray:
        hit = self._prepared.get(id(row))
        if hit is not None and hit[0] is row and hit[2] is not None:
            return hit[2]
        sig = self.hasher.signatures_of_sets([filled])
        return self.hasher.band_keys(sig, template_salt(row.template))[0]

    def reason(self, row: Row) -> str | None:
        sk = self._sk()
        if self._corpus is not None:
            if self.owns_skeletons and sk.shared:
                sk.observe(row)
            return self._corpus.reason(row)
        if self.owns_skeletons:
            sk.observe(row)
        self._last = (row, None, None)
        hit = self._prepared.get(id(row))
        if hit is not None and hit[0] is not row:
            hit = None
        # Prepared rows' templates were calibrated then, so their filled sets still hold.
        filled = hit[1] if hit is not None else sk.filled(row)
        if filled is None or filled.size == 0:
            return None  # warming up, or all skeleton: exact dedup covers it
        keys = self._keys(row, filled)
        self._last = (row, keys, filled)
        if sk.is_frozen(row.template):
            self._flush(row.template)
            listed = _as_stored(keys.tolist())
            if hit is not None and hit[2] is not None:
                indexed = hit[3]  # looked up in prepare(); _index has not changed since
            else:
                indexed = self._index.has_any(listed)
            return "near_dup" if indexed or not self._pending.isdisjoint(listed) else None
        # Calibrating: the skeleton is still an estimate, so candidates are verified.
        best = self._calibration_index(row.template).best(filled, keys)
        return "near_dup" if best >= self.threshold else None

    def accept(self, row: Row) -> None:
        if self._corpus is not None:
            self._corpus.accept(row)
            return
        last, keys, filled = self._last
        self._last = (None, None, None)
        if last is not row:  # accepted without a reason() call: compute the keys now
            self.reason(row)
            _, keys, filled = self._last
        sk = self._sk()
        if not sk.is_frozen(row.template):
            cal = self._calib.setdefault(row.template, _Calibrating())
            cal.kept.append(sk.shingles(row))
            if keys is not None and filled is not None and cal.index is not None:
                cal.index.add(filled, keys)
        elif keys is not None:
            self._pending.update(_as_stored(keys.tolist()))
            self._indexed += 1

    def _filled_sets(self, template: str, sets: list[np.ndarray]) -> list[np.ndarray]:
        sk = self._sk()
        filled = [sk.without_skeleton(s, template) for s in sets]
        return [f for f in filled if f is not None and f.size]

    def _calibration_index(self, template: str) -> VerifiedLSH:
        """The template's kept calibration rows, indexed with the current skeleton."""
        cal = self._calib.setdefault(template, _Calibrating())
        version, _ = self._sk().skeleton(template)
        if cal.index is None or cal.version != version:
            cal.index, cal.version = VerifiedLSH(), version
            sets = self._filled_sets(template, cal.kept)
            cal.index.add_many(sets, self.hasher, template_salt(template))
        return cal.index

    def _flush(self, template: str) -> None:
        """Calibration just ended: index the kept calibration rows with the final skeleton."""
        cal = self._calib.pop(template, None)
        if cal is None:
            return
        sets = self._filled_sets(template, cal.kept)
        if sets:
            sigs = self.hasher.signatures_of_sets(sets)
            keys = self.hasher.band_keys(sigs, template_salt(template))
            self._pending.update(_as_stored(keys.ravel().tolist()))
            self._indexed += len(sets)

    def state(self) -> dict[str, Any]:
        """The band-key index, keys not yet in it, the calibrating templates' kept rows
        (their verified indexes are rebuilt on use), and the skeletons if its own."""
        if self._corpus is not None:  # synth filter and synth qa read a corpus in one go
            raise ValueError("a near_dedup filter in corpus mode has no resume state")
        flat = self._index._table.ravel()
        # An index far from full is saved as its used slots. Counted first: the slots'
        # positions of a full 32 MiB index would be a 32 MiB array made at every
        # checkpoint only to be dropped (a 300M-token run's peak memory).
        sparse = 2 * int(np.count_nonzero(flat)) < flat.size
        used = np.flatnonzero(flat).view(np.uint64) if sparse else None
        return {
            "index": {
                "bits": self._index._bits,
                "n": self._index._n,
                "evicted": self._index.evicted,
                "size": int(flat.size),
                **({"slots": used, "keys": flat[used]} if sparse else {"table": flat}),
            },
            "pending": np.array(sorted(self._pending), dtype=np.uint64),
            "calibrating": {t: list(c.kept) for t, c in self._calib.items()},
            "indexed": self._indexed,
            "skeletons": self._sk().state() if self.owns_skeletons else None,
        }

    def restore(self, state: dict[str, Any]) -> None:
        ix = state["index"]
        if ix["bits"] != self._index._bits or ix["size"] != self._index._table.size:
            raise ValueError("the near-duplicate index does not fit index_mb")
        if "table" in ix:
            table = _u64(ix["table"])
        else:
            slots, keys = _u64(ix["slots"]), _u64(ix["keys"])
            if slots.size != keys.size or (slots.size and int(slots.max()) >= ix["size"]):
                raise ValueError("the near-duplicate index's slots do not fit it")
            table = np.zeros(ix["size"], dtype=np.uint64)
            table[slots.astype(np.int64)] = keys
        if table.size != ix["size"]:
            raise ValueError("the near-duplicate index does not fit index_mb")
        self._index.__setstate__(
            {"bits": ix["bits"], "table": table, "n": int(ix["n"]), "evicted": int(ix["evicted"])}
        )
        self._pending = set(_u64(state["pending"]).tolist())
        self._calib = {
            str(t): _Calibrating([_u64(a) for a in kept])
            for t, kept in state["calibrating"].items()
        }
        self._indexed = int(state["indexed"])
        if self.owns_skeletons:
            self._sk().restore(state["skeletons"])
        self._prepared, self._last = {}, (None, None, None)

    def stats(self) -> dict[str, Any]:
        if self._corpus is not None:
            return self._corpus.stats()
        self._flush_pending()
        n = self._indexed
        return {
            **self._sk().stats(),
            "indexed_samples": n,
            "band_keys": len(self._index),
            "band_keys_forgotten": self._index.evicted,
            "table_bytes": self._index.nbytes,
        }


def _u64(a: Any) -> np.ndarray:
    """A saved uint64 array, checked (a resumed run's state is read back from disk)."""
    if not isinstance(a, np.ndarray) or a.dtype != np.uint64 or a.ndim != 1:
        raise ValueError("a saved hash array is not a flat uint64 array")
    return a
