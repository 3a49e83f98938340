"""The filter protocol, the chain that runs filters in order, and the chain's stats.

A filter answers one question about one row: `reason(row)` is None to keep it, or a short
reason code ("entropy_low") to drop it. Stateful filters (dedup, balance) also implement
`accept(row)`, which the chain calls once a row has passed *every* filter: a row dropped
further down the chain must not count as seen by a dedup index or a template quota.
Filters with something worth putting in the manifest implement `stats() -> dict`; those
that can vectorize over rows implement `prepare(rows)`, a hint with no effect on
decisions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from synth.errors import UserError
from synth.row import Row
from synth.safe_yaml import shown

EXAMPLES_PER_REASON = 5
EXAMPLE_CHARS = 500


# --- values derived from a row, shared by filters --------------------------------------

# While a chain works on a row (or a batch of rows), what several filters derive from it
# (its content, normalized content, dedup key) is computed once: id(row) -> (row, values).
# Outside a chain nothing is kept, so a row changed between two calls is never stale.
_MEMO: dict[int, tuple[Row, dict[str, Any]]] = {}


def derived(row: Row, key: str, fn: Callable[[Row], Any]) -> Any:
    """`fn(row)`, computed once per row while a chain works on it; `key` names `fn`."""
    hit = _MEMO.get(id(row))
    if hit is None or hit[0] is not row:
        return fn(row)
    values = hit[1]
    if key in values:
        return values[key]
    value = values[key] = fn(row)
    return value


def _remember(rows: Iterable[Row]) -> list[int]:
    """Start memos for the rows that have none (a chain inside a chain shares its
    caller's); returns what `_forget` must drop."""
    added = []
    for r in rows:
        k = id(r)
        if k not in _MEMO:
            _MEMO[k] = (r, {})
            added.append(k)
    return added


def _forget(keys: list[int]) -> None:
    for k in keys:
        _MEMO.pop(k, None)


def _content_of(row: Row) -> str:
    if row.messages:
        return "\n\n".join(m.get("content") or "" for m in row.messages)
    return row.text


def content_of(row: Row) -> str:
    """What the row says, without the chat template around it."""
    return derived(row, "content_of", _content_of)


def _sample_content(row: Row) -> str:
    if row.messages:
        return "\n\n".join(
            m.get("content") or "" for m in row.messages if m.get("role") != "system"
        )
    return row.text


def sample_content(row: Row) -> str:
    """`content_of` without system turns: what dedup compares. A system prompt is setup
    drawn from a small pool, not part of what makes two samples the same or different."""
    return derived(row, "sample_content", _sample_content)


def response_of(row: Row) -> str:
    """The last assistant turn; the whole text for rows without messages."""
    if row.messages:
        for m in reversed(row.messages):
            if m.get("role") == "assistant":
                return m.get("content") or ""
        return ""  # nothing was answered
    return row.text


def parts_of(row: Row) -> list[str]:
    """Each message on its own (an answer that restates its prompt is not repetition)."""
    if row.messages:
        return [m.get("content") or "" for m in row.messages]
    return [row.text]


@runtime_checkable
class Filter(Protocol):
    """One check. Optional hooks: `accept(row)`, `stats() -> dict`, `prepare(rows)`."""

    name: str

    def reason(self, row: Row) -> str | None: ...


def stable_hash64(data: str | bytes, salt: bytes = b"") -> int:
    """A 64-bit hash that is the same in every process and run (unlike `hash()`)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, salt=salt[:16]).digest(), "little")


def _example_priority(row_id: str, reason: str) -> int:
    # Keeping the examples with the smallest hash (bottom-k) is deterministic and
    # independent of order, so merged worker stats equal single-process stats.
    return stable_hash64(f"{reason}\0{row_id}")


class FilterStats:
    """Counts for one filter: seen, kept, rejected by reason, and a few examples per reason."""

    def __init__(self, name: str, examples_per_reason: int = EXAMPLES_PER_REASON) -> None:
        self.name = name
        self.seen = 0
        self.kept = 0
        self.rejected: dict[str, int] = {}
        self.cap = examples_per_reason
        self._examples: dict[str, list[tuple[int, str, dict]]] = {}

    def reject(self, row: Row, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        if self.cap <= 0:
            return
        prio = _example_priority(row.id, reason)
        heap = self._examples.setdefault(reason, [])
        if len(heap) >= self.cap and -heap[0][0] <= prio:
            return
        if any(rid == row.id for _, rid, _ in heap):
            return  # the same row twice: one example is enough
        ex = {
            "id": row.id,
            "template": row.template,
            "reason": reason,
            "content": content_of(row)[:EXAMPLE_CHARS],
        }
        item = (-prio, row.id, ex)
        if len(heap) < self.cap:
            heapq.heappush(heap, item)
        else:
            heapq.heapreplace(heap, item)

    def state(self) -> dict[str, Any]:
        """Counts and example heaps as JSON values (`restore` takes them back)."""
        return {
            "seen": self.seen,
            "kept": self.kept,
            "rejected": dict(self.rejected),
            "examples": {r: [list(item) for item in heap] for r, heap in self._examples.items()},
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.seen, self.kept = _count(state["seen"]), _count(state["kept"])
        self.rejected = {str(r): _count(n) for r, n in state["rejected"].items()}
        self._examples = {
            str(r): [(int(p), str(i), dict(ex)) for p, i, ex in heap]
            for r, heap in state["examples"].items()
        }

    def to_dict(self) -> dict[str, Any]:
        examples = {
            reason: [ex for _, _, ex in sorted(heap, key=lambda t: -t[0])]
            for reason, heap in sorted(self._examples.items())
        }
        return {
            "seen": self.seen,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "examples": examples,
        }


class FilterChain:
    """Runs filters in order and stops at the first rejection; keeps stats per filter."""

    name = "chain"

    def __init__(
        self, filters: Sequence[Filter], *, examples_per_reason: int = EXAMPLES_PER_REASON
    ):
        names = [f.name for f in filters]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"filter names must be unique: {', '.join(dupes)}")
        self.filters = list(filters)
        self._stats = [FilterStats(f.name, examples_per_reason) for f in self.filters]
        self._accepting = [f for f in self.filters if callable(getattr(f, "accept", None))]
        self.seen = 0
        self.kept = 0

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.filters]

    def __len__(self) -> int:
        return len(self.filters)

    def reason(self, row: Row) -> str | None:
        """None if every filter keeps the row (and it is then accepted), else the reason code."""
        added = _remember((row,))
        try:
            return self._reason(row)
        finally:
            _forget(added)

    def _reason(self, row: Row) -> str | None:
        self.seen += 1
        for f, st in zip(self.filters, self._stats, strict=True):
            st.seen += 1
            why = f.reason(row)
            if why is not None:
                st.reject(row, why)
                return why
            st.kept += 1
        for f in self._accepting:
            f.accept(row)  # type: ignore[attr-defined]
        self.kept += 1
        return None

    def keep(self, row: Row) -> bool:
        return self.reason(row) is None

    def check(self, row: Row) -> str | None:
        """What `reason` would say, with nothing counted or accepted (a filter's `reason`
        only reads; `accept` is what records)."""
        added = _remember((row,))
        try:
            return next((why for f in self.filters if (why := f.reason(row)) is not None), None)
        finally:
            _forget(added)

    def state(self) -> dict[str, Any]:
        """What the chain has learnt so far, for a resumed run: counts, examples, and each
        stateful filter's `state()` (JSON values and numpy arrays, never objects)."""
        return {
            "seen": self.seen,
            "kept": self.kept,
            "names": self.names,
            "stats": [st.state() for st in self._stats],
            "filters": {
                f.name: f.state()  # type: ignore[attr-defined]
                for f in self.filters
                if callable(getattr(f, "state", None))
            },
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `state` gave, into a chain built from the same config.
        ValueError, TypeError or KeyError when it does not fit."""
        if state["names"] != self.names:
            raise ValueError(f"filters {state['names']} saved, {self.names} configured")
        self.seen, self.kept = _count(state["seen"]), _count(state["kept"])
        for st, saved in zip(self._stats, state["stats"], strict=True):
            st.restore(saved)
        for f in self.filters:
            if callable(getattr(f, "restore", None)):
                f.restore(state["filters"][f.name])  # type: ignore[attr-defined]

    def filter(self, rows: Iterable[Row], batch_size: int = 256) -> Iterator[Row]:
        """The kept rows, in order.

        Rows go through in batches so that filters with a `prepare(rows)` hook can do
        their order-independent work (hashing, signatures) for a batch at once.
        """
        preparers = [f for f in self.filters if callable(getattr(f, "prepare", None))]
        for batch in _batches(rows, batch_size):
            added = _remember(batch)  # what prepare() derives, reason() and accept() reuse
            try:
                for f in preparers:
                    f.prepare(batch)  # type: ignore[attr-defined]
                for row in batch:
                    if self._reason(row) is None:
                        yield row
            finally:
                _forget(added)

    def stats(self) -> dict[str, Any]:
        """JSON-able: totals, then per filter (in chain order) counts, examples and details."""
        per: dict[str, Any] = {}
        for f, st in zip(self.filters, self._stats, strict=True):
            d = st.to_dict()
            details = getattr(f, "stats", None)
            if callable(details):
                d["details"] = details()
            per[f.name] = d
        return _with_totals({"seen": self.seen, "kept": self.kept, "filters": per})

    @staticmethod
    def merge(stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
        return merge_stats(stats)


def _count(v: Any) -> int:
    """A count read back from saved state: a whole number, not negative."""
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"not a count: {str(v)[:40]!r}")
    return v


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _with_totals(s: dict[str, Any]) -> dict[str, Any]:
    rejected: dict[str, int] = {}
    for d in s["filters"].values():
        for reason, n in d["rejected"].items():
            rejected[reason] = rejected.get(reason, 0) + n
    s["rejected"] = dict(sorted(rejected.items()))
    return s


def merge_stats(stats: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Stats of several chains (one per worker) as if one chain had seen all rows.

    Counts add up; examples are re-drawn by the same bottom-k rule. `details` come
    from stateful corpus filters, which run in one process: the first one is kept.
    """
    out: dict[str, Any] = {"seen": 0, "kept": 0, "filters": {}}
    for s in stats:
        out["seen"] += s["seen"]
        out["kept"] += s["kept"]
        for name, d in s["filters"].items():
            m = out["filters"].setdefault(
                name, {"seen": 0, "kept": 0, "rejected": {}, "examples": {}}
            )
            m["seen"] += d["seen"]
            m["kept"] += d["kept"]
            for reason, n in d["rejected"].items():
                m["rejected"][reason] = m["rejected"].get(reason, 0) + n
            for reason, exs in d["examples"].items():
                m["examples"].setdefault(reason, []).extend(exs)
            if "details" in d and "details" not in m:
                m["details"] = d["details"]
    for m in out["filters"].values():
        m["rejected"] = dict(sorted(m["rejected"].items()))
        m["examples"] = {
            reason: _bottom_k(exs, reason) for reason, exs in sorted(m["examples"].items())
        }
    return _with_totals(out)


def _bottom_k(examples: list[dict], reason: str, k: int = EXAMPLES_PER_REASON) -> list[dict]:
    unique = {ex["id"]: ex for ex in examples}
    ranked = sorted(unique.values(), key=lambda ex: _example_priority(ex["id"], reason))
    return ranked[:k]


# --- configuration -------------------------------------------------------------------


def configure(cls: type, cfg: Any, where: str, **extra: Any) -> Any:
    """Build a dataclass filter from its config mapping; unknown keys are a UserError.

    The type of each field's default (or its `types` metadata) says what the key
    accepts; a float field takes ints too. `enabled` is handled by the caller. `extra`
    passes non-config arguments (fields with metadata `config: False`).
    """
    if cfg is None:
        cfg = {}
    if not isinstance(cfg, dict):
        raise UserError(f"{where}: must be a mapping, got {type(cfg).__name__}")
    known = {
        f.name: f
        for f in dataclasses.fields(cls)
        if f.init and f.name not in extra and f.metadata.get("config", True)
    }
    kwargs: dict[str, Any] = {}
    for key, value in cfg.items():
        if key == "enabled":
            continue
        if key not in known:
            names = ", ".join(sorted([*known, "enabled"]))
            raise UserError(f"{where}: unknown key {shown(key)} (known: {names})")
        kwargs[key] = _check_type(value, known[key], f"{where}.{key}")
    try:
        return cls(**kwargs, **extra)
    except ValueError as e:
        raise UserError(f"{where}: {e}") from None


def _check_type(value: Any, field: dataclasses.Field, where: str) -> Any:
    default = field.default
    if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    types = field.metadata.get("types")
    if types is not None:
        ok = isinstance(value, types) and not isinstance(value, bool)
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, (dict, list, tuple)):
        ok = isinstance(value, (dict, list, tuple))
    else:
        ok = True  # the filter checks it
    if not ok:
        want = " or ".join(t.__name__ for t in types) if types else type(default).__name__
        raise UserError(f"{where}: must be {want}, got {type(value).__name__} {shown(value)}")
    return value
