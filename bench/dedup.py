"""Near-dup benchmark: MinHash speed (ours vs datasketch) and near_dedup precision/recall.

    PYTHONPATH=src python bench/dedup.py [--docs 5000] [--corpus 20000]

Prints numbers; asserts nothing. Runs on one core (numpy's element-wise ops do not
thread). datasketch is a test dependency only: `pip install datasketch`.
"""

from __future__ import annotations

import argparse
import random
import re
import time

import numpy as np

from synth.filters import FilterChain
from synth.filters.exact_dedup import ExactDedupFilter
from synth.filters.near_dedup import MinHasher, NearDedupFilter, words_of
from synth.row import Row

# --- a templated corpus ------------------------------------------------------------------


def nonce_names(n: int, rng: random.Random) -> list[str]:
    syl = [
        a + b for a in ("b", "dr", "f", "gl", "k", "m", "pl", "s", "tr", "v", "z") for b in "aeiou"
    ]
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.sample(syl, rng.randint(2, 3))).capitalize())
    return sorted(names)


class World:
    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(seed)
        self.first, self.last = nonce_names(400, rng), nonce_names(400, rng)
        self.places, self.kinds = nonce_names(80, rng), [k.lower() for k in nonce_names(60, rng)]
        self.jobs = (
            "baker teacher pilot farmer nurse judge miner sailor tailor potter glassblower".split()
        )
        self.traits = (
            "red blue green small large quick slow bright dark heavy striped loud shy".split()
        )
        self.things = "lamp book chair clock key map coin ring bell cup rope kite drum".split()

    def person(self, r: random.Random) -> str:
        return f"{r.choice(self.first)} {r.choice(self.last)}"

    def fact(self, r: random.Random) -> str:
        p, c, k = self.person(r), r.choice(self.places), r.choice(self.kinds)
        return r.choice(
            [
                f"{p} is a {r.choice(self.jobs)} who lives in {c}.",
                f"Every {k} that lives near {c} is {r.choice(self.traits)}.",
                f"{p} owns {r.randint(2, 999)} {r.choice(self.things)}s and a {r.choice(self.traits)} {k}.",
                f"The {r.choice(self.things)} on the table belongs to {p}, the {r.choice(self.jobs)} from {c}.",
                f"No {r.choice(self.jobs)} in {c} has ever seen a {r.choice(self.traits)} {k}.",
                f"In {r.randint(1900, 2024)}, {p} moved from {c} to {r.choice(self.places)}.",
                f"{p} is an ancestor of {self.person(r)}; put the other way, the latter descends from {p}.",
            ]
        )


# Wordy templates: long fixed text around a few facts (on plain shingles, siblings look
# alike); fact lists: a short frame around many facts.
TEMPLATES = {
    "wordy_logic": (
        "Read the facts below carefully and decide whether the statement that follows them is "
        "true, false or unknown. Explain your reasoning in two or three sentences, and give the "
        "final answer on its own line at the end, exactly as asked.",
        (2, 4),
        "Think about which facts matter and which do not, and do not assume anything that the "
        "facts do not say. Under the closed-world reading, what is not stated is false.",
    ),
    "wordy_quiz": (
        "Here is a short quiz about the small world described below. Several facts look alike "
        "and only one of them answers the question, so read every one of them before answering.",
        (2, 4),
        "Only one of the facts mentions the requested person together with the place, so the "
        "answer follows directly from it; the others can be ignored.",
    ),
    "facts_entry": ("Entry.", (8, 16), "End of entry."),
    "facts_story": ("A story of the valley.", (8, 16), "So ends the story."),
    "facts_ledger": ("Records of the town:", (8, 16), "Total as stated."),
}


def render(world: World, tid: str, r: random.Random) -> str:
    intro, (lo, hi), outro = TEMPLATES[tid]
    body = " ".join(world.fact(r) for _ in range(r.randint(lo, hi)))
    q = f"Question: is {world.person(r)} a {r.choice(world.jobs)}?"
    return f"{intro}\n\n{body}\n\n{q}\n\n{outro}\nAnswer: {r.choice(['true', 'false', 'unknown'])}"


def change_words(text: str, k: int, r: random.Random, vocab: list[str]) -> str:
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    out, last = [], 0
    for a, b in sorted(r.sample(spans, k)):
        out += [text[last:a], r.choice(vocab)]
        last = b
    return "".join(out) + text[last:]


def corpus(
    n: int, dup_rate: float = 0.05, seed: int = 0
) -> list[tuple[str, str, str, str | None, int]]:
    """[(id, template, text, id of the original or None, words changed)]."""
    r, world = random.Random(seed), World(seed)
    vocab = world.jobs + world.traits + world.things
    docs: list[tuple[str, str, str, str | None, int]] = []
    originals: list[int] = []
    tids = list(TEMPLATES)
    for i in range(n):
        if originals and r.random() < dup_rate:
            j = r.choice(originals)
            k = r.randint(1, 3)
            docs.append((f"d{i}", docs[j][1], change_words(docs[j][2], k, r, vocab), docs[j][0], k))
        else:
            originals.append(i)
            tid = tids[i % len(tids)]
            docs.append((f"d{i}", tid, render(world, tid, r), None, 0))
    return docs


def as_row(doc: tuple) -> Row:
    i, tid, text = doc[:3]
    return Row(i, text, None, len(text) // 4, "bench", "logic", tid, "en", 0, [], 1, None, None, 0)


# --- speed -------------------------------------------------------------------------------


def shingles_like_ours(text: str, n: int = 5) -> list[bytes]:
    words = words_of(text)
    if len(words) < n:
        words = words + [""] * (n - len(words))
    return [" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)]


def bench_speed(texts: list[str]) -> None:
    print(f"== MinHash signatures, word 5-gram shingles, {len(texts)} docs, one core")
    words = np.mean([len(words_of(t)) for t in texts])
    print(f"   docs average {words:.0f} words")
    for bands, rows in ((16, 8), (14, 8)):
        mh = MinHasher(bands, rows)
        mh.signatures(texts[:200])  # warm the word-hash cache as a long run would have it
        best = min(_timed(lambda mh=mh: mh.signatures(texts)) for _ in range(3))
        print(f"   synth numpy   {bands * rows:3d} perms: {len(texts) / best:9,.0f} docs/s")
    try:
        from datasketch import MinHash
    except ImportError:
        print("   datasketch not installed (pip install datasketch): skipped")
        return
    sub = texts[: min(len(texts), 2000)]

    def run() -> None:
        for t in sub:
            m = MinHash(num_perm=128, seed=1)
            m.update_batch(shingles_like_ours(t))

    best = min(_timed(run) for _ in range(2))
    print(f"   datasketch    128 perms: {len(sub) / best:9,.0f} docs/s (update_batch)")


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --- precision / recall --------------------------------------------------------------------


def bench_quality(n: int) -> None:
    docs = corpus(n)
    planted = {d[0] for d in docs if d[3] is not None}
    print(f"\n== near_dedup on {n} templated docs, {len(planted)} planted near duplicates")
    print(
        "   (1-3 words replaced in a copy of an earlier original; templates: 2 wordy, 3 fact lists)"
    )
    rows = [as_row(d) for d in docs]
    variants = {
        "calibrated skeleton (default)": NearDedupFilter(),
        "plain shingles, per template": NearDedupFilter(calibration=0),
        "synth filter's way (corpus sampled first)": NearDedupFilter(),
    }
    for name, f in variants.items():
        chain = FilterChain([f])
        t0 = time.perf_counter()
        if name.startswith("synth filter"):
            f.calibrate(iter(rows), "column 'template'")
        kept = {r.id for r in chain.filter(rows)}
        secs = time.perf_counter() - t0
        _report(name, docs, planted, kept, secs)
        d = f.stats()
        if d.get("mode") == "corpus":
            _by_varying_jaccard(f, docs, kept)
            continue
        print(
            f"      index: {d['band_keys']:,} band keys in a fixed {d['table_bytes'] >> 20} MiB, {d['band_keys_forgotten']:,} forgotten"
        )
    _datasketch_lsh(docs, planted)
    exact = FilterChain([ExactDedupFilter()])
    for r in rows:
        exact.reason(r)
    d = exact.stats()["filters"]["exact_dedup"]["details"]
    print(f"\n== exact_dedup set: {d['keys']:,} keys, {d['bytes_per_sample']} bytes/sample")


def _by_varying_jaccard(f: NearDedupFilter, docs: list, kept: set) -> None:
    """Recall by the Jaccard of a pair's varying parts, as the corpus mode sees them: it
    removes a copy at 0.8 or more there, and keeps one that is further."""
    from synth.filters.near_corpus import passage_windows, varying_parts

    c = f._corpus

    def varying(text: str) -> set[int]:
        parts, _ = varying_parts(c.hasher, passage_windows(c.hasher, [text]), c.passages)
        return set(parts[0].tolist())

    text = {d[0]: d[2] for d in docs}
    bands: dict[str, list[int]] = {}
    for d in docs:
        if d[3] is not None:
            a, b = varying(text[d[3]]), varying(d[2])
            j = len(a & b) / len(a | b)
            key = "<0.6" if j < 0.6 else ">=0.8" if j >= 0.8 else f"{int(j * 10) / 10:.1f}"
            hit, tot = bands.get(key, (0, 0))
            bands[key] = [hit + (d[0] not in kept), tot + 1]
    order = ["<0.6", "0.6", "0.7", ">=0.8"]
    cells = ", ".join(
        f"{k}: {bands[k][0] / bands[k][1]:.3f} ({bands[k][1]})" for k in order if k in bands
    )
    print(f"      recall by varying-part Jaccard (pairs): {cells}")


def _report(name: str, docs: list, planted: set, kept: set, secs: float) -> None:
    removed = {d[0] for d in docs} - kept
    found, false = len(removed & planted), len(removed - planted)
    distinct = len(docs) - len(planted)
    precision = found / len(removed) if removed else 1.0
    print(
        f"   {name}: recall {found / len(planted):.3f}, precision {precision:.3f}, false "
        f"removals {false / distinct:.2%} of distinct docs, {len(docs) / secs:,.0f} docs/s"
    )
    _breakdown("recall by words changed", [(d[4], d) for d in docs if d[3] is not None], kept)
    _breakdown("recall by template", [(d[1], d) for d in docs if d[3] is not None], kept)
    _breakdown("false removals by template", [(d[1], d) for d in docs if d[3] is None], kept)


def _breakdown(title: str, keyed: list, kept: set) -> None:
    counts: dict = {}
    for key, d in keyed:
        hit, tot = counts.get(key, (0, 0))
        counts[key] = (hit + (d[0] not in kept), tot + 1)
    cells = ", ".join(f"{k}: {h / t:.3f}" for k, (h, t) in sorted(counts.items()))
    print(f"      {title}: {cells}")


def _datasketch_lsh(docs: list, planted: set, limit: int = 10_000) -> None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        return
    docs = docs[:limit]
    planted = planted & {d[0] for d in docs}
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    kept = set()
    t0 = time.perf_counter()
    for d in docs:
        m = MinHash(num_perm=128, seed=1)
        m.update_batch(shingles_like_ours(d[2]))
        if not lsh.query(m):
            lsh.insert(d[0], m)
            kept.add(d[0])
    _report(
        f"datasketch MinHashLSH(0.8), plain, first {len(docs)}",
        docs,
        planted,
        kept,
        time.perf_counter() - t0,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=5000, help="documents for the speed test")
    ap.add_argument("--corpus", type=int, default=20000, help="documents for precision/recall")
    args = ap.parse_args()
    texts = [d[2] for d in corpus(args.docs, dup_rate=0.0, seed=1)]
    bench_speed(texts)
    bench_quality(args.corpus)


if __name__ == "__main__":
    main()
