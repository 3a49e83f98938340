"""Near duplicates in a corpus synth did not make (`synth filter`, `synth qa`).

A row is a near copy when its *varying part* — its word 5-gram shingles outside the
corpus's boilerplate passages — has Jaccard >= `similarity` (0.8) with the varying part
of an earlier kept row. Boilerplate may be discounted; it never decides, and it never
hides a copy:

- Boilerplate is a passage: a 16-word window that at least `boilerplate_rows` (10)
  sampled rows hold word for word (an instruction, a preamble, a footer). A shingle is
  boilerplate when all its words lie in such windows. Frequent *phrases* are not: prose
  from small phrase pools has hundreds of 5-grams in 10+ rows of 300 and almost no
  16-word window in 10, so a two-word edit of a paragraph stays a copy. Discounting
  every 5-gram that 10 sampled rows hold took 113 of the 174 shingles out of a
  paragraph of tests/test_filter_cli.py's prose and left its two-word edit at J 0.74:
  hidden.
- The sample is learned before the first decision, from the whole corpus: the
  `sample_rows` rows (20k) with the smallest hash of their content, a uniform sample of
  the distinct contents whatever the order (a corpus sorted by task has its last task in
  it, where generation's first-200-rows calibration knew only the first). Distinct
  contents: exact copies never make a passage. A cluster of near copies does when 10 of
  its rows are sampled (0.05% of a large corpus, 10 rows of a small one): for such a
  cluster a copy and a template's sibling look the same, and only the count tells them
  apart. exact_dedup still removes its exact copies.
- Rows are compared across groups: the same problem under two task names, or in two
  wordings of one instruction, is a copy. The grouping column (`--group`, else
  `template`, else one group) says how the findings are counted and what the threshold
  means for each group's rows: `whole_row_jaccard`, the whole-row Jaccard of two median
  rows of the group at `similarity` on their varying parts.
- Candidates come from LSH on the varying part, 20 bands x 6 rows: a pair is a
  candidate with probability 0.27 at J 0.5, 0.92 at 0.7, 0.998 at 0.8. Each candidate
  is confirmed by a Jaccard estimate from stored signatures: the same 120 permutations,
  the low 8 bits of each (b-bit MinHash, its chance agreement of 1/256 corrected). The
  estimate's standard deviation at J 0.8 is 0.037; a candidate is a copy when its
  estimate is >= similarity - 2 sd (0.727). In all a pair is removed with probability
  0.0014 at J 0.6, 0.24 at 0.7, 0.975 at 0.8, 0.9998 at 0.85, where generation's
  unconfirmed 14 x 8 LSH gives 0.21, 0.56, 0.92 and 0.988.

Memory is fixed: signatures live in a ring of rows (as many as the corpus has, up to
2^18 at index_mb 32; 120 bytes and an id a row), band keys in a table of 32-bit entries
(a tag and the ring slot, 8 ways a bucket, 32 entries per ring row; 32 MB at 2^18). A key
whose slot was reused points to a newer row, which the estimate then judges; rows further
back than the ring are forgotten (`forgotten_rows`). Decisions depend on the row order,
not on batch sizes (up to 64 rows of a batch sharing one band key, and until the table
evicts). Word hashes come from the text's bytes in numpy (no Python string per word),
and the sampled rows' varying parts are kept for the filtering pass: on the bench below
synth filter's near-dup step runs ~5x as fast as datasketch's MinHashLSH.

Evidence: bench/dedup_foreign.py (18 reasoning-task families with long instructions,
planted pairs per band of varying-part Jaccard; figures and machine in the README's
filter section): recall 0.99+ at J >= 0.8 and no clean row removed, in mixed order or
sorted by task, where generation's streaming mode removes 8% of the clean rows (45%
sorted by task) and datasketch's MinHashLSH(0.8) 26%.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from synth.filters.base import sample_content, stable_hash64
from synth.filters.near_dedup import (
    MinHasher,
    isin_sorted,
    ngram_windows,
    sets_by_text,
    splitmix64,
    words_of,
)
from synth.row import Row

BANDS, ROWS = 20, 6  # LSH over 120 permutations; the same 120 confirm a candidate
SIGMAS = 2.0  # the cut sits this many standard deviations of the estimate below similarity
PASSAGE = 16  # words of a window that, held by boilerplate_rows sampled rows, is boilerplate
SAMPLE_CHARS = 32_768  # a sampled row's content beyond this (first and last halves kept) is cut
ENTRY_SLOTS = 32  # key-table entries per ring row
EXAMPLES = 3  # example pairs kept per group, for found pairs and for near misses
NEAR_MISS = 0.5  # a confirmed candidate at or above this (and below the cut) is a near miss
BUCKET_CAP = 64  # rows of a batch sharing one band key that are paired with the rest
MAX_GROUPS = 1000  # groups tracked one by one; more are counted together
OTHER = "(other groups)"
_BBIT = 256


def cut_for(similarity: float, perms: int = BANDS * ROWS) -> float:
    """The estimate at or above which a candidate is a near duplicate."""
    p = similarity + (1 - similarity) / _BBIT
    sd = (p * (1 - p) / perms) ** 0.5 / (1 - 1 / _BBIT)
    return max(0.0, similarity - SIGMAS * sd)


def whole_row_jaccard(similarity: float, boilerplate: float, varying: float) -> float:
    """Whole-row Jaccard of two rows that each hold `boilerplate` shared shingles and
    `varying` own ones, at `similarity` on the varying part: what the threshold means
    for a row of the group."""
    if varying <= 0:
        return 1.0
    u = 2 * varying / (1 + similarity)
    return (boilerplate + similarity * u) / (boilerplate + u)


# --- boilerplate, from a sample ----------------------------------------------------------


def content_hash(row: Row) -> int:
    return stable_hash64(sample_content(row), salt=b"near-sample")


# Word hashes straight from the text's bytes: no Python string per word. A word is a run
# of \w characters, lowercased, as `words_of` has it: for ASCII text the bytes of
# [a-z0-9_] (after lower()); other text goes through `words_of` and is joined with
# spaces, each byte >= 0x80 then counting as a word byte, so that a word hashes the
# same in both. The hash is a sum of byte x a random odd multiplier per place in the
# word, mixed by splitmix64 with the length: only equality matters, within one run.
_WORD_BYTE = np.zeros(256, dtype=bool)
_WORD_BYTE[list(b"abcdefghijklmnopqrstuvwxyz0123456789_")] = True
_WORD_BYTE[0x80:] = True
_PLACES = 256  # places in a word with their own multiplier (longer words reuse the last)
_PLACE_MULTS = np.random.default_rng(0x5EED5).integers(
    0, 1 << 63, _PLACES, dtype=np.uint64
) * np.uint64(2) + np.uint64(1)
_EMPTY_WORD = np.uint64(0x9E3779B97F4A7C15)  # the padding word of a text under ngram words


def text_word_hashes(texts: Sequence[str], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """(the word hashes of several texts in one array, the words per text); a text of
    fewer than `ngram` words is padded to one shingle of all its words."""
    parts = [t.lower() if t.isascii() else " ".join(words_of(t)) for t in texts]
    data = np.frombuffer("\n".join(parts).encode("utf-8"), dtype=np.uint8)
    if data.size == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(len(texts), dtype=np.int64)
    word = _WORD_BYTE[data]
    edge = np.diff(np.r_[np.int8(0), word.view(np.int8), np.int8(0)])
    starts, ends = np.flatnonzero(edge == 1), np.flatnonzero(edge == -1)
    lengths = ends - starts
    # Place of each word byte in its word.
    place = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    terms = data[word].astype(np.uint64) * _PLACE_MULTS[np.minimum(place, _PLACES - 1)]
    wh = np.add.reduceat(terms, np.cumsum(lengths) - lengths) if starts.size else terms
    wh = splitmix64(wh + lengths.astype(np.uint64) * _EMPTY_WORD)
    # Words per text: the texts' first bytes in `data` (each text is followed by a "\n").
    sizes = [len(p) + 1 if p.isascii() else len(p.encode("utf-8")) + 1 for p in parts[:-1]]
    first = np.cumsum([0, *sizes])
    lens = np.diff(np.r_[np.searchsorted(starts, first), starts.size]).astype(np.int64)
    short = np.flatnonzero((lens > 0) & (lens < ngram))
    if short.size:  # rare: pad those texts, one at a time
        pieces = np.split(wh, np.cumsum(lens)[:-1])
        for i in short.tolist():
            pieces[i] = np.r_[pieces[i], np.full(ngram - lens[i], _EMPTY_WORD, dtype=np.uint64)]
        lens[short] = ngram
        wh = np.concatenate(pieces)
    return wh, lens


def passage_windows(
    hasher: MinHasher, texts: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(word hashes, words per text, PASSAGE-word window hashes in order, windows per
    text) of several texts in one pass."""
    wh, lens = text_word_hashes(texts, hasher.ngram)
    xw, cw = ngram_windows(wh, lens, PASSAGE)
    return wh, lens, xw, cw


def varying_parts(
    hasher: MinHasher,
    words: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    passages: np.ndarray,
) -> tuple[list[np.ndarray], np.ndarray]:
    """(each text's shingles outside boilerplate passages, in order, repeats kept: MinHash
    does not mind them; the count of its shingles inside them). `words` is what
    `passage_windows` gives; `passages` holds the sorted windows many sampled rows hold,
    and a shingle is boilerplate when all its words lie in such windows."""
    wh, lens, xw, cw = words
    n = hasher.ngram
    x, counts = ngram_windows(wh, lens, n)
    starts = np.cumsum(lens) - lens  # each text's first word in wh
    if not (xw.size and passages.size):
        return np.split(x, np.cumsum(counts)[:-1]), np.zeros(counts.size, dtype=np.int64)
    hit = isin_sorted(xw, passages)
    first = (np.repeat(starts, cw) + _offsets(cw))[hit]  # a frequent window's first word
    size = wh.size + PASSAGE + 1
    depth = np.cumsum(
        np.bincount(first, minlength=size) - np.bincount(first + PASSAGE, minlength=size)
    )
    inside = np.r_[0, np.cumsum(depth[: wh.size] > 0)]  # words in passages, cumulated
    at = np.repeat(starts, counts) + _offsets(counts)  # each shingle's first word
    keep = (inside[at + n] - inside[at]) < n
    kept = _kept_counts(keep, counts)
    return np.split(x[keep], np.cumsum(kept)[:-1]), counts - kept


def _kept_counts(keep: np.ndarray, counts: np.ndarray) -> np.ndarray:
    doc = np.repeat(np.arange(counts.size), counts)
    return np.bincount(doc[keep], minlength=counts.size)


def _offsets(counts: np.ndarray) -> np.ndarray:
    """Each item's place in its text, for items of several texts in one array."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)


class BoilerplateSample:
    """The rows with the smallest content hashes (bottom-k: uniform, order-free) and, at
    the end, the passages many of them share."""

    def __init__(self, hasher: MinHasher, rows: int, min_rows: int) -> None:
        if rows < 1 or min_rows < 2:
            raise ValueError("sample_rows must be >= 1 and boilerplate_rows >= 2")
        self.hasher, self.size, self.min_rows = hasher, rows, min_rows
        self._heap: list[tuple[int, str, str, bool]] = []  # (-hash, group, content, whole)
        self._hashes: set[int] = set()
        self.seen = 0
        # content hash -> the row's varying part, after boilerplate()
        self.reuse: dict[int, np.ndarray] = {}

    def add(self, rows: Sequence[Row]) -> None:
        """Offer rows to the sample; only their content is kept (shingled at the end, so a
        row that enters and later leaves costs a hash)."""
        self.seen += len(rows)
        heap, hashes = self._heap, self._hashes
        for r in rows:
            text = sample_content(r)
            h = stable_hash64(text, salt=b"near-sample")
            if h in hashes:
                continue
            if len(heap) >= self.size and h >= -heap[0][0]:
                continue
            if len(text) > SAMPLE_CHARS:  # a row this long is not kept whole
                text = text[: SAMPLE_CHARS // 2] + "\n" + text[-SAMPLE_CHARS // 2 :]
                item = (-h, r.template, text, False)
            else:
                item = (-h, r.template, text, True)
            if len(heap) >= self.size:
                heapq.heapreplace(heap, item)
            else:
                heapq.heappush(heap, item)
            hashes.add(h)
        if len(hashes) > 2 * self.size:  # forget hashes that left the sample
            self._hashes = {-t[0] for t in heap}

    def boilerplate(self) -> tuple[np.ndarray, dict[str, dict]]:
        """(the PASSAGE-word windows at least `min_rows` sampled rows hold, sorted;
        per-group figures). The sampled rows' varying parts go to `reuse`."""
        items = sorted(self._heap, key=lambda t: -t[0])  # by hash: the same in any order
        batches, windows = [], []
        for start in range(0, len(items), 1024):
            words = passage_windows(self.hasher, [t[2] for t in items[start : start + 1024]])
            batches.append(words)
            windows += sets_by_text(words[2], words[3])
        passages = self._frequent(windows)
        varying: list[np.ndarray] = []
        fixed: list[int] = []
        for words in batches:
            sets, inside = varying_parts(self.hasher, words, passages)
            varying += sets
            fixed += inside.tolist()
        # The sampled rows' varying parts serve the filtering pass once more (the sample
        # is the whole of a corpus up to `size` rows); a cut row's are not its own.
        self.reuse = {-t[0]: v for t, v in zip(items, varying, strict=True) if t[3]}
        by_group: dict[str, list[int]] = {}
        for k, t in enumerate(items):
            by_group.setdefault(t[1], []).append(k)
        info: dict[str, dict] = {}
        for g, idx in by_group.items():
            info[g] = {
                "sampled_rows": len(idx),
                "median_boilerplate": float(np.median([fixed[k] for k in idx])),
                "median_varying": float(np.median([varying[k].size for k in idx])),
            }
        self._heap, self._hashes = [], set()
        return passages, info

    def _frequent(self, sets: list[np.ndarray]) -> np.ndarray:
        if not sets:
            return np.zeros(0, dtype=np.uint64)
        values, counts = np.unique(np.concatenate(sets), return_counts=True)
        return values[counts >= self.min_rows]


# --- the index: band keys -> ring slots -> b-bit signatures -------------------------------


class SignatureIndex:
    """Band keys pointing at rows of a ring of b-bit signatures, in fixed memory."""

    WAYS = 8

    def __init__(self, ring_bits: int, bands: int, perms: int) -> None:
        self.ring_bits = ring_bits
        self.capacity = 1 << ring_bits
        self._slot_mask = np.uint32(self.capacity - 1)
        self._tag_bits = 32 - ring_bits
        entries = self.capacity * ENTRY_SLOTS
        self._bucket_bits = max(0, (entries // self.WAYS).bit_length() - 1)
        self._table = np.zeros((1 << self._bucket_bits, self.WAYS), dtype=np.uint32)
        self.sigs = np.zeros((self.capacity, perms), dtype=np.uint8)
        self.ids: list[str | None] = [None] * self.capacity
        self.written = 0  # rows put in the ring so far (the next slot is written % capacity)
        self.evicted = 0  # table entries that gave way in full buckets

    @property
    def nbytes(self) -> int:
        return int(self._table.nbytes + self.sigs.nbytes + 8 * self.capacity)

    def _where(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bucket, tag) of band keys; tags are never 0 (0 marks an empty entry)."""
        if self._bucket_bits == 0:
            bucket = np.zeros(keys.shape, dtype=np.int64)
        else:
            bucket = (keys >> np.uint64(64 - self._bucket_bits)).astype(np.int64)
        tag = (keys & np.uint64((1 << self._tag_bits) - 1)).astype(np.uint32)
        tag[tag == 0] = 1
        return bucket, tag

    def candidates(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, slot) pairs, unique: rows of `keys` (n, bands) and ring slots that share
        a band key with them (up to a tag collision, which the estimate then judges)."""
        bucket, tag = self._where(keys)
        ent = self._table[bucket]  # (n, bands, ways)
        hit = (ent >> np.uint32(self.ring_bits)) == tag[..., None]
        rows, _, _ = np.nonzero(hit)
        slots = (ent[hit] & self._slot_mask).astype(np.int64)
        if rows.size == 0:
            return rows.astype(np.int64), slots
        pair = np.unique(rows.astype(np.int64) * self.capacity + slots)
        return pair // self.capacity, pair % self.capacity

    def estimate(self, bsig: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """Jaccard estimates of b-bit signatures `bsig` (n, perms) against ring `slots`."""
        agree = (self.sigs[slots] == bsig).mean(axis=1)
        return np.clip((agree - 1 / _BBIT) / (1 - 1 / _BBIT), 0.0, 1.0)

    def store(self, bsig: np.ndarray, row_id: str) -> int:
        slot = self.written & (self.capacity - 1)
        self.sigs[slot] = bsig
        self.ids[slot] = row_id
        self.written += 1
        return slot

    def add(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Enter band keys (m, bands) for ring slots (m,)."""
        if keys.size == 0:
            return
        bucket, tag = self._where(keys)
        entry = (tag << np.uint32(self.ring_bits)) | slots.astype(np.uint32)[:, None]
        bucket, entry = bucket.ravel(), entry.ravel()
        table, ways = self._table, self.WAYS
        while bucket.size:  # one entry per bucket per round: several may share one
            _, first = np.unique(bucket, return_index=True)
            b, e = bucket[first], entry[first]
            row = table[b]
            present = (row == e[:, None]).any(axis=1)
            empty = row == 0
            free = empty.any(axis=1)
            way = np.where(free, empty.argmax(axis=1), (e % ways).astype(np.int64))
            put = ~present
            table[b[put], way[put]] = e[put]
            self.evicted += int((put & ~free).sum())
            rest = np.ones(bucket.size, dtype=bool)
            rest[first] = False
            bucket, entry = bucket[rest], entry[rest]


def ring_bits_for(index_mb: int) -> int:
    """Ring rows for a memory budget: 2^18 at 32 MB of key table (~66 MB in all)."""
    rows = (index_mb << 20) // (4 * ENTRY_SLOTS)
    return max(4, min(24, rows.bit_length() - 1))


# --- per-group account ------------------------------------------------------------------


@dataclass
class GroupAccount:
    rows: int = 0
    compared: int = 0
    found: int = 0
    near_misses: int = 0
    examples: list[tuple[int, dict]] = field(default_factory=list)  # (-priority, example)
    misses: list[tuple[int, dict]] = field(default_factory=list)

    def keep(self, heap: list[tuple[int, dict]], row_id: str, example: dict) -> None:
        prio = stable_hash64(row_id, salt=b"near-example")
        if len(heap) < EXAMPLES:
            heapq.heappush(heap, (-prio, example))
        elif prio < -heap[0][0]:
            heapq.heapreplace(heap, (-prio, example))

    @staticmethod
    def listed(heap: list[tuple[int, dict]]) -> list[dict]:
        return [e for _, e in sorted(heap, key=lambda t: -t[0])]


# --- the filter's corpus mode -------------------------------------------------------------


class CorpusNearDedup:
    """What `NearDedupFilter` does once `calibrate` has read a sample of the corpus."""

    def __init__(
        self,
        *,
        similarity: float,
        passages: np.ndarray,
        info: dict[str, dict],
        index_mb: int,
        ngram: int,
        grouping: str,
        sampled: int,
        seen: int,
        min_rows: int,
        reuse: dict[int, np.ndarray] | None = None,
    ) -> None:
        self.similarity = similarity
        self.cut = cut_for(similarity)
        self.hasher = MinHasher(BANDS, ROWS, ngram, seed=2)
        self.passages, self.info = passages, info
        self.grouping, self.sampled, self.sample_of, self.min_rows = (
            grouping,
            sampled,
            seen,
            min_rows,
        )
        # A ring no bigger than the corpus (rows read by the sample), up to the budget.
        bits = min(ring_bits_for(index_mb), max(4, (seen - 1).bit_length()))
        self.index = SignatureIndex(bits, BANDS, BANDS * ROWS)
        self._pending_rows: list[tuple[np.ndarray, int]] = []  # (keys, slot) to index
        # id(row) -> (row, place in batch, keys or None, b-bit signature, best estimate
        # among the indexed rows, its slot)
        self._prepared: dict[int, tuple[Row, int, Any, Any, float, int]] = {}
        self._earlier: dict[int, list[tuple[int, float]]] = {}  # batch row -> candidates
        self._accepted: list[int] = []
        self._last: tuple[Row | None, int, Any, Any] = (None, -1, None, None)
        self.accounts: dict[str, GroupAccount] = {}
        self._reuse = reuse or {}

    # -- the varying part ------------------------------------------------------------

    def _varying(self, rows: Sequence[Row]) -> list[np.ndarray]:
        """The rows' varying parts: the sample's where it holds the row, else computed."""
        out: list[Any] = [None] * len(rows)
        todo = []
        reuse = self._reuse
        for k, r in enumerate(rows):
            v = reuse.pop(content_hash(r), None) if reuse else None
            if v is None:
                todo.append(k)
            else:
                out[k] = v
        if todo:
            words = passage_windows(self.hasher, [sample_content(rows[k]) for k in todo])
            for k, v in zip(todo, varying_parts(self.hasher, words, self.passages)[0], strict=True):
                out[k] = v
        return out

    def _signatures(self, rows: Sequence[Row]) -> list[Any]:
        """Per row: (band keys, b-bit signature) of its varying part, or None when
        nothing varies."""
        varying = self._varying(rows)
        todo = [k for k, v in enumerate(varying) if v.size]
        out: list[Any] = [None] * len(rows)
        if todo:
            sigs = self.hasher.signatures_of_sets([varying[k] for k in todo])
            keys = self.hasher.band_keys(sigs)
            bsig = (sigs & np.uint32(0xFF)).astype(np.uint8)
            for j, k in enumerate(todo):
                out[k] = (keys[j], bsig[j])
        return out

    def prepare(self, rows: Sequence[Row]) -> None:
        """A batch's varying parts and signatures; each row's best match among the rows
        indexed so far, and its candidates among the batch's earlier rows (which count
        once they are accepted). The rows accepted since the last batch join the index
        first."""
        self._flush()
        self._prepared = {}
        self._accepted = [-1] * len(rows)  # batch row -> ring slot once accepted
        sig = self._signatures(rows)
        live = [k for k, s in enumerate(sig) if s is not None]
        best = np.full(len(rows), -1.0)
        slot = np.full(len(rows), -1, dtype=np.int64)
        earlier: dict[int, list[tuple[int, float]]] = {}
        if live:
            keys = np.stack([sig[k][0] for k in live])
            bsig = np.stack([sig[k][1] for k in live])
            if self.index.written:
                r, s = self.index.candidates(keys)
                if r.size:
                    est = self.index.estimate(bsig[r], s)
                    order = np.lexsort((s, -est, r))  # per row: the best estimate first
                    r, s, est = r[order], s[order], est[order]
                    first = np.r_[True, r[1:] != r[:-1]]
                    idx = np.asarray(live)[r[first]]
                    best[idx], slot[idx] = est[first], s[first]
            for a, b, e in _batch_pairs(keys, bsig):
                earlier.setdefault(live[b], []).append((live[a], e))
        for k, r in enumerate(rows):
            keys_k, bs = sig[k] if sig[k] is not None else (None, None)
            self._prepared[id(r)] = (r, k, keys_k, bs, float(best[k]), int(slot[k]))
        self._earlier = earlier

    def _flush(self) -> None:
        if self._pending_rows:
            keys = np.stack([k for k, _ in self._pending_rows])
            slots = np.array([s for _, s in self._pending_rows], dtype=np.int64)
            self.index.add(keys, slots)
        self._pending_rows = []

    # -- decisions -------------------------------------------------------------------

    def reason(self, row: Row) -> str | None:
        hit = self._prepared.get(id(row))
        if hit is None or hit[0] is not row:  # not prepared: a batch of its own
            self.prepare([row])
            hit = self._prepared[id(row)]
        _, k, keys, bsig, best, slot = hit
        acct = self._account(row.template)
        acct.rows += 1
        self._last = (row, k, keys, bsig)
        if keys is None:
            return None  # all boilerplate: exact dedup covers it
        acct.compared += 1
        for a, est in self._earlier.get(k, ()):  # rows of this batch accepted before it
            if self._accepted[a] >= 0 and est > best:
                best, slot = est, self._accepted[a]
        if best >= self.cut:
            acct.found += 1
            acct.keep(acct.examples, row.id, self._example(row, slot, best))
            return "near_dup"
        if best >= NEAR_MISS:
            acct.near_misses += 1
            acct.keep(acct.misses, row.id, self._example(row, slot, best))
        return None

    def _example(self, row: Row, slot: int, est: float) -> dict:
        return {"row": row.id, "near": self.index.ids[slot], "jaccard": round(est, 3)}

    def accept(self, row: Row) -> None:
        last, k, keys, bsig = self._last
        self._last = (None, -1, None, None)
        if last is not row:
            self.reason(row)
            self._account(row.template).rows -= 1  # counted once, in the call above
            _, k, keys, bsig = self._last
            self._last = (None, -1, None, None)
        if keys is None:
            return
        slot = self.index.store(bsig, row.id)
        self._accepted[k] = slot
        self._pending_rows.append((keys, slot))

    def _account(self, group: str) -> GroupAccount:
        acct = self.accounts.get(group)
        if acct is None:
            if len(self.accounts) >= MAX_GROUPS and group != OTHER:
                return self._account(OTHER)
            acct = self.accounts[group] = GroupAccount()
        return acct

    # -- what it says ----------------------------------------------------------------

    def stats(self, top: int = 50) -> dict[str, Any]:
        self._flush()
        groups = sorted(self.accounts.items(), key=lambda kv: (-kv[1].rows, kv[0]))
        listed = {}
        for g, a in groups[:top]:
            info = self.info.get(g)
            d: dict[str, Any] = {
                "rows": a.rows,
                "compared": a.compared,
                "pairs_found": a.found,
                "near_misses": a.near_misses,
                "similarity": self.similarity,
            }
            if info:
                d["sampled_rows"] = info["sampled_rows"]
                d["median_boilerplate_shingles"] = info["median_boilerplate"]
                d["median_varying_shingles"] = info["median_varying"]
                d["whole_row_jaccard"] = round(
                    whole_row_jaccard(
                        self.similarity, info["median_boilerplate"], info["median_varying"]
                    ),
                    3,
                )
            d["examples"] = GroupAccount.listed(a.examples)
            d["near_miss_examples"] = GroupAccount.listed(a.misses)
            listed[g] = d
        return {
            "mode": "corpus",
            "grouping": self.grouping,
            "groups_count": len(self.accounts),
            "similarity": self.similarity,
            "cut": round(self.cut, 4),
            "permutations": BANDS * ROWS,
            "lsh": f"{BANDS}x{ROWS}",
            "sampled_rows": self.sampled,
            "sample_of_rows": self.sample_of,
            "boilerplate_rows": self.min_rows,
            "boilerplate_passage_words": PASSAGE,
            "frequent_passages": int(self.passages.size),
            "indexed_rows": self.index.written,
            "forgotten_rows": max(0, self.index.written - self.index.capacity),
            "key_entries_evicted": self.index.evicted,
            "index_bytes": self.index.nbytes,
            "groups": listed,
        }


def _batch_pairs(keys: np.ndarray, bsig: np.ndarray) -> list[tuple[int, int, float]]:
    """(a, b, estimate) for the rows a < b of a batch that share a band key, their
    estimate at NEAR_MISS or more (below, a pair can decide nothing). A key shared by
    more than BUCKET_CAP rows pairs each with its first BUCKET_CAP only, as the index
    keeps a bucket's first ways."""
    n, bands = keys.shape
    flat = keys.ravel()
    row = np.repeat(np.arange(n), bands)
    order = np.lexsort((row, flat))
    flat, row = flat[order], row[order]
    same = np.r_[False, flat[1:] == flat[:-1]]
    if not same.any():
        return []
    starts = np.flatnonzero(~same)
    group = np.cumsum(~same) - 1
    place = np.arange(flat.size) - starts[group]  # within the rows sharing the key
    c = np.minimum(place, BUCKET_CAP)  # each row pairs with the first c rows of its key
    a = row[np.repeat(starts[group], c) + _offsets(c)]
    b = np.repeat(row, c)
    keep = a != b  # a row holding one key in two bands
    a, b = a[keep], b[keep]
    if a.size == 0:
        return []
    pair = np.unique(a * n + b)
    a, b = pair // n, pair % n
    est = (bsig[a] == bsig[b]).mean(axis=1)
    est = np.clip((est - 1 / _BBIT) / (1 - 1 / _BBIT), 0.0, 1.0)
    ok = est >= NEAR_MISS
    return list(zip(a[ok].tolist(), b[ok].tolist(), est[ok].tolist(), strict=True))


def grouping_label(column: str, option: str | None) -> str:
    """How `synth filter` grouped rows, for filter.json and the terminal."""
    if not column:
        return "one group (no `template` column, no --group)"
    return f"column {column!r}" + (" (--group)" if option else "")


def summary_lines(details: dict[str, Any], top: int = 8) -> list[str]:
    """Terminal lines: the grouping, and the threshold each of the largest groups got."""
    if details.get("mode") != "corpus":
        return []
    n = details["groups_count"]
    lines = [
        f"near_dedup: rows grouped by {details['grouping']}, {n:,} group{'s' if n != 1 else ''}, "
        f"compared across groups; a near copy has Jaccard >= {details['similarity']} on the "
        f"varying part (estimate >= {details['cut']:.3f}), boilerplate passages learned from "
        f"{details['sampled_rows']:,} sampled rows"
    ]
    for g, d in list(details["groups"].items())[:top]:
        line = f"  {g}: {d['pairs_found']:,} of {d['rows']:,} rows near copies"
        if d.get("whole_row_jaccard") is not None:
            line += (
                f"; median row {d['median_boilerplate_shingles']:.0f} boilerplate + "
                f"{d['median_varying_shingles']:.0f} own shingles: whole-row Jaccard >= "
                f"{d['whole_row_jaccard']:.2f}"
            )
        lines.append(line)
    if n > top:
        lines.append(f"  ... {n - top:,} more groups in filter.json")
    return lines


def build_corpus_mode(
    sample: BoilerplateSample,
    *,
    similarity: float,
    index_mb: int,
    ngram: int,
    grouping: str,
) -> CorpusNearDedup:
    seen, sampled = sample.seen, len(sample._heap)
    passages, info = sample.boilerplate()
    return CorpusNearDedup(
        similarity=similarity,
        passages=passages,
        info=info,
        index_mb=index_mb,
        ngram=ngram,
        grouping=grouping,
        sampled=sampled,
        seen=seen,
        min_rows=sample.min_rows,
        reuse=sample.reuse,
    )


def review(rows: list[Row], near: Any, grouping: str) -> dict[str, Any]:
    """The corpus mode over `rows` held in memory (`synth qa`'s sample), with `near`'s
    settings: its per-group findings, as filter.json has them."""
    import dataclasses

    from synth.filters.base import FilterChain

    f = dataclasses.replace(near, skeletons=None, owns_skeletons=True)
    f.calibrate(iter(rows), grouping)
    for _ in FilterChain([f]).filter(rows, batch_size=1024):
        pass
    return f.stats()


def findings_table(details: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(headers, rows) of the per-group findings, for a report's table."""
    heads = ["group", "rows", "near copies", "near misses", "whole-row threshold", "examples"]
    rows = []
    for g, d in details.get("groups", {}).items():
        ex = d["examples"] + d["near_miss_examples"][:1]
        rows.append([g, d["rows"], d["pairs_found"], d["near_misses"], d.get("whole_row_jaccard"),
                     "; ".join(f"{e['row']} ~ {e['near']} ({e['jaccard']})" for e in ex)])  # fmt: skip
    return heads, rows


def sample_boilerplate(
    rows: Iterable[Row], hasher: MinHasher, size: int, min_rows: int, batch: int = 1024
) -> BoilerplateSample:
    """Read `rows` once into a bottom-k sample."""
    sample = BoilerplateSample(hasher, size, min_rows)
    buf: list[Row] = []
    for r in rows:
        buf.append(r)
        if len(buf) >= batch:
            sample.add(buf)
            buf = []
    if buf:
        sample.add(buf)
    return sample
