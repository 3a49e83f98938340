"""A tiny causal transformer over word units, small enough to train for minutes on
one CPU thread, with a key/value cache so scoring hundreds of probes by greedy
decoding costs seconds rather than minutes."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelConfig:
    vocab: int
    block: int = 256
    layers: int = 4
    width: int = 256
    heads: int = 4

    def to_json(self) -> dict:
        return asdict(self)


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.heads = c.heads
        self.ln1 = nn.LayerNorm(c.width)
        self.qkv = nn.Linear(c.width, 3 * c.width)
        self.proj = nn.Linear(c.width, c.width)
        self.ln2 = nn.LayerNorm(c.width)
        self.mlp = nn.Sequential(
            nn.Linear(c.width, 4 * c.width), nn.GELU(), nn.Linear(4 * c.width, c.width)
        )

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, cache: dict | None
    ) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(w, dim=2)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], dim=2)
                v = torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        if mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, w))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    """GPT-style: learned positions, pre-norm blocks, tied input/output embeddings."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        self.config = c
        self.tok = nn.Embedding(c.vocab, c.width)
        self.pos = nn.Embedding(c.block, c.width)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.ln = nn.LayerNorm(c.width)
        self.apply(self._init)
        for blk in self.blocks:  # GPT-2's scaled init of the residual projections
            for lin in (blk.proj, blk.mlp[2]):
                nn.init.normal_(lin.weight, std=0.02 / math.sqrt(2 * c.layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(
        self,
        idx: torch.Tensor,
        pos: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        caches: list[dict] | None = None,
    ) -> torch.Tensor:
        """Logits for every position. `pos`/`mask`/`caches` serve decoding: positions
        per sequence (left-padded prompts), a boolean attention mask, a cache per layer."""
        if pos is None:
            pos = torch.arange(idx.shape[1], device=idx.device).unsqueeze(0)
        x = self.tok(idx) + self.pos(pos)
        for i, blk in enumerate(self.blocks):
            x = blk(x, mask, caches[i] if caches is not None else None)
        return F.linear(self.ln(x), self.tok.weight)

    def loss(
        self, x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        logits = self(x)
        losses = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="none"
        )
        if weight is None:
            return losses.mean()
        w = weight.reshape(-1).float()
        return (losses * w).sum() / w.sum().clamp(min=1)

    @torch.no_grad()
    def greedy(self, prompts: list[list[int]], max_new: int, stop: int) -> list[list[int]]:
        """Greedy continuations of a batch of prompts (left-padded, masked), each up to
        `max_new` ids or the `stop` id, within the model's context."""
        block = self.config.block
        dev = self.tok.weight.device
        prompts = [p[-(block - 1) :] for p in prompts]
        b, t = len(prompts), max(len(p) for p in prompts)
        max_new = max(0, min(max_new, block - t))
        pad = torch.tensor([t - len(p) for p in prompts], device=dev)
        idx = torch.tensor([[stop] * (t - len(p)) + p for p in prompts], device=dev)
        ar = torch.arange(t, device=dev)
        pos = (ar.unsqueeze(0) - pad.unsqueeze(1)).clamp(min=0)
        valid = ar.unsqueeze(0) >= pad.unsqueeze(1)  # (b, t): real tokens, not padding
        causal = torch.tril(torch.ones(t, t, dtype=torch.bool, device=dev))
        mask = (causal.unsqueeze(0) & valid.unsqueeze(1)) | torch.eye(
            t, dtype=torch.bool, device=dev
        ).unsqueeze(0)
        caches: list[dict] = [{} for _ in self.blocks]
        logits = self(idx, pos, mask.unsqueeze(1), caches)[:, -1]
        out = [[] for _ in range(b)]
        done = [False] * b
        for s in range(max_new):
            nxt = logits.argmax(-1)
            picked = nxt.tolist()
            for i in range(b):
                if not done[i]:
                    if picked[i] == stop:
                        done[i] = True
                    else:
                        out[i].append(picked[i])
            if all(done) or s == max_new - 1:
                break
            valid = torch.cat([valid, torch.ones(b, 1, dtype=torch.bool, device=dev)], dim=1)
            step_pos = (t + s - pad).clamp(min=0).unsqueeze(1)
            logits = self(nxt.unsqueeze(1), step_pos, valid.view(b, 1, 1, -1), caches)[:, -1]
        return out
