"""Memory and time of the frame count of `synth qa` (synth.qa.frames) on a synthetic
stream of many sentences, nearly all of them distinct frames (the worst case for its
bounded sample and heavy-hitter summary). One process. Prints; asserts nothing.

    python bench/frames.py --sentences 10M --groups 12
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
import tracemalloc

from synth.qa.frames import FrameMeter
from synth.row import Row

WORDS = ["".join(random.Random(i).choices("aeioubdfgklmnprstvz", k=6)) for i in range(5000)]


KINDS = [_k + "ex" for _k in WORDS[:500]]


def _word(rng: random.Random) -> str:
    return "".join(rng.choices("aeioubdfgklmnprstvz", k=7))


def rows(n_sentences: int, groups: int, per_row: int = 20, seed: int = 0):
    """Rows of `per_row` sentences of random words around two world words each."""
    rng = random.Random(seed)
    made = 0
    i = 0
    while made < n_sentences:
        names = [f"{_word(rng).title()} {_word(rng).title()}" for _ in range(per_row)]
        kinds = [KINDS[rng.randrange(len(KINDS))] for _ in range(per_row)]
        text = " ".join(
            f"{name} {' '.join(rng.choices(WORDS, k=6))} {kind}."
            for name, kind in zip(names, kinds)
        )
        facts = [[name, "is_a", kind] for name, kind in zip(names, kinds)]
        yield Row(
            id=str(i), text=text, messages=None, n_tokens=0, tier="", kind="",
            template=f"t{i % groups}", lang="en", stage=-1, concepts=[], difficulty=-1,
            answer=None, formal=json.dumps({"facts": facts}), seed=0,
        )  # fmt: skip
        made += per_row
        i += 1


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sentences", default="2M", help="sentences to stream (k, M suffixes)")
    ap.add_argument("--groups", type=int, default=12, help="templates they are spread over")
    ap.add_argument("--trace", action="store_true", help="peak Python memory (tracemalloc; slow)")
    args = ap.parse_args()
    scale = {"k": 1_000, "M": 1_000_000}
    s = args.sentences
    n = int(float(s[:-1]) * scale[s[-1]]) if s[-1] in scale else int(s)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.trace:
        tracemalloc.start()
    meter = FrameMeter()
    cpu = 0.0
    batch: list[Row] = []
    for row in rows(n, args.groups):
        batch.append(row)
        if len(batch) == 1024:
            t0 = time.process_time()
            meter.add(batch)
            cpu += time.process_time() - t0
            batch = []
    t0 = time.process_time()
    meter.add(batch)
    out = meter.to_json()
    cpu += time.process_time() - t0
    o = out["overall"]
    print(f"sentences {o['sentences']:,} in {args.groups} groups; masked {meter.masked:,}")
    print(
        f"distinct frames per 100k: {o['distinct_per_100k']:,}; top-100 share {o['top_100_share']}"
    )
    print(f"frame count cpu {cpu:.1f} s ({cpu / o['sentences'] * 1e6:.1f} us per sentence)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max RSS {rss / 1024:.0f} MiB ({(rss - rss0) / 1024:.0f} MiB over the start)")
    if args.trace:
        print(f"peak traced memory {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MiB")
    m = meter.masker
    print(f"lexicon forms {len(m.lex) + len(m.lex_stems):,}, started again {m.resets} times")


if __name__ == "__main__":
    main()
