"""A corpus as the tiny model reads it: word units, stage by stage.

The model reads word units: a word with the space before it (" olive"), one punctuation
mark with its space, or one other whitespace character. Joining the units gives the
text back exactly, so replies decode to what the model wrote. A unit is about five
characters: the same minutes read about four times the text a character model reads,
and a name is one unit, so the model never has to spell a held-out entity's name to
recall its facts (a character model mixed up "Pluo" and "Plunel").

Documents are their `text`; chat samples are written compactly from `messages`
(`Q: …` / `A: …` lines instead of a chat template's markup). Every sample is wrapped in
a separator unit, so a probe is asked exactly as training QA looked and decoding stops
where a sample would end.

Training rows are packed from whole samples drawn at random within a stage, each row
starting at a sample's start: a probe is asked at position 0 with nothing before it,
so that is how every row's first sample is seen. Samples neighbouring in corpus order
(a biography and a question about the same entity) never share a row, so the model
cannot learn to copy an answer from the context instead of storing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synth.errors import UserError

SEP = "\x00"  # sample boundary: never in rendered text
UNK = "\x01"  # a unit the corpus never showed (only probes can have one)
UNIT = re.compile(r" ?\w+| ?[^\w\s]|\s")  # covers every character: "".join(units) == text


def units(text: str) -> list[str]:
    return UNIT.findall(text)


def chat_text(messages: list[dict]) -> str:
    """`S: system`, `Q: user`, `A: assistant` lines."""
    tag = {"system": "S", "user": "Q", "assistant": "A"}
    return "\n".join(f"{tag.get(m['role'], m['role'])}: {m['content'].strip()}" for m in messages)


def prompt_text(prompt: str, system: str | None) -> str:
    """A probe as the model is asked it: what precedes the answer in `chat_text` (the
    space after `A:` belongs to the answer's first unit)."""
    head = f"S: {system.strip()}\n" if system else ""
    return f"{SEP}{head}Q: {prompt.strip()}\nA:"


@dataclass
class Corpus:
    """The corpus's samples per curriculum stage, in corpus order, each wrapped as
    `SEP body \n`."""

    samples: list[list[str]]
    rows: int

    @property
    def stages(self) -> list[str]:
        """Each stage's characters, samples joined."""
        return ["".join(s) + SEP for s in self.samples]

    @property
    def chars(self) -> int:
        return sum(len(x) for s in self.samples for x in s)


def load_corpus(out: Path) -> Corpus:
    import datasets

    if not (out / "state.json").is_file():
        raise UserError(
            f"OUT: {out} holds no synth corpus (no state.json); pass --tier ontology to generate one"
        )
    ds = datasets.load_from_disk(str(out))
    missing = [c for c in ("text", "messages", "stage") if c not in ds.column_names]
    if missing:
        raise UserError(f"OUT: {out} lacks column(s) {', '.join(missing)}: not a synth corpus")
    parts: dict[int, list[str]] = {}
    for row in ds.select_columns(["text", "messages", "stage"]):
        body = chat_text(row["messages"]) if row["messages"] else row["text"]
        parts.setdefault(int(row["stage"]), []).append(SEP + body.strip() + "\n")
    if not parts:
        raise UserError(f"OUT: {out} holds no rows")
    return Corpus([parts[s] for s in sorted(parts)], len(ds))


class Vocab:
    """Units ↔ ids, sorted so the same corpus gives the same ids."""

    def __init__(self, text: str):
        self.units = sorted(set(units(text)) | {SEP, UNK})
        self.index = {u: i for i, u in enumerate(self.units)}

    def __len__(self) -> int:
        return len(self.units)

    def encode(self, s: str) -> list[int]:
        unk = self.index[UNK]
        return [self.index.get(u, unk) for u in units(s)]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.units[i] for i in ids)

    @property
    def sep(self) -> int:
        return self.index[SEP]


class Windows:
    """Training rows of `block + 1` units packed from whole samples of one stage,
    drawn at random (a row's last sample is cut where the row ends)."""

    def __init__(self, corpus: Corpus, vocab: Vocab, block: int):
        self.block = block
        self.stages = [
            [np.asarray(vocab.encode(x), dtype=np.int64) for x in s] for s in corpus.samples
        ]
        self.units = sum(len(x) for s in self.stages for x in s)

    def batch(
        self, stage: int, size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        samples = self.stages[stage]
        rows = np.empty((size, self.block + 1), dtype=np.int64)
        for r in range(size):
            filled = 0
            while filled < self.block + 1:
                x = samples[int(rng.integers(len(samples)))]
                n = min(len(x), self.block + 1 - filled)
                rows[r, filled : filled + n] = x[:n]
                filled += n
        return rows[:, :-1], rows[:, 1:]


def stage_schedule(corpus: Corpus, steps: int) -> list[int]:
    """Steps per stage in proportion to its characters, so training follows the
    curriculum (stage after stage) and sees every stage about equally often per
    character; every stage gets at least one step."""
    sizes = np.array([len(s) for s in corpus.stages], dtype=float)
    raw = sizes / sizes.sum() * steps
    alloc = np.maximum(1, np.floor(raw)).astype(int)
    while alloc.sum() > steps and alloc.max() > 1:
        alloc[int(np.argmax(alloc))] -= 1
    while alloc.sum() < steps:
        alloc[int(np.argmax(raw - alloc))] += 1
    return [int(a) for a in alloc]
