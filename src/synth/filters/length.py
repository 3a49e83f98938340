"""Token count within [min, max] (`row.n_tokens`, chat template included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from synth.row import Row


@dataclass
class LengthFilter:
    name: ClassVar[str] = "length"
    min: int = 8  # below this a sample says nothing: the chat wrapper alone is ~10 tokens
    max: int = 32_768

    def __post_init__(self) -> None:
        if not 0 <= self.min <= self.max:
            raise ValueError(f"need 0 <= min <= max, got min={self.min}, max={self.max}")

    def reason(self, row: Row) -> str | None:
        if row.n_tokens < self.min:
            return "length_short"
        if row.n_tokens > self.max:
            return "length_long"
        return None
