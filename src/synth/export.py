"""`synth export OUT --to FORMAT --dest DIR`: a corpus in the format a trainer reads.

Rows are streamed record batch by record batch in shard order, so the curriculum order
is kept and memory stays flat; every format keeps every row (documents included) in
that order. Files are written as `*.partial` and renamed when the export is complete.

Formats (`DIR/data.jsonl` for the JSONL ones, `DIR/data-NNNNN.parquet` per shard else):

- `messages`: `{"messages": [{role, content}, ...]}` for TRL's SFTTrainer, Axolotl
  (`type: chat_template`), torchtune (`chat_dataset`, `conversation_style: openai`) and
  rulm (Saiga's `ChatDataset` reads `messages`).
- `sharegpt`: `{"conversations": [{"from": "system"|"human"|"gpt", "value"}]}` plus
  `DIR/dataset_info.json` for LLaMA-Factory (`dataset_dir: DIR`, `dataset: synth_NAME`;
  its `system_tag` reads the system turn) and torchtune (`conversation_style: sharegpt`,
  whose ShareGPTToMessages ignores a top-level `system` field but keeps a system turn).
- `alpaca`: `{"instruction", "input", "output", "system", "history"}` plus its
  `dataset_info.json` entry.
- `jsonl`, `parquet`: every column, as in the shards.
- `tokenized`: Parquet with exactly `input_ids`, `attention_mask`, `labels` (pre-tokenized
  columns: TRL skips its own preparation, Axolotl loads them as they are). Labels are -100
  except on assistant contents and the end-of-turn token after each; a document is learned
  whole and ends with the token trainers append to plain text for that model
  (`synth.chat.DOCUMENT_END`, e.g. <|im_end|> for Qwen2.5), so packed documents do not run
  into each other.

What the chat formats cannot hold as it is:

- The system prompt a template adds by itself (Qwen2.5's "You are Qwen, ...") is written
  out, so a trainer that does not add it (torchtune) trains on the same conversation as
  one that does, and every chat trainer sees the tokens `text` holds.
- A document has no prompt, and chat trainers take conversations only (torchtune's
  validate_messages wants a user turn before the assistant's, LLaMA-Factory drops anything
  but user/assistant pairs). What they all accept, and train the same way, is the document
  as the reply to an empty user turn; the template then adds its turn markup and default
  system prompt around it (26-31 tokens for Qwen2.5) that `n_tokens` does not count. The
  export counts what the trainer sees (`ExportResult.tokens`: each exported conversation
  rendered in the corpus's chat format and tokenizer) and says how much the documents add.
  Documents train without that overhead through `text` (TRL's text path, torchtune's
  `text_completion_dataset`) or the `tokenized` export.
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

from synth.chat import (
    check_tokenizer_fits,
    document_end,
    explicit_system,
    get_format,
    render_with_spans,
)
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
    # Tokens a trainer sees: tokenized, every id; messages/sharegpt/alpaca, each exported
    # conversation in the corpus's chat format and tokenizer (None if that tokenizer is not
    # on this machine); jsonl/parquet, the corpus's n_tokens.
    tokens: int | None = 0
    trained_tokens: int = 0  # tokenized only: tokens with a label
    corpus_tokens: int = 0  # the sum of n_tokens over the rows
    documents: int = 0  # rows without messages


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
            _write_jsonl(out, manifest, dest, to, res, partials)
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


def trainer_tokens_line(res: ExportResult) -> str:
    """What a trainer sees against the corpus's n_tokens, and why they differ."""
    if res.tokens is None:
        return "tokens a trainer sees: not counted (the corpus's tokenizer is not on this machine)"
    line = f"tokens a trainer sees: {res.tokens:,} (n_tokens: {res.corpus_tokens:,}"
    if res.to == "tokenized":
        line += f"; {res.trained_tokens:,} with labels"
        if res.documents:
            line += f"; {res.documents:,} documents end with an end-of-text token"
    elif res.documents and res.to != "jsonl" and res.to != "parquet":
        line += (
            f"; {res.documents:,} documents as replies to an empty prompt add "
            f"{res.tokens - res.corpus_tokens:+,}: chat markup and the default system prompt"
        )
    return line + ")"


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


def corpus_format(manifest: dict) -> str:
    """The chat format the corpus's `text` was rendered with."""
    return (
        manifest.get("chat_format") or manifest.get("config", {}).get("model_format") or "qwen2.5"
    )


def _corpus_tokenizer(manifest: dict) -> Tokenizer | None:
    """The corpus's tokenizer, or None when it was a local file no longer here."""
    spec = manifest.get("config", {}).get("tokenizer") or "qwen2.5"
    try:
        return load_tokenizer(spec)
    except UserError:
        return None


def _write_jsonl(
    out: Path,
    manifest: dict,
    dest: Path,
    to: str,
    res: ExportResult,
    partials: list[Path],
) -> None:
    convert = _ROW_CONVERTERS[to]
    fmt = corpus_format(manifest)
    tok = _corpus_tokenizer(manifest) if to != "jsonl" else None
    render = get_format(fmt)
    if to != "jsonl" and tok is None:
        res.tokens = None
    with open(_partial(dest / JSONL_FILE, partials), "w", encoding="utf-8") as f:
        for _, batch in _batches(out, manifest):
            for row in batch.to_pylist():
                f.write(json.dumps(convert(row, fmt), ensure_ascii=False) + "\n")
                res.rows += 1
                res.corpus_tokens += row["n_tokens"]
                res.documents += row["messages"] is None
                if res.tokens is None:  # the corpus's tokenizer is not here
                    continue
                if to == "jsonl" or row["messages"] is not None:
                    # a chat's exported conversation renders to its `text` (the default
                    # system prompt written out is the one the template adds)
                    res.tokens += row["n_tokens"]
                else:
                    res.tokens += len(tok.encode(render(trainer_conversation(row, fmt))))
    res.files.append(JSONL_FILE)


def trainer_conversation(row: Row, fmt: str) -> list[dict[str, str]]:
    """The conversation a chat trainer is given for a row: its messages with the format's
    default system prompt written out; a document as the reply to an empty user turn."""
    msgs = row["messages"]
    if msgs is None:
        msgs = [{"role": "user", "content": ""}, {"role": "assistant", "content": row["text"]}]
    return explicit_system(fmt, [{"role": m["role"], "content": m["content"]} for m in msgs])


def _turns(row: Row, fmt: str) -> tuple[str, list[dict[str, str]]]:
    """A row's system prompt ("" if none) and its turns, checked to be user/assistant
    pairs: the shape LLaMA-Factory accepts (anything else it drops)."""
    msgs = trainer_conversation(row, fmt)
    has_system = msgs[0]["role"] == "system"
    system = msgs[0]["content"] if has_system else ""
    turns = msgs[1:] if has_system else msgs
    roles = [m["role"] for m in turns]
    if not roles or roles != ["user", "assistant"] * (len(roles) // 2):
        raise UserError(
            f"{row['id']}: roles {roles} are not user/assistant pairs after an optional "
            "system message; sharegpt and alpaca cannot hold it"
        )
    return system, turns


def to_messages(row: Row, fmt: str = "qwen2.5") -> dict:
    return {"messages": trainer_conversation(row, fmt)}


_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}


def to_sharegpt(row: Row, fmt: str = "qwen2.5") -> dict:
    system, turns = _turns(row, fmt)
    conv = [{"from": "system", "value": system}] if system else []
    conv += [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in turns]
    return {"conversations": conv}


def to_alpaca(row: Row, fmt: str = "qwen2.5") -> dict:
    system, turns = _turns(row, fmt)
    contents = [m["content"] for m in turns]
    history = [list(pair) for pair in zip(contents[:-2:2], contents[1:-2:2])]
    return {
        "instruction": contents[-2],
        "input": "",
        "output": contents[-1],
        "system": system,
        "history": history,
    }


_ROW_CONVERTERS: dict[str, Callable[[Row, str], dict]] = {
    "messages": to_messages,
    "sharegpt": to_sharegpt,
    "alpaca": to_alpaca,
    "jsonl": lambda row, fmt: row,
}


def llama_factory_entry(to: str, file_name: str) -> dict:
    """The dataset_info.json entry LLaMA-Factory reads (fields from its data/README.md)."""
    if to == "sharegpt":
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {
                "role_tag": "from",
                "content_tag": "value",
                "user_tag": "human",
                "assistant_tag": "gpt",
                "system_tag": "system",
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
        n = int(pa.compute.sum(batch.column("n_tokens")).as_py() or 0)
        res.tokens += n
        res.corpus_tokens += n
        res.documents += batch.column("messages").null_count
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
    own_format = corpus_format(manifest)
    fmt = format_model or own_format
    tok = load_tokenizer(tokenizer or cfg.get("tokenizer") or "qwen2.5")
    check_tokenizer_fits(tok, fmt)
    end = tok.encode(document_end(fmt))
    if len(end) != 1:
        raise UserError(
            f"--tokenizer {tok.name} splits {document_end(fmt)}, the token that ends a document "
            f"for chat format {fmt}, into {len(end)} tokens; pass that model's tokenizer"
        )
    encode = _encoder(tok)
    files = _ShardFiles(dest, TOKENIZED_SCHEMA, res, partials)
    for shard, batch in _batches(out, manifest):
        cols = {"input_ids": [], "attention_mask": [], "labels": []}
        for rid, text, messages, n in zip(
            *(batch.column(c).to_pylist() for c in ("id", "text", "messages", "n_tokens"))
        ):
            ids, labels = _tokenize_row(
                encode, tok.normalize, fmt, fmt == own_format, rid, text, messages
            )
            if messages is None:  # a document ends as trainers end plain text
                ids, labels = ids + end, labels + end
                res.documents += 1
            cols["input_ids"].append(ids)
            cols["attention_mask"].append([1] * len(ids))
            cols["labels"].append(labels)
            res.tokens += len(ids)
            res.corpus_tokens += n
            res.trained_tokens += sum(x != IGNORE_INDEX for x in labels)
        files.write(shard, pa.RecordBatch.from_pydict(cols, schema=TOKENIZED_SCHEMA))
    files.close()


def _tokenize_row(
    encode: Encoder,
    normalize: Callable[[str], str],
    fmt: str,
    same_format: bool,
    rid: str,
    text: str,
    messages: list[dict[str, str]] | None,
) -> tuple[list[int], list[int]]:
    # A tokenizer that normalises (Qwen's NFC) sees the normalised text: the spans and
    # offsets are taken in it, so they line up with the ids.
    if messages is None:  # a document: learned whole
        ids, _ = encode(normalize(text))
        return ids, list(ids)
    messages = [{**m, "content": normalize(m["content"])} for m in messages]
    rendered, spans = render_with_spans(fmt, messages)
    if same_format and rendered != normalize(text):
        # The spans are only right if they come from the text the corpus counted.
        raise UserError(f"{rid}: `text` is not its messages in chat format {fmt}")
    ids, offsets = encode(rendered)
    return ids, labels_for(ids, offsets, spans)
