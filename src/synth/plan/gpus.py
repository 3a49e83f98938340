"""GPU table: memory, dense bf16 tensor throughput and memory bandwidth.

Throughput is the vendor's dense (not 2:4-sparse) BF16 tensor-core peak with FP32
accumulate; training reaches a fraction of it (the MFU assumption). Memory is the
capacity the card reports, in GiB, before the CUDA context takes its share.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from synth.errors import UserError


@dataclass(frozen=True)
class GPU:
    key: str
    name: str
    memory_gib: float
    bf16_tflops: float  # dense peak
    bandwidth_gbs: float  # HBM/GDDR bandwidth, GB/s

    @property
    def memory_bytes(self) -> float:
        return self.memory_gib * 2**30


# Vendor datasheet figures (dense BF16, FP32 accumulate).
GPUS: dict[str, GPU] = {
    g.key: g
    for g in (
        GPU("rtx3090", "RTX 3090 24GB", 24, 71, 936),
        GPU("rtx4090", "RTX 4090 24GB", 24, 165.2, 1008),
        GPU("rtx-a6000", "RTX A6000 48GB", 48, 154.8, 768),
        GPU("rtx6000-ada", "RTX 6000 Ada 48GB", 48, 364.2, 960),
        GPU("rtx-pro-6000", "RTX PRO 6000 Blackwell 96GB", 96, 503.8, 1792),
        GPU("l4", "L4 24GB", 24, 121, 300),
        GPU("l40s", "L40S 48GB", 48, 362, 864),
        GPU("a100-40", "A100 SXM 40GB", 40, 312, 1555),
        GPU("a100-80", "A100 SXM 80GB", 80, 312, 2039),
        GPU("h100-pcie", "H100 PCIe 80GB", 80, 756, 2000),
        GPU("h100-sxm", "H100 SXM 80GB", 80, 989, 3350),
        GPU("h200", "H200 141GB", 141, 989, 4800),
        GPU("b200", "B200 180GB", 180, 2250, 8000),
    )
}

# Loose spellings (after `_key`) -> table key.
_ALIASES = {
    "4090": "rtx4090",
    "3090": "rtx3090",
    "a6000": "rtx-a6000",
    "6000ada": "rtx6000-ada",
    "rtx6000": "rtx6000-ada",
    "rtxpro6000": "rtx-pro-6000",
    "pro6000": "rtx-pro-6000",
    "rtxpro6000blackwell": "rtx-pro-6000",
    "a100": "a100-80",
    "a10080": "a100-80",
    "a10080gb": "a100-80",
    "a10040": "a100-40",
    "a10040gb": "a100-40",
    "h100": "h100-sxm",
    "h100sxm": "h100-sxm",
    "h100pcie": "h100-pcie",
    "h200": "h200",
    "b200": "b200",
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower()).removeprefix("nvidia").removeprefix("geforce")


def find_gpu(name: str) -> GPU:
    k = _key(name)
    table = {_key(g.key): g for g in GPUS.values()}
    if k in table:
        return table[k]
    if k in _ALIASES:
        return GPUS[_ALIASES[k]]
    near = difflib.get_close_matches(name.lower(), list(GPUS), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    raise UserError(
        f"--gpu: unknown GPU {name!r}{hint} (known: {', '.join(GPUS)}; or give --gpu-mem and --gpu-tflops)"
    )


def custom_gpu(
    base: GPU | None, memory_gib: float | None, tflops: float | None, bandwidth_gbs: float | None
) -> GPU:
    """A table GPU with some figures replaced, or a card described only by options."""
    for opt, v in (
        ("--gpu-mem", memory_gib),
        ("--gpu-tflops", tflops),
        ("--gpu-bandwidth", bandwidth_gbs),
    ):
        if v is not None and v <= 0:
            raise UserError(f"{opt}: must be positive, got {v}")
    if base is None:
        if memory_gib is None or tflops is None:
            raise UserError(
                "--gpu-mem and --gpu-tflops: give both to describe a GPU that is not in the table"
            )
        # Without a bandwidth figure, assume a GDDR-class card (~1 TB/s) for decode estimates.
        return GPU(
            "custom", f"custom {memory_gib:g}GiB", memory_gib, tflops, bandwidth_gbs or 1000.0
        )
    changes = {}
    if memory_gib is not None:
        changes["memory_gib"] = memory_gib
    if tflops is not None:
        changes["bf16_tflops"] = tflops
    if bandwidth_gbs is not None:
        changes["bandwidth_gbs"] = bandwidth_gbs
    if not changes:
        return base
    return replace(base, name=f"{base.name} (modified)", **changes)
