"""Streaming diversity per template and per stage, for the manifest. Never rejects.

Each group keeps a bounded reservoir of kept rows: the `reservoir` rows with the
smallest hash of their id (deterministic, independent of arrival order), each cut to
`max_chars`. `stats()` reports on it distinct-1/2/3 (distinct word n-grams over all
n-grams) and the zlib ratio of the reservoir's concatenation (low = samples repeat
each other). Compare groups of equal reservoir size: both measures fall as it grows.
"""

from __future__ import annotations

import heapq
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from synth.filters.base import sample_content, stable_hash64
from synth.row import Row

WORD_RE = re.compile(r"\w+")


def distinct_n(token_lists: list[list[str]], n: int) -> float | None:
    """Distinct n-grams over all n-grams, n-grams not crossing samples."""
    total, grams = 0, set()
    for toks in token_lists:
        g = list(zip(*(toks[i:] for i in range(n)), strict=False))  # shifted copies
        total += len(g)
        grams.update(g)
    return round(len(grams) / total, 4) if total else None


@dataclass
class _Reservoir:
    size: int
    seen: int = 0
    heap: list[tuple[int, str, str]] = field(default_factory=list)  # (-priority, id, text)
    # diversity_of(texts()) until the heap changes: every checkpoint's manifest asks for
    # it, and most groups (templates of earlier stages) have not changed since the last.
    _diversity: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, prio: int, row_id: str, text: str) -> None:
        self.seen += 1
        item = (-prio, row_id, text)
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, item)
        elif prio < -self.heap[0][0]:
            heapq.heapreplace(self.heap, item)
        else:
            return
        self._diversity = None

    def wants(self, prio: int) -> bool:
        """Whether `add` with this priority would keep the row."""
        return len(self.heap) < self.size or prio < -self.heap[0][0]

    def texts(self) -> list[str]:
        return [t for _, _, t in sorted(self.heap, key=lambda x: -x[0])]

    def diversity(self) -> dict[str, Any]:
        if self._diversity is None:
            self._diversity = diversity_of(self.texts())
        return self._diversity


def diversity_of(texts: list[str]) -> dict[str, Any]:
    toks = [WORD_RE.findall(t.casefold()) for t in texts]
    blob = "\n".join(texts).encode("utf-8", "surrogatepass")
    return {
        "reservoir": len(texts),
        "distinct_1": distinct_n(toks, 1),
        "distinct_2": distinct_n(toks, 2),
        "distinct_3": distinct_n(toks, 3),
        "compression": round(len(zlib.compress(blob, 6)) / len(blob), 4) if blob else None,
    }


@dataclass
class DiversityFilter:
    name: ClassVar[str] = "diversity"
    reservoir: int = 200
    max_chars: int = 2000
    _groups: dict[tuple[str, str], _Reservoir] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.reservoir < 1 or self.max_chars < 1:
            raise ValueError("reservoir and max_chars must be >= 1")

    def reason(self, row: Row) -> str | None:
        return None

    def accept(self, row: Row) -> None:
        prio = stable_hash64(row.id)
        text = None  # cut only for a reservoir that keeps the row: most rows go by
        for key in (("templates", row.template), ("stages", str(row.stage))):
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Reservoir(self.reservoir)
            if group.wants(prio):
                if text is None:
                    text = sample_content(row)[: self.max_chars]
                group.add(prio, row.id, text)
            else:
                group.seen += 1

    def state(self) -> dict[str, Any]:
        return {
            "groups": [
                [kind, name, g.seen, [list(item) for item in g.heap]]
                for (kind, name), g in self._groups.items()
            ]
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._groups = {}
        for kind, name, seen, heap in state["groups"]:
            if kind not in ("templates", "stages") or len(heap) > self.reservoir:
                raise ValueError("a diversity reservoir does not fit the configuration")
            g = self._groups[(str(kind), str(name))] = _Reservoir(self.reservoir, int(seen))
            g.heap = [(int(p), str(i), str(t)) for p, i, t in heap]

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"templates": {}, "stages": {}}
        for (kind, name), group in sorted(self._groups.items()):
            out[kind][name] = {"rows": group.seen, **group.diversity()}
        return out
