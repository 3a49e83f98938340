"""Corpus readers for `synth qa`: every input kind becomes batches of `Row`s, streaming.

Inputs: a synth output folder (manifest.json; shards in manifest order; probes in
eval/), an HF `save_to_disk` folder (state.json) or DatasetDict folder
(dataset_dict.json; a test/validation split serves as probes), Arrow IPC files (stream
or file format), Parquet and JSONL files (optionally .gz), or a folder of them. Rows
need `text` or a chat (`messages`, ShareGPT `conversations`, or `prompt` +
`completion`/`response`).

Nothing is read whole: Arrow files are memory-mapped and read a record batch at a time,
Parquet through `iter_batches`, JSONL line by line. Rows become `synth.row.Row` so the
filters' own code can judge them; what a row lacks gets a neutral value and
`meta` carries where it came from.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from synth.chat import FORMATS, get_format
from synth.errors import UserError
from synth.row import Row
from synth.shards.manifest import is_corpus, read_manifest, shard_paths

BATCH_ROWS = 1024
ARROW_SUFFIXES = (".arrow", ".feather", ".ipc")
PARQUET_SUFFIXES = (".parquet",)
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")
# Columns that name a sample's template in data synth did not make, in order of preference.
GROUP_COLUMNS = ("template", "task", "source", "category", "subset")
EVAL_SPLITS = ("test", "validation", "eval", "valid")
ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
         "bot": "assistant", "model": "assistant", "system": "system", "tool": "tool"}  # fmt: skip
UNGROUPED = "(all rows)"


@dataclass
class Corpus:
    """What `synth qa` reads: the files in training order, and what came with them."""

    path: Path
    kind: str  # synth | hf-dataset | hf-dataset-dict | files
    files: list[Path]
    manifest: dict | None = None
    probes: Corpus | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def is_synth(self) -> bool:
        return self.manifest is not None


def open_corpus(path: str | Path, eval_path: str | Path | None = None) -> Corpus:
    """Work out what PATH is; UserError if it is nothing qa can read."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"{p}: no such file or folder")
    corpus = _open_dir(p) if p.is_dir() else Corpus(p, "files", [_check_file(p)])
    if eval_path is not None:
        e = Path(eval_path)
        if not e.exists():
            raise UserError(f"--eval: {e}: no such file or folder")
        corpus.probes = _open_dir(e) if e.is_dir() else Corpus(e, "files", [_check_file(e)])
    return corpus


def _check_file(p: Path) -> Path:
    if _kind_of(p) is None:
        known = ", ".join(ARROW_SUFFIXES + PARQUET_SUFFIXES + JSONL_SUFFIXES)
        raise UserError(f"{p}: not a corpus file synth can read (known: {known})")
    return p


def _kind_of(p: Path) -> str | None:
    name = p.name.lower()
    if name.endswith(ARROW_SUFFIXES):
        return "arrow"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    return None


def _read_json(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{p}: unreadable ({e})") from None


def _open_dir(d: Path) -> Corpus:
    if is_corpus(d):
        return _open_synth(d)
    if (d / "state.json").is_file():
        return _open_hf(d)
    if (d / "dataset_dict.json").is_file():
        return _open_hf_dict(d)
    files = sorted(
        f
        for f in d.rglob("*")
        if f.is_file()
        and _kind_of(f)
        and not any(x.startswith(".") for x in f.relative_to(d).parts)
    )
    if not files:
        raise UserError(
            f"{d}: no Arrow, Parquet or JSONL files, and no manifest.json or state.json"
        )
    return Corpus(d, "files", files)


def _open_synth(d: Path) -> Corpus:
    m = read_manifest(d)
    files = shard_paths(d, m)
    c = Corpus(d, "synth", files, manifest=m)
    if (d / "eval" / "state.json").is_file():
        c.probes = _open_hf(d / "eval")
    else:
        c.notes.append("no eval/ split: contamination not checked")
    return c


def _open_hf(d: Path) -> Corpus:
    state = _read_json(d / "state.json")
    try:
        files = [d / f["filename"] for f in state["_data_files"]]
    except (KeyError, TypeError):
        raise UserError(
            f"{d / 'state.json'}: no '_data_files' list; not a save_to_disk folder"
        ) from None
    return Corpus(d, "hf-dataset", files)


def _open_hf_dict(d: Path) -> Corpus:
    splits = _read_json(d / "dataset_dict.json").get("splits") or []
    if not splits:
        raise UserError(f"{d / 'dataset_dict.json'}: no splits")
    train = "train" if "train" in splits else splits[0]
    c = _open_hf(d / train)
    c.path, c.kind = d, "hf-dataset-dict"
    c.notes.append(f"split {train!r} read as the training data")
    held = next((s for s in EVAL_SPLITS if s in splits and s != train), None)
    if held is not None:
        c.probes = _open_hf(d / held)
        c.notes.append(f"split {held!r} used as eval probes for the contamination check")
    return c


# --- column batches ------------------------------------------------------------------


def column_batches(path: Path) -> Iterator[dict[str, list]]:
    """One file's rows as {column: python values} batches; UserError names bad files."""
    kind = _kind_of(path)
    if not path.is_file():
        raise UserError(f"{path}: missing")
    if kind == "arrow":
        yield from _arrow_batches(path)
    elif kind == "parquet":
        yield from _parquet_batches(path)
    else:
        yield from _jsonl_batches(path)


def _arrow_batches(path: Path) -> Iterator[dict[str, list]]:
    for batch in _arrow_record_batches(path):
        yield _pylists(batch)


def _arrow_record_batches(path: Path) -> Iterator[pa.RecordBatch]:
    source = pa.memory_map(str(path), "r")  # pages come and go: larger-than-memory works
    try:
        try:
            reader = pa.ipc.open_stream(source)
            batches: Iterator[pa.RecordBatch] = iter(reader)
        except pa.ArrowInvalid:
            source.seek(0)
            freader = pa.ipc.open_file(source)  # the random-access (Feather v2) format
            batches = (freader.get_batch(i) for i in range(freader.num_record_batches))
        for batch in batches:
            for start in range(0, batch.num_rows, BATCH_ROWS):
                yield batch.slice(start, BATCH_ROWS)
    except pa.ArrowInvalid as e:
        raise UserError(f"{path}: not a readable Arrow file ({e})") from None
    finally:
        source.close()


def _parquet_batches(path: Path) -> Iterator[dict[str, list]]:
    for batch in _parquet_record_batches(path):
        yield _pylists(batch)


def _parquet_record_batches(path: Path) -> Iterator[pa.RecordBatch]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
        yield from pf.iter_batches(batch_size=BATCH_ROWS)
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"{path}: not a readable Parquet file ({e})") from None


def _pylists(batch: pa.RecordBatch, extra: tuple[str, ...] = ()) -> dict[str, list]:
    wanted = (
        set(COLUMNS)
        | set(GROUP_COLUMNS)
        | {"conversations", "prompt", "completion", "response"}
        | set(extra)
    )
    return {n: batch.column(n).to_pylist() for n in batch.schema.names if n in wanted}


# --- whole rows, for writers that keep every column (`synth filter`) -----------------


def file_schema(path: Path) -> pa.Schema:
    """The Arrow schema of a file's rows. Arrow and Parquet files carry one; JSONL is read
    through once and the types of all its batches unified (ints and floats become
    floats; a column that is only null stays null)."""
    kind = _kind_of(path)
    if not path.is_file():
        raise UserError(f"{path}: missing")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_schema(str(path))
        except (pa.ArrowInvalid, OSError) as e:
            raise UserError(f"{path}: not a readable Parquet file ({e})") from None
    if kind == "arrow":
        return _arrow_schema(path)
    schema: pa.Schema | None = None
    for cols in _jsonl_batches(path):
        batch_schema = _jsonl_record_batch(cols, None, path).schema
        schema = batch_schema if schema is None else unify(schema, batch_schema, path)
    return schema if schema is not None else pa.schema([])


def _arrow_schema(path: Path) -> pa.Schema:
    with pa.memory_map(str(path), "r") as source:
        try:
            try:
                return pa.ipc.open_stream(source).schema
            except pa.ArrowInvalid:
                source.seek(0)
                return pa.ipc.open_file(source).schema
        except pa.ArrowInvalid as e:
            raise UserError(f"{path}: not a readable Arrow file ({e})") from None


def unify(a: pa.Schema, b: pa.Schema, where: Path | str) -> pa.Schema:
    """One schema for rows of both; UserError naming `where` when a column's types clash."""
    try:
        return pa.unify_schemas([a, b], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise UserError(f"{where}: a column changes type between rows ({e})") from None


def record_batches(
    path: Path, schema: pa.Schema | None = None, extra: tuple[str, ...] = ()
) -> Iterator[tuple[pa.RecordBatch, dict[str, list]]]:
    """(the batch with every column, the columns `RowReader.convert` needs) per batch.

    Arrow and Parquet batches are the file's own, types untouched. JSONL rows are typed
    by `schema` (see `file_schema`), so that every batch of a file has the same types.
    `extra` names columns to convert besides the ones rows are made of (a group column).
    """
    kind = _kind_of(path)
    if not path.is_file():
        raise UserError(f"{path}: missing")
    if kind == "arrow":
        for batch in _arrow_record_batches(path):
            yield batch, _pylists(batch, extra)
    elif kind == "parquet":
        for batch in _parquet_record_batches(path):
            yield batch, _pylists(batch, extra)
    else:
        for cols in _jsonl_batches(path):
            yield _jsonl_record_batch(cols, schema, path), cols


def _jsonl_record_batch(
    cols: dict[str, list], schema: pa.Schema | None, path: Path
) -> pa.RecordBatch:
    n = len(cols["_line"])
    names = schema.names if schema is not None else [k for k in cols if k != "_line"]
    arrays = []
    for name in names:
        values = cols.get(name, [None] * n)
        typ = schema.field(name).type if schema is not None else None
        try:
            arrays.append(pa.array(values, type=typ))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise UserError(f"{path}: column {name!r} mixes types between rows ({e})") from None
    if schema is not None:
        return pa.RecordBatch.from_arrays(arrays, schema=schema)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


_SURROGATE = re.compile(r"\\[uU][dD][89a-fA-F][0-9a-fA-F]{2}")


def _jsonl_batches(path: Path) -> Iterator[dict[str, list]]:
    rows: list[dict] = []
    lines: list[int] = []
    lineno = 0
    try:
        with _open_text(path) as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                obj = _json_line(line, path, lineno)
                rows.append(obj)
                lines.append(lineno)
                if len(rows) >= BATCH_ROWS:
                    yield _columns_of(rows, lines)
                    rows, lines = [], []
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text ({e.reason})") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        # a .gz that is not gzip, or ends early (a copy cut short)
        what = "is cut short" if isinstance(e, EOFError) else "is not valid gzip data"
        raise UserError(f"{path}: the file {what} (after line {lineno})") from None
    if rows:
        yield _columns_of(rows, lines)


def _json_line(line: str, path: Path, lineno: int) -> dict:
    """One JSONL line as an object; every way it can be wrong is one UserError."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}:{lineno}: not a JSON object per line ({e.msg})") from None
    except RecursionError:
        raise UserError(f"{path}:{lineno}: JSON nested too deeply") from None
    except ValueError:  # an integer of more digits than Python converts (4,300)
        raise UserError(
            f"{path}:{lineno}: a number too long to read (thousands of digits)"
        ) from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}:{lineno}: each line must be a JSON object")
    if _SURROGATE.search(line):  # an escaped lone surrogate is not text: refused here
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(
                f"{path}:{lineno}: a string holds a lone surrogate (\\udXXX): not valid Unicode"
            ) from None
    return obj


def _columns_of(rows: list[dict], lines: list[int]) -> dict[str, list]:
    names = dict.fromkeys(k for r in rows for k in r)  # first-seen order: deterministic
    cols = {k: [r.get(k) for r in rows] for k in names}
    cols["_line"] = lines
    return cols


# --- rows ---------------------------------------------------------------------------

COLUMNS = ("id", "text", "messages", "n_tokens", "tier", "kind", "template", "lang", "stage",
           "replay", "concepts", "difficulty", "answer", "formal", "seed", "probe_kind", "prompt")  # fmt: skip


@dataclass
class RowReader:
    """Turns column batches into `Row`s, numbering rows in corpus order."""

    chat_format: str = "qwen2.5"
    group_column: str | None = None  # decided from the first batch when None
    pos: int = 0
    _render: Any = None

    def __post_init__(self) -> None:
        # Messages-only rows get the text a trainer would see (the chat template applied).
        self._render = get_format(self.chat_format if self.chat_format in FORMATS else "chatml")

    def rows(self, corpus: Corpus) -> Iterator[tuple[Path, list[Row]]]:
        """(file, rows) batches over the whole corpus, in order."""
        for path in corpus.files:
            for cols in column_batches(path):
                yield path, self.convert(cols, path)

    def convert(self, cols: dict[str, list], path: Path) -> list[Row]:
        n = len(next(iter(cols.values()))) if cols else 0
        if self.group_column is None:
            self.group_column = next((c for c in GROUP_COLUMNS if c in cols), "")
        chats = _chats(cols, n, path)
        texts = cols.get("text")
        if texts is None and chats is None:
            have = ", ".join(sorted(k for k in cols if not k.startswith("_"))) or "none"
            raise UserError(
                f"{path}: rows need a 'text' or 'messages' column (or 'conversations', or "
                f"'prompt' + 'completion'); columns: {have}"
            )
        out = []
        lines = cols.get("_line")
        for i in range(n):
            msgs = chats[i] if chats is not None else None
            text = texts[i] if texts is not None else None
            if text is None:
                text = self._render(msgs) if msgs else ""
            where = f"{path.name}:{lines[i]}" if lines else f"{path.name}#{i}"
            out.append(self._row(cols, i, str(text), msgs or None, where))
        return out

    def _row(self, cols: dict[str, list], i: int, text: str, msgs: list | None, where: str) -> Row:
        def get(name: str, default: Any = None) -> Any:
            col = cols.get(name)
            v = col[i] if col is not None else None
            return default if v is None else v

        group = get(self.group_column, UNGROUPED) if self.group_column else UNGROUPED
        given = get("n_tokens")
        row = Row(
            id=str(get("id", where)),
            text=text,
            messages=msgs,
            n_tokens=-1,  # counted by qa with the chosen tokenizer
            tier=str(get("tier", "")),
            kind=str(get("kind", "")),
            template=str(group),
            lang=str(get("lang", "")),
            stage=_int(get("stage")),
            concepts=[str(c) for c in get("concepts", []) or []],
            difficulty=_int(get("difficulty")),
            answer=None if get("answer") is None else str(get("answer")),
            formal=_formal(get("formal")),
            seed=_int(get("seed"), 0),
            replay=bool(get("replay", False)),
        )
        row.meta = {"pos": self.pos, "where": where, "n_tokens_column": given}
        if "stage" not in cols:
            row.meta["no_stage"] = True
        for extra in ("probe_kind", "prompt"):
            if get(extra) is not None:
                row.meta[extra] = get(extra)
        self.pos += 1
        return row


def _int(v: Any, default: int = -1) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _formal(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v)  # JSONL may carry the formal form as an object


def _chats(cols: dict[str, list], n: int, path: Path) -> list[list[dict] | None] | None:
    """Messages per row from whichever chat column the file has (None: no chat column)."""
    if "messages" in cols:
        return [_messages(m, path) for m in cols["messages"]]
    if "conversations" in cols:
        return [_messages(m, path) for m in cols["conversations"]]
    if "prompt" in cols and ("completion" in cols or "response" in cols):
        answers = cols.get("completion") or cols.get("response") or [None] * n
        return [
            [{"role": "user", "content": str(p)}, {"role": "assistant", "content": str(a)}]
            if p is not None and a is not None
            else None
            for p, a in zip(cols["prompt"], answers, strict=True)
        ]
    return None


def _messages(m: Any, path: Path) -> list[dict] | None:
    if m is None:
        return None
    if isinstance(m, str):  # some exports store the chat as a JSON string
        try:
            m = json.loads(m)
        except json.JSONDecodeError:
            raise UserError(f"{path}: 'messages' holds a string that is not JSON") from None
    if not isinstance(m, list):
        raise UserError(f"{path}: 'messages' must be a list of turns, got {type(m).__name__}")
    out = []
    for turn in m:
        if not isinstance(turn, dict):
            raise UserError(f"{path}: a chat turn must be an object with role and content")
        role = turn.get("role", turn.get("from"))
        content = turn.get("content", turn.get("value"))
        out.append({"role": ROLES.get(str(role).lower(), str(role)), "content": str(content or "")})
    return out
