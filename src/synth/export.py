"""`synth export OUT --to FORMAT --dest DIR`: a corpus in the format a trainer reads.

Rows are streamed record batch by record batch in shard order, so the curriculum order
is kept and memory stays flat; every format keeps every row (documents included) in
that order. Files are written as `*.partial` and renamed when the export is complete.

Formats (`DIR/data.jsonl` for the JSONL ones, `DIR/data-NNNNN.parquet` per shard else):

- `messages`: `{"messages": [{role, content}, ...]}` for TRL's SFTTrainer and Axolotl
  (`type: chat_template`). A document becomes `{"messages": [{"role": "assistant",
  "content": text}]}`: its text is learned as an assistant turn with no prompt.
- `sharegpt`: `{"conversations": [{"from": "human"|"gpt", "value"}], "system"}` plus
  `DIR/dataset_info.json` for LLaMA-Factory (`dataset_dir: DIR`, `dataset: synth_NAME`).
  LLaMA-Factory has no pre-training form for sharegpt and skips any conversation that
  is not human/gpt pairs (data/converter.py), so a document becomes an empty human turn
  followed by the document as the gpt turn: it stays in place and is learned whole.
- `alpaca`: `{"instruction", "input", "output", "system", "history"}` plus its
  `dataset_info.json` entry; a document is `output` with an empty instruction, as above.
- `jsonl`, `parquet`: every column, as in the shards.
- `tokenized`: Parquet with exactly `input_ids`, `attention_mask`, `labels` (Axolotl's
  pre-tokenized columns). Labels are -100 except on assistant contents and the end-of-turn
  token after each; a document is learned whole (labels = input_ids).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from synth.chat import render_with_spans, stop_tokens
from synth.errors import UserError
from synth.shards.manifest import read_manifest
from synth.shards.verify import check_shards
from synth.tokenizer import HFTokenizer, TiktokenQwen, Tokenizer, load_tokenizer

FORMATS = ("messages", "sharegpt", "alpaca", "jsonl", "parquet", "tokenized")
IGNORE_INDEX = -100  # the label PyTorch's cross-entropy (and every trainer) skips
JSONL_FILE = "data.jsonl"
LLAMA_FACTORY_INFO = "dataset_info.json"

TOKENIZED_SCHEMA = pa.schema(
    [
        ("input_ids", pa.list_(pa.int32())),
        ("attention_mask", pa.list_(pa.int8())),
        ("labels", pa.list_(pa.int32())),
    ]
)


@dataclass
class ExportResult:
    """What an export wrote: its files in `dest` and how many rows (and tokens)."""

    to: str
    dest: Path
    rows: int = 0
    files: list[str] = field(default_factory=list)
    tokens: int = 0  # tokenized only: all tokens, and those with a label
    trained_tokens: int = 0


def export(
    out: str | Path,
    to: str,
    dest: str | Path,
    tokenizer: str | None = None,
    format_model: str | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Write corpus `out` to folder `dest` in format `to` (see the module docstring).

    `tokenizer` and `format_model` apply to `tokenized` only; they default to the
    corpus's own tokenizer and chat format, whose `text` the ids then reproduce exactly.
    """
    out, dest = Path(out), Path(dest)
    if to not in FORMATS:
        raise UserError(f"--to: unknown export format {to!r}; choose one of {', '.join(FORMATS)}")
    if to != "tokenized" and (tokenizer or format_model):
        raise UserError("--tokenizer and --format-model apply to --to tokenized only")
    manifest = _manifest(out)
    _check_dest(out, dest, overwrite)
    dest.mkdir(parents=True, exist_ok=True)
    res = ExportResult(to=to, dest=dest)
    partials: list[Path] = []
    try:
        if to in _ROW_CONVERTERS:
            _write_jsonl(out, manifest, dest, _ROW_CONVERTERS[to], res, partials)
        elif to == "parquet":
            _write_parquet(out, manifest, dest, res, partials)
        else:
            _write_tokenized(out, manifest, dest, tokenizer, format_model, res, partials)
        if to in ("sharegpt", "alpaca"):
            _write_llama_factory_info(out, to, dest, res, partials)
        if res.rows != manifest["totals"]["rows"]:
            raise UserError(
                f"{out}: shards hold {res.rows} rows, manifest says {manifest['totals']['rows']}; "
                "run `synth verify` on the corpus"
            )
        _commit(dest, partials, overwrite)
    except BaseException:
        for p in partials:
            p.unlink(missing_ok=True)
        raise
    return res


# --- reading the corpus -----------------------------------------------------------------


def _manifest(out: Path) -> dict:
    manifest = read_manifest(out, complete=True)
    check_shards(out, manifest)  # sha256 before a byte is read
    return manifest


def _batches(out: Path, manifest: dict) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(shard index, record batch) in shard order: the curriculum order."""
    for k, shard in enumerate(manifest["shards"]):
        path = out / shard["file"]
        if not path.is_file():
            raise UserError(f"{path}: shard listed in the manifest is missing")
        with pa.OSFile(str(path), "rb") as f:
            yield from ((k, batch) for batch in pa.ipc.open_stream(f))


# --- writing atomically ---------------------------------------------------------------


def _is_export_file(name: str) -> bool:
    return name in (JSONL_FILE, LLAMA_FACTORY_INFO) or bool(
        re.fullmatch(r"data-\d{5}\.parquet", name)
    )


def _check_dest(out: Path, dest: Path, overwrite: bool) -> None:
    if dest.resolve() == out.resolve():
        raise UserError("--dest: give a folder other than the corpus itself")
    if dest.exists() and not dest.is_dir():
        raise UserError(f"--dest {dest}: exists and is not a folder")
    if dest.is_dir() and not overwrite:
        found = sorted(p.name for p in dest.iterdir() if _is_export_file(p.name))
        if found:
            raise UserError(
                f"--dest {dest}: already holds an export ({found[0]}); pass --overwrite to replace it"
            )


def _partial(final: Path, partials: list[Path]) -> Path:
    p = final.with_name(final.name + ".partial")
    partials.append(p)
    return p


def _commit(dest: Path, partials: list[Path], overwrite: bool) -> None:
    """Rename the finished files into place; with --overwrite, drop the previous export's
    files this one does not replace (a stale shard would otherwise be read as data)."""
    finals = {p.with_name(p.name.removesuffix(".partial")) for p in partials}
    for p in partials:
        with open(p, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(p, p.with_name(p.name.removesuffix(".partial")))
    if overwrite:
        for p in dest.iterdir():
            if _is_export_file(p.name) and p not in finals:
                p.unlink()


# --- JSONL formats ----------------------------------------------------------------------

Row = dict


def _write_jsonl(
    out: Path,
    manifest: dict,
    dest: Path,
    convert: Callable[[Row], dict],
    res: ExportResult,
    partials: list[Path],
) -> None:
    with open(_partial(dest / JSONL_FILE, partials), "w", encoding="utf-8") as f:
        for _, batch in _batches(out, manifest):
            for row in batch.to_pylist():
                f.write(json.dumps(convert(row), ensure_ascii=False) + "\n")
                res.rows += 1
    res.files.append(JSONL_FILE)


def _turns(row: Row) -> tuple[str, list[dict[str, str]]]:
    """A chat row's system prompt ("" if none) and its turns, checked to be user/assistant
    pairs: the shape LLaMA-Factory accepts (anything else it drops)."""
    msgs = row["messages"]
    has_system = bool(msgs) and msgs[0]["role"] == "system"
    system = msgs[0]["content"] if has_system else ""
    turns = msgs[1:] if has_system else msgs
    roles = [m["role"] for m in turns]
    if not roles or roles != ["user", "assistant"] * (len(roles) // 2):
        raise UserError(
            f"{row['id']}: roles {roles} are not user/assistant pairs after an optional "
            "system message; sharegpt and alpaca cannot hold it"
        )
    return system, turns


def to_messages(row: Row) -> dict:
    if row["messages"] is None:
        return {"messages": [{"role": "assistant", "content": row["text"]}]}
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in row["messages"]]}


_SHAREGPT_FROM = {"user": "human", "assistant": "gpt"}


def to_sharegpt(row: Row) -> dict:
    if row["messages"] is None:
        conv = [{"from": "human", "value": ""}, {"from": "gpt", "value": row["text"]}]
        return {"conversations": conv, "system": ""}
    system, turns = _turns(row)
    conv = [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in turns]
    return {"conversations": conv, "system": system}


def to_alpaca(row: Row) -> dict:
    if row["messages"] is None:
        return {"instruction": "", "input": "", "output": row["text"], "system": "", "history": []}
    system, turns = _turns(row)
    contents = [m["content"] for m in turns]
    history = [list(pair) for pair in zip(contents[:-2:2], contents[1:-2:2])]
    return {
        "instruction": contents[-2],
        "input": "",
        "output": contents[-1],
        "system": system,
        "history": history,
    }


_ROW_CONVERTERS: dict[str, Callable[[Row], dict]] = {
    "messages": to_messages,
    "sharegpt": to_sharegpt,
    "alpaca": to_alpaca,
    "jsonl": lambda row: row,
}


def llama_factory_entry(to: str, file_name: str) -> dict:
    """The dataset_info.json entry LLaMA-Factory reads (fields from its data/README.md)."""
    if to == "sharegpt":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "system": "system"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
            },
        }
    return {
        "file_name": file_name,
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "system": "system",
            "history": "history",
        },
    }


def _write_llama_factory_info(
    out: Path, to: str, dest: Path, res: ExportResult, partials: list[Path]
) -> None:
    """dataset_info.json with one entry, `synth_<corpus folder>`: LLaMA-Factory then
    trains on it with `dataset_dir: DEST` and `dataset: synth_<corpus folder>`."""
    info = {_dataset_name(out): llama_factory_entry(to, JSONL_FILE)}
    text = json.dumps(info, indent=2, ensure_ascii=False) + "\n"
    _partial(dest / LLAMA_FACTORY_INFO, partials).write_text(text, encoding="utf-8")
    res.files.append(LLAMA_FACTORY_INFO)


def _dataset_name(out: Path) -> str:
    return "synth_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", out.resolve().name)


# --- Parquet formats --------------------------------------------------------------------


class _ShardFiles:
    """One Parquet file per corpus shard, one row group per record batch."""

    def __init__(self, dest: Path, schema: pa.Schema, res: ExportResult, partials: list[Path]):
        self.dest, self.schema, self.res, self.partials = dest, schema, res, partials
        self.shard: int | None = None
        self.writer: pq.ParquetWriter | None = None

    def write(self, shard: int, batch: pa.RecordBatch) -> None:
        if shard != self.shard:
            self.close()
            name = f"data-{shard:05d}.parquet"
            self.writer = pq.ParquetWriter(_partial(self.dest / name, self.partials), self.schema)
            self.res.files.append(name)
            self.shard = shard
        self.writer.write_batch(batch)
        self.res.rows += batch.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _write_parquet(
    out: Path, manifest: dict, dest: Path, res: ExportResult, partials: list[Path]
) -> None:
    files = None
    for shard, batch in _batches(out, manifest):
        files = files or _ShardFiles(dest, batch.schema, res, partials)
        files.write(shard, batch)
    if files:
        files.close()


# --- tokenized ----------------------------------------------------------------------------

Encoder = Callable[[str], tuple[list[int], list[tuple[int, int]]]]


def _encoder(tok: Tokenizer) -> Encoder:
    """Token ids and each token's character span in the text."""
    if isinstance(tok, TiktokenQwen):

        def encode(text: str) -> tuple[list[int], list[tuple[int, int]]]:
            ids = tok.encode(text)
            _, starts = tok.enc.decode_with_offsets(ids)
            return ids, list(zip(starts, [*starts[1:], len(text)]))

        return encode
    if isinstance(tok, HFTokenizer):

        def encode(text: str) -> tuple[list[int], list[tuple[int, int]]]:
            enc = tok.tok.encode(text, add_special_tokens=False)
            return enc.ids, list(enc.offsets)

        return encode
    raise UserError(f"--tokenizer {tok.name}: gives no token offsets; tokenized export needs them")


def labels_for(
    ids: list[int], offsets: list[tuple[int, int]], spans: list[tuple[int, int]]
) -> list[int]:
    """A token keeps its id as label if it overlaps a span to learn, else -100. Overlap
    (not containment): a token merging template and content characters is learned, so no
    assistant character goes unlearned."""
    labels, k = [], 0
    for tid, (start, end) in zip(ids, offsets):
        end = max(end, start + 1)  # tokens inside one UTF-8 character have no width
        while k < len(spans) and spans[k][1] <= start:
            k += 1
        labels.append(tid if k < len(spans) and spans[k][0] < end else IGNORE_INDEX)
    return labels


def _check_tokenizer_fits(tok: Tokenizer, fmt: str) -> None:
    # A chat format's end-of-turn token must be one token of the tokenizer, or the ids
    # are not the model's (e.g. llama3 markup through the Qwen vocabulary).
    for stop in stop_tokens(fmt):
        if len(tok.encode(stop)) != 1:
            raise UserError(
                f"--tokenizer {tok.name} does not have {stop} (chat format {fmt}) as one token; "
                "pass that model's tokenizer: --tokenizer PATH (tokenizer.json or model folder)"
            )


def _write_tokenized(
    out: Path,
    manifest: dict,
    dest: Path,
    tokenizer: str | None,
    format_model: str | None,
    res: ExportResult,
    partials: list[Path],
) -> None:
    cfg = manifest.get("config", {})
    own_format = manifest.get("chat_format") or cfg.get("model_format") or "qwen2.5"
    fmt = format_model or own_format
    tok = load_tokenizer(tokenizer or cfg.get("tokenizer") or "qwen2.5")
    _check_tokenizer_fits(tok, fmt)
    encode = _encoder(tok)
    files = _ShardFiles(dest, TOKENIZED_SCHEMA, res, partials)
    for shard, batch in _batches(out, manifest):
        cols = {"input_ids": [], "attention_mask": [], "labels": []}
        for rid, text, messages in zip(
            *(batch.column(c).to_pylist() for c in ("id", "text", "messages"))
        ):
            ids, labels = _tokenize_row(encode, fmt, fmt == own_format, rid, text, messages)
            cols["input_ids"].append(ids)
            cols["attention_mask"].append([1] * len(ids))
            cols["labels"].append(labels)
            res.tokens += len(ids)
            res.trained_tokens += sum(x != IGNORE_INDEX for x in labels)
        files.write(shard, pa.RecordBatch.from_pydict(cols, schema=TOKENIZED_SCHEMA))
    files.close()


def _tokenize_row(
    encode: Encoder,
    fmt: str,
    same_format: bool,
    rid: str,
    text: str,
    messages: list[dict[str, str]] | None,
) -> tuple[list[int], list[int]]:
    if messages is None:  # a document: learned whole
        ids, _ = encode(text)
        return ids, list(ids)
    rendered, spans = render_with_spans(fmt, messages)
    if same_format and rendered != text:
        # The spans are only right if they come from the text the corpus counted.
        raise UserError(f"{rid}: `text` is not its messages in chat format {fmt}")
    ids, offsets = encode(rendered)
    return ids, labels_for(ids, offsets, spans)
