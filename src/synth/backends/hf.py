"""The `hf` engine: transformers `generate` in this process, on CPU or GPU, batched with
left padding.

`--model` is a model folder (config.json + weights), a `.gguf` file, or a folder that
holds one `.gguf` file. A GGUF is converted once (transformers dequantizes it) and the
converted folder is kept in `~/.cache/synth/gguf/` (or `$SYNTH_CACHE_DIR/gguf/`), so
later runs load in seconds instead of re-reading the GGUF.

Requests are sorted by prompt length and batched (`batch_size`, default 8) to waste
little on padding. transformers samples a whole batch from one generator, so each
batch is seeded from its requests' seeds: the same batch gives the same outputs, and
the response cache makes a re-run return them whatever the batching.
Structured output (schema/regex) is not enforced here; the realiser checks it.

While a batch generates, `live_tokens` counts the tokens its rows have written so far
(a stopping criterion that never stops looks at each step's last tokens), so the
progress line's tokens/s is what the model is doing now, not what the last finished
batch did: one CPU batch of long prompts takes minutes.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from synth.backends.base import Completion, Counters, OnDone, Request, need_extra
from synth.errors import UserError
from synth.paths import cache_root
from synth.rng import derive_seed
from synth.shards.atomic import atomic_dir


def _passive_threads() -> None:
    """Idle OpenMP threads sleep instead of spinning. Measured on a 2-core machine with
    another busy process: 2 tok/s with spinning threads, 31 tok/s without. Only has an
    effect before torch is first imported (synth imports it here, on first use)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def find_gguf(model: str) -> Path | None:
    """The GGUF file `model` names (a file, or a folder holding exactly one), else None."""
    p = Path(model)
    if p.is_file() and p.suffix == ".gguf":
        return p
    if p.is_dir() and not (p / "config.json").is_file():
        ggufs = sorted(p.glob("*.gguf"))
        if len(ggufs) == 1:
            return ggufs[0]
        if len(ggufs) > 1:
            raise UserError(f"--model: {p} holds several .gguf files; name one of them")
    return None


def convert_gguf(gguf: Path, out: Path | None = None) -> Path:
    """A transformers model folder (safetensors) made from a GGUF file; reused when it
    exists. Also what vLLM needs: it loads folders, not this GGUF."""
    st = gguf.stat()
    ident = f"{gguf.resolve()}\0{st.st_size}\0{st.st_mtime_ns}"
    key = hashlib.sha256(ident.encode()).hexdigest()[:16]
    out = out or cache_root() / "gguf" / f"{gguf.stem}-{key}"
    if (out / "config.json").is_file():
        return out
    _passive_threads()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # The loaded weights are plain tensors; the GGUF quantizer only blocks saving.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(out) as tmp:  # whole or not at all: a killed conversion is redone
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
    return out


class HFEngine:
    name = "hf"
    OPTIONS = ("device", "dtype", "threads", "batch_size")

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        batch_size: int = 8,
    ):
        self.source = model
        p = Path(model)
        if not p.exists():
            raise UserError(
                f"--model: {model} does not exist (the hf backend loads local folders or .gguf files)"
            )
        self.gguf = find_gguf(model)
        if self.gguf is not None:
            need_extra("hf", "gguf", "accelerate")  # transformers reads GGUF with these
        if self.gguf is None and not (p / "config.json").is_file():
            raise UserError(
                f"--model: {model} is neither a model folder (config.json) nor a .gguf file"
            )
        self.model = str(p.resolve())
        self.device = device
        self.dtype = dtype
        self.threads = threads
        self.batch_size = batch_size
        self.counters = Counters()
        self._tok = self._lm = None
        self._busy_since: float | None = None
        self.live_tokens = 0  # tokens of the batch generating now (counted when it ends)

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> HFEngine:
        model = opts.pop("model", None)
        if not model:
            raise UserError("--backend hf needs --model: a model folder or a .gguf file")
        return cls(str(model), **opts)

    # loading (deferred: a run whose rows need no LLM never loads the model)

    def _load(self) -> None:
        _passive_threads()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its loading bars would break synth's progress line
        if self.threads:
            torch.set_num_threads(int(self.threads))
        folder = convert_gguf(self.gguf) if self.gguf is not None else Path(self.model)
        device = self.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = self.dtype
        if dtype == "auto":
            # bf16 matmuls are slow on most CPUs; GPUs take the checkpoint's own dtype.
            dtype = torch.float32 if device == "cpu" else "auto"
        elif isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        tok = AutoTokenizer.from_pretrained(str(folder))
        tok.padding_side = "left"  # decoder-only batches grow on the right
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        lm = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
        lm.to(device)
        lm.eval()
        self._tok, self._lm, self._device = tok, lm, device

    # generation

    def generate(
        self, requests: Sequence[Request], on_done: OnDone | None = None
    ) -> list[Completion]:
        if self._lm is None:
            self._load()
        texts = [self._prompt(r) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(texts[i]))
        out: list[Completion | None] = [None] * len(requests)
        t0 = time.perf_counter()
        self._busy_since = time.perf_counter()
        try:
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                for i, c in zip(
                    idx, self._batch([requests[i] for i in idx], [texts[i] for i in idx])
                ):
                    out[i] = c
                    if on_done is not None:
                        on_done(i, c)
        finally:
            self._busy_since = None
            self.counters.engine_seconds += time.perf_counter() - t0
        return [c for c in out if c is not None]

    def busy_seconds(self) -> float:
        live = time.perf_counter() - self._busy_since if self._busy_since is not None else 0.0
        return self.counters.engine_seconds + live

    def _prompt(self, r: Request) -> str:
        if r.messages is not None:
            return self._tok.apply_chat_template(
                r.messages, tokenize=False, add_generation_prompt=True
            )
        return r.prompt or ""

    def _batch(self, requests: list[Request], texts: list[str]) -> list[Completion]:
        """One `generate` call. Requests with different sampling parameters share the
        call when they agree on everything but the seed and `max_tokens` (the realiser's
        case: each request's length limit is kept per row, inside the batch)."""
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            s = r.sampling
            groups.setdefault((s.temperature, s.top_p, s.stop), []).append(i)
        out: list[Completion | None] = [None] * len(requests)
        for idx in groups.values():
            for i, c in zip(
                idx, self._generate([requests[i] for i in idx], [texts[i] for i in idx])
            ):
                out[i] = c
        return [c for c in out if c is not None]

    def _generate(self, requests: list[Request], texts: list[str]) -> list[Completion]:
        import torch

        s = requests[0].sampling
        enc = self._tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self._device
        )
        torch.manual_seed(derive_seed(*[r.sampling.seed for r in requests]) & 0x7FFFFFFF)
        limits = [r.sampling.max_tokens for r in requests]
        prompt_len = enc["input_ids"].shape[1]
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(limits),
            "pad_token_id": self._tok.pad_token_id,
        }
        criteria = [_counting(self, _eos_ids(self._lm, self._tok) | {self._tok.pad_token_id})]
        if min(limits) < max(limits):
            # A batch runs until its last row stops: without per-row limits one rambling
            # reply keeps every finished row's slot busy up to the largest limit.
            criteria.append(_row_limits(prompt_len, limits, self._device))
        kwargs["stopping_criteria"] = _criteria(criteria)
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None)
        if s.stop:
            kwargs.update(stop_strings=list(s.stop), tokenizer=self._tok)
        self.counters.requests += len(requests)
        self.counters.in_flight += len(requests)
        try:
            with torch.inference_mode():
                gen = self._lm.generate(**enc, **kwargs)
        finally:
            self.counters.in_flight -= len(requests)
            self.live_tokens = 0
        prompt_tokens = enc["attention_mask"].sum(dim=1).tolist()
        eos = _eos_ids(self._lm, self._tok)
        out = []
        for row, n_prompt, limit in zip(gen[:, prompt_len:].tolist(), prompt_tokens, limits):
            row = row[:limit]
            n, finish = len(row), "length"
            for k, t in enumerate(row):
                if t in eos:
                    n, finish = k + 1, "stop"
                    break
            text = self._tok.decode(row[:n], skip_special_tokens=True)
            text, stopped = _cut_stop(text, s.stop)
            out.append(Completion(text, int(n_prompt), n, "stop" if stopped else finish))
            self.counters.generated_tokens += n
            self.counters.prompt_tokens += int(n_prompt)
        return out


def _criteria(criteria: list[Any]) -> Any:
    from transformers import StoppingCriteriaList

    return StoppingCriteriaList(criteria)


def _row_limits(prompt_len: int, limits: list[int], device: Any) -> Any:
    """A stopping criterion that ends each row at its own `max_tokens`."""
    import torch
    from transformers import StoppingCriteria

    ends = torch.tensor([prompt_len + n for n in limits], device=device)

    class RowLimits(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return input_ids.shape[1] >= ends

    return RowLimits()


def _counting(engine: HFEngine, done_ids: set[int]) -> Any:
    """A criterion that stops nothing: adds each step's new tokens of rows still writing
    (the last token is not an end or padding token) to `engine.live_tokens`."""
    import torch
    from transformers import StoppingCriteria

    ends = torch.tensor(sorted(done_ids))

    class Counting(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            last = input_ids[:, -1]
            engine.live_tokens += int((~torch.isin(last, ends.to(last.device))).sum())
            return torch.zeros(last.shape[0], dtype=torch.bool, device=last.device)

    return Counting()


def _eos_ids(lm: Any, tok: Any) -> set[int]:
    ids = getattr(lm.generation_config, "eos_token_id", None)
    ids = ids if isinstance(ids, list) else [ids]
    return {i for i in [*ids, tok.eos_token_id] if i is not None}


def _cut_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    cuts = [text.find(s) for s in stop if s and s in text]
    return (text[: min(cuts)], True) if cuts else (text, False)
