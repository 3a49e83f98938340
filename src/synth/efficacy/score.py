"""Scoring the held-out probes by greedy decoding, with `synth eval`'s rules.

A probe is asked as training QA looked (data.prompt_text); the reply's last `Answer:`
line is compared with the gold answer by synth.evaluate.score_one, and groups are
summarised by synth.evaluate.group_report (accuracy beside the majority-class chance).
The headline groups are the ones the corpus design is about: stated facts, derived
facts by proof depth, and reversed relations.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from synth.efficacy.data import Vocab, prompt_text
from synth.efficacy.model import TinyLM
from synth.evaluate import Probe, group_report, score_one

MAX_REPLY = 80  # units: the longest worked answer of the compact world fits
DECODE_BATCH = 128
CURVE_KINDS = ("stated", "reversed", "derived", "derived-depth-1", "derived-depth-2")


def decode_replies(model: TinyLM, vocab: Vocab, probes: list[Probe]) -> list[str]:
    """Greedy replies, batched by prompt length so little padding is computed."""
    model.eval()
    order = sorted(
        range(len(probes)), key=lambda i: len(probes[i].prompt) + len(probes[i].system or "")
    )
    replies = [""] * len(probes)
    for start in range(0, len(order), DECODE_BATCH):
        chunk = order[start : start + DECODE_BATCH]
        ids = [vocab.encode(prompt_text(probes[i].prompt, probes[i].system)) for i in chunk]
        outs = model.greedy(ids, MAX_REPLY, vocab.sep)
        for i, o in zip(chunk, outs):
            replies[i] = vocab.decode(o)
    model.train()
    return replies


def headline(kind: str) -> str | None:
    """The summary group a probe kind belongs to (None: reported by kind only)."""
    if kind == "stated" or kind == "reversed":
        return kind
    m = re.fullmatch(r"derived-depth-(\d+)", kind)
    return f"derived-depth-{m.group(1)}" if m else None


def score_probes(
    probes: list[Probe], replies: list[str], keep_results: bool = True
) -> dict[str, Any]:
    items = []
    results = []
    for p, reply in zip(probes, replies):
        item, row = score_one(p, reply)
        items.append(item)
        if keep_results:
            results.append({**row, "reply": reply})
    by_kind: dict[str, list] = defaultdict(list)
    heads: dict[str, list] = defaultdict(list)
    for it in items:
        by_kind[it[0].probe_kind].append(it)
        h = headline(it[0].probe_kind)
        if h is not None:
            heads[h].append(it)
            if h.startswith("derived-"):
                heads["derived"].append(it)
    out = {
        **group_report(items),
        "headline": {
            k: group_report(v) for k, v in sorted(heads.items(), key=lambda kv: _order(kv[0]))
        },
        "by_probe_kind": {k: group_report(v) for k, v in sorted(by_kind.items())},
    }
    if keep_results:
        out["results"] = results
    return out


def _order(name: str) -> tuple:
    rank = {"stated": 0, "reversed": 1, "derived": 2}
    m = re.fullmatch(r"derived-depth-(\d+)", name)
    return (3, int(m.group(1))) if m else (rank.get(name, 9), 0)
