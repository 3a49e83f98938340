"""A cap on the share of any one template within a stage.

Once a stage has kept `min_rows` rows, a row is rejected ("template_share") if keeping
it would push its template above its cap of the stage's kept rows. In a run, the cap is
the template's planned share of the stage (its weight, with the stage's replay; the
schedule's `mixes`) times `1 + tolerance`, and at least `slack` above it: the mix a tier's
weights ask for is kept, within a stated tolerance, and a template that other templates'
rejections leave over-represented is held back. Without a plan (`synth filter` over a
corpus synth did not make), the cap is `max_share`, never below 1/k for a stage with k
templates seen so far: a stage built from one template cannot be capped into silence,
and two templates can always be 50/50. (A flat 50% cap contradicted a tier whose weights
give one template 60% of a stage: it rejected 82k rows of the structural tier at 100M.)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from synth.row import Row


@dataclass
class BalanceFilter:
    name: ClassVar[str] = "balance"
    max_share: float = 0.5
    min_rows: int = 1000
    tolerance: float = 0.25  # relative to a template's planned share
    slack: float = 0.03  # and at least this much above it (absolute)
    mixes: list[dict[str, float]] | None = field(
        default=None, repr=False, metadata={"config": False}
    )
    _counts: dict[int, Counter] = field(init=False, repr=False, default_factory=dict)
    # Kept rows per stage: counts.total(), kept up to date instead of summed on every row.
    _totals: dict[int, int] = field(init=False, repr=False, default_factory=dict)
    _rejected: Counter = field(init=False, repr=False, default_factory=Counter)

    def __post_init__(self) -> None:
        if not 0 < self.max_share <= 1:
            raise ValueError("max_share must be in (0, 1]")
        if self.min_rows < 0:
            raise ValueError("min_rows must be >= 0")

    def reason(self, row: Row) -> str | None:
        counts = self._counts.get(row.stage)
        if counts is None:
            return None
        total = self._totals[row.stage]
        if total < self.min_rows:
            return None
        if self.mixes is not None and row.stage < len(self.mixes):
            planned = self.mixes[row.stage].get(row.template, 0.0)
            cap = max(planned * (1 + self.tolerance), planned + self.slack)
        else:
            k = len(counts) + (row.template not in counts)
            cap = max(self.max_share, 1 / k)
        if (counts[row.template] + 1) / (total + 1) > cap:
            self._rejected[(row.stage, row.template)] += 1
            return "template_share"
        return None

    def accept(self, row: Row) -> None:
        self._counts.setdefault(row.stage, Counter())[row.template] += 1
        self._totals[row.stage] = self._totals.get(row.stage, 0) + 1

    def state(self) -> dict[str, Any]:
        return {
            "counts": [[stage, dict(c)] for stage, c in self._counts.items()],
            "capped": [[stage, t, n] for (stage, t), n in self._rejected.items()],
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._counts = {
            int(stage): Counter({str(t): int(n) for t, n in c.items()})
            for stage, c in state["counts"]
        }
        self._totals = {stage: c.total() for stage, c in self._counts.items()}
        self._rejected = Counter({(int(s), str(t)): int(n) for s, t, n in state["capped"]})

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stage, counts in sorted(self._counts.items()):
            total = counts.total()
            out[str(stage)] = {
                "rows": total,
                "max_share": round(max(counts.values()) / total, 4) if total else None,
                "capped": {t: n for (s, t), n in sorted(self._rejected.items()) if s == stage},
            }
        return {"stages": out}
