"""A run's resume state (`OUT/.synth/state.npz`): data only, never code.

A resumed run must carry on with exactly what the killed run knew at its last
checkpoint: the counters, the shards written, the open shard's length, and what the
corpus filters learnt (the dedup indexes, near-duplicate skeletons, template counts,
diversity reservoirs, examples of rejections). Pickle would restore it in one call, and
would also run whatever code a crafted folder put in the file; so the state is a zip
(uncompressed, so nothing in it can expand) of

    state.json        counters and every filter's state as plain JSON
    arrays/NAME.npy   numpy arrays (hash tables, shingle sets), read without pickle

where the JSON names each array by `{"$array": NAME}`. Everything read back is checked
(version, fingerprint, kinds and sizes); a damaged file is one line naming it, and what
to do.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from synth.errors import UserError
from synth.shards.atomic import atomic_file
from synth.shards.manifest import SHARD_NAME
from synth.shards.writer import ShardInfo

STATE = Path(".synth") / "state.npz"
OLD_STATE = Path(".synth") / "state.pkl"  # pickled by earlier versions: never read
STATE_VERSION = 1
_JSON = "state.json"
_ARRAY = "$array"


@dataclass
class RunState:
    """Everything a run carries from unit to unit; saved at every checkpoint, so a killed
    run resumes from its last one with exactly the same state."""

    stage: int = 0  # the stage being written
    next_unit: int = 0  # the next planned unit to write
    next_extra: int = 0  # make-up units decided so far (their indices follow the plan's)
    pending: list = field(default_factory=list)  # [index, tokens] of make-up units not written
    round_start: list = field(default_factory=list)  # the stage's [kept, drawn] as a round began
    stalls: int = 0  # make-up rounds in a row that added almost nothing
    stage_kept: list = field(default_factory=list)  # tokens written per stage
    stage_produced: list = field(default_factory=list)  # drawn per stage, before corpus filters
    kept_tokens: int = 0
    produced_tokens: int = 0  # before corpus filters: their keep rate sizes make-up units
    # The ledger: attempts (drawn) = rows kept + rejected (by a filter, per-sample or
    # corpus) + trimmed (passed the filters it met but was not needed: drawn past a unit's
    # token target, or past a stage's share or the budget).
    attempts: int = 0
    rejected: int = 0
    trimmed: int = 0
    shards: list[ShardInfo] = field(default_factory=list)
    stages: list = field(default_factory=list)
    rows: int = 0
    sample_stats: list = field(default_factory=list)
    corpus: Any = None  # the corpus FilterChain
    seconds: dict = field(default_factory=dict)  # CPU seconds per step, summed over units
    llm: dict = field(default_factory=dict)  # LLM backend counters, summed over units
    open_shard: dict | None = None  # the shard being written, at its checkpoint
    saved_tokens: int = 0  # tokens the last checkpoint holds (what a re-run keeps)


# -- the file ------------------------------------------------------------------------------


def _pack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON values with every numpy array moved to `arrays` and named in its place."""
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, dict):
        return {str(k): _pack(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_pack(v, arrays) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _unpack(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {_ARRAY}:
            return arrays[value[_ARRAY]]
        return {k: _unpack(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    return value


def save(path: Path, doc: dict[str, Any]) -> None:
    """`doc` (JSON values and numpy arrays) to `path`, whole or not at all."""
    arrays: dict[str, np.ndarray] = {}
    # ASCII escapes: a lone surrogate in a rejected example survives the round trip.
    text = json.dumps(_pack(doc, arrays), ensure_ascii=True, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path) as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
        z.writestr(_JSON, text)
        for name, a in arrays.items():
            with z.open(f"arrays/{name}.npy", "w", force_zip64=True) as m:
                _write_npy(m, a)


def _write_npy(f: IO[bytes], a: np.ndarray) -> None:
    """`a` as a .npy file, its memory written as it is: `np.save` into a zip member
    copies an array 16 MiB at a time, and a 10B-token run's dedup table is gigabytes."""
    a = np.ascontiguousarray(a)
    if a.dtype.hasobject:
        raise ValueError("an object array in the run state")
    np.lib.format.write_array_header_1_0(f, np.lib.format.header_data_from_array_1_0(a))
    f.write(memoryview(a.reshape(-1)).cast("B"))


def load(path: Path) -> dict[str, Any]:
    """What `save` wrote; ValueError (with what is wrong) for anything else."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
                raise ValueError("a member is compressed")
            names = {i.filename for i in infos}
            if _JSON not in names:
                raise ValueError(f"no {_JSON}")
            arrays = {}
            for n in sorted(names - {_JSON}):
                if not (n.startswith("arrays/") and n.endswith(".npy")):
                    raise ValueError(f"unexpected member {n[:40]!r}")
                with z.open(n) as m:
                    arrays[n[len("arrays/") : -len(".npy")]] = np.lib.format.read_array(
                        m, allow_pickle=False
                    )
            doc = json.loads(z.read(_JSON).decode("ascii"))
    except (OSError, zipfile.BadZipFile, EOFError, UnicodeDecodeError, RecursionError) as e:
        raise ValueError(_short(e)) from None
    if not isinstance(doc, dict):
        raise ValueError("state.json is not an object")
    return _unpack(doc, arrays)


# -- the run state -------------------------------------------------------------------------


def save_run(out: Path, st: RunState, fingerprint: str) -> None:
    save(
        out / STATE,
        {
            "version": STATE_VERSION,
            "fingerprint": fingerprint,
            "stage": st.stage,
            "next_unit": st.next_unit,
            "next_extra": st.next_extra,
            "pending": st.pending,
            "round_start": st.round_start,
            "stalls": st.stalls,
            "stage_kept": st.stage_kept,
            "stage_produced": st.stage_produced,
            "kept_tokens": st.kept_tokens,
            "produced_tokens": st.produced_tokens,
            "attempts": st.attempts,
            "rejected": st.rejected,
            "trimmed": st.trimmed,
            "rows": st.rows,
            "shards": [s.to_json() for s in st.shards],
            "stages": st.stages,
            "sample_stats": st.sample_stats,
            "seconds": st.seconds,
            "llm": st.llm,
            "open_shard": st.open_shard,
            "corpus": st.corpus.state(),
        },
    )


def load_run(out: Path, fingerprint: str, corpus: Any) -> RunState | None:
    """The saved state of the run in `out` (None if there is none), with `corpus` (a
    fresh chain of the same config) restored into it. UserError if damaged."""
    path = out / STATE
    if not path.is_file():
        if (out / OLD_STATE).is_file():
            raise UserError(
                f"--out: {out / OLD_STATE} was written by an older synth, whose resume state"
                " is no longer read; pass --overwrite to start over"
            )
        return None
    try:
        doc = load(path)
        if doc.get("version") != STATE_VERSION:
            raise ValueError(f"version {_short(doc.get('version'))}, expected {STATE_VERSION}")
        if doc.get("fingerprint") != fingerprint:
            raise ValueError("it belongs to another corpus (fingerprint differs)")
        st = RunState(
            **{
                k: _count(doc, k)
                for k in (
                    "stage",
                    "next_unit",
                    "next_extra",
                    "stalls",
                    "kept_tokens",
                    "produced_tokens",
                    "attempts",
                    "rejected",
                    "trimmed",
                    "rows",
                )
            },
            pending=[_counts(p, 2) for p in _typed(doc, "pending", list)],
            round_start=_counts(doc["round_start"], 2) if doc["round_start"] else [],
            stage_kept=_counts(doc["stage_kept"]),
            stage_produced=_counts(doc["stage_produced"]),
            shards=[_shard(s) for s in _typed(doc, "shards", list)],
            stages=_typed(doc, "stages", list),
            sample_stats=_typed(doc, "sample_stats", list),
            seconds={str(k): float(v) for k, v in _typed(doc, "seconds", dict).items()},
            llm={str(k): float(v) for k, v in _typed(doc, "llm", dict).items()},
            open_shard=_open_shard(doc.get("open_shard")),
            corpus=corpus,
        )
        corpus.restore(_typed(doc, "corpus", dict))
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as e:
        raise UserError(
            f"--out: {path} is damaged ({_short(e)}); pass --overwrite to start over"
        ) from None
    st.saved_tokens = sum(s.tokens for s in st.shards) + (
        st.open_shard["tokens"] if st.open_shard else 0
    )
    return st


def _typed(doc: dict, key: str, typ: type) -> Any:
    v = doc[key]
    if not isinstance(v, typ):
        raise ValueError(f"{key} is not a {typ.__name__}")
    return v


def _count(doc: dict, key: str) -> int:
    v = doc[key]
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ValueError(f"{key} is not a count")
    return v


def _counts(v: Any, n: int | None = None) -> list[int]:
    """A list of counts (of `n` of them, if given)."""
    if not isinstance(v, list) or (n is not None and len(v) != n):
        raise ValueError("a list of counts is not one")
    return [_count({"count": x}, "count") for x in v]


def _shard(s: Any) -> ShardInfo:
    if not isinstance(s, dict) or not SHARD_NAME.match(str(s.get("file"))):
        raise ValueError("a shard entry has no shard file name")
    info = ShardInfo(**s)
    for k in ("rows", "tokens", "bytes"):
        _count(s, k)
    if not isinstance(info.sha256, str) or not isinstance(info.units, list):
        raise ValueError(f"{info.file}: no sha256 or units")
    return info


def _open_shard(s: Any) -> dict | None:
    if s is None:
        return None
    if not isinstance(s, dict) or not SHARD_NAME.match(str(s.get("file"))):
        raise ValueError("the open shard has no shard file name")
    for k in ("offset", "rows", "tokens"):
        _count(s, k)
    if not isinstance(s.get("sha256"), str) or not isinstance(s.get("units"), list):
        raise ValueError("the open shard has no sha256 or units")
    if not isinstance(s.get("stages"), list):
        raise ValueError("the open shard has no stages")
    return s


def _short(e: Any, n: int = 100) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= n else text[: n - 3] + "..."
