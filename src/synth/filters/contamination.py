"""Eval probes must not leak into training data.

Built from the probes' texts: full samples (plain or ChatML-wrapped) or just their
prompts. Each probe and each train row is seen as (content, question): content is every
turn but the system prompt (a default system prompt is no sample's own text); the
question is the user turns, or for plain text what precedes the `Answer:` line.
A train row is rejected when
- its normalized content or question equals a probe's ("contamination_exact");
- its content contains a probe's question, normalized, at word boundaries
  ("contamination_question"). Questions shorter than `min_question_words` words are
  skipped: they would match innocent text. Candidates come from hashing the first
  `anchor_words` words of each question and every window of the row; a substring test
  confirms;
- its question is a near duplicate of a probe's ("contamination_near"): MinHash LSH
  with the near_dedup machinery on what the row's template filled in, each candidate
  confirmed by exact Jaccard >= `min_jaccard` (probes are few, so their sets are kept;
  without it, hundreds of probes of one template give many chance collisions). The skeleton of
  the *row's* template is removed from both sides, so a probe of that template is
  compared on its filled-in part and an unrelated probe keeps all its shingles. Until
  a template has a skeleton estimate (its first `warmup` rows) the near check is off
  for it: on plain shingles every sibling of a probe would look like it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from synth.filters.answer import ANSWER_LINE
from synth.filters.exact_dedup import normalize, text_key
from synth.filters.near_dedup import (
    MinHasher,
    TemplateSkeletons,
    VerifiedLSH,
    isin_sorted,
    ngram_hashes,
    template_salt,
    word_hashes,
)
from synth.row import Row

_CHATML = re.compile(r"<\|im_start\|>([^\n<]*)\n?(.*?)(?:<\|im_end\|>|\Z)", re.S)
_SPECIAL = re.compile(r"<\|[^|>\s]*\|>")


def _plain_parts(text: str) -> tuple[str, str]:
    m = ANSWER_LINE["ru"].search(text)  # either label, en or ru
    return text, (text[: m.start()] if m else text)


def _turn_parts(turns: list[tuple[str, str]]) -> tuple[str, str]:
    turns = [(role, body) for role, body in turns if role != "system"]
    content = "\n\n".join(body for _, body in turns)
    question = "\n\n".join(body for role, body in turns if role == "user")
    return content, question or content


def probe_parts(text: str) -> tuple[str, str]:
    """(content, question) of a probe text, ChatML-wrapped or plain."""
    turns = [(role.strip(), body.strip()) for role, body in _CHATML.findall(text)]
    if turns:
        return _turn_parts(turns)
    return _plain_parts(_SPECIAL.sub("", text))


def row_parts(row: Row) -> tuple[str, str]:
    """(content, question) of a train row."""
    if row.messages:
        return _turn_parts([(m.get("role") or "", m.get("content") or "") for m in row.messages])
    return _plain_parts(row.text)


@dataclass
class ContaminationFilter:
    name: ClassVar[str] = "contamination"
    near: bool = True
    min_jaccard: float = 0.7  # exact Jaccard that confirms an LSH candidate
    min_question_words: int = 4
    anchor_words: int = 8
    probes: Iterable[str] = field(default=(), metadata={"config": False})
    skeletons: TemplateSkeletons | None = field(default=None, metadata={"config": False})
    owns_skeletons: bool = field(default=False, metadata={"config": False})

    def __post_init__(self) -> None:
        if not 0 < self.min_jaccard <= 1:
            raise ValueError("min_jaccard must be in (0, 1]")
        if self.min_question_words < 1 or self.anchor_words < 1:
            raise ValueError("min_question_words and anchor_words must be >= 1")
        if self.skeletons is None:
            self.skeletons = TemplateSkeletons(MinHasher())
            self.owns_skeletons = True
        self._exact: set[int] = set()
        self._questions: list[str] = []
        self._anchors: dict[int, dict[int, list[int]]] = {}
        self._probe_shingles: list[np.ndarray] = []
        self._probe_index: dict[str, tuple[int, VerifiedLSH]] = {}
        for text in self.probes:
            content, question = probe_parts(text)
            norm_q = normalize(question)
            self._exact.update(text_key(t) for t in (normalize(content), norm_q) if t)
            self._add_question(norm_q)
            self._probe_shingles.append(self.skeletons.hasher.shingles(question))
        self.probes = ()  # what is needed is indexed; the texts need not stay in memory
        self._anchor_keys = {
            a: np.array(sorted(d), dtype=np.uint64) for a, d in self._anchors.items()
        }

    def _add_question(self, q: str) -> None:
        words = q.split()
        if len(words) < self.min_question_words:
            return
        a = min(self.anchor_words, len(words))
        key = int(ngram_hashes(word_hashes(words[:a]), a)[0])
        self._anchors.setdefault(a, {}).setdefault(key, []).append(len(self._questions))
        self._questions.append(q)

    def prepare(self, rows: Sequence[Row]) -> None:
        if self.owns_skeletons and self.skeletons is not None:
            self.skeletons.prepare(rows)  # else near_dedup prepares the shared model

    def reason(self, row: Row) -> str | None:
        if self.owns_skeletons and self.skeletons is not None:
            self.skeletons.observe(row)
        if not self._exact:
            return None
        content, question = row_parts(row)
        norm = normalize(content)
        norm_q = normalize(question) if question is not content else norm
        if text_key(norm) in self._exact or text_key(norm_q) in self._exact:
            return "contamination_exact"  # normalize() is idempotent, so text_key works
        if self._contains_question(norm):
            return "contamination_question"
        if self.near and self._near(row, question):
            return "contamination_near"
        return None

    def _contains_question(self, norm: str) -> bool:
        wh = word_hashes(norm.split())
        padded = f" {norm} "
        for a, keys in self._anchor_keys.items():
            h = ngram_hashes(wh, a)
            for pos in np.flatnonzero(isin_sorted(h, keys)).tolist():
                for qi in self._anchors[a][int(h[pos])]:
                    if f" {self._questions[qi]} " in padded:
                        return True
        return False

    def _near(self, row: Row, question: str) -> bool:
        sk = self.skeletons
        assert sk is not None
        version, skel = sk.skeleton(row.template)
        if skel is None:
            return False
        filled = sk.without_skeleton(sk.hasher.shingles(question), row.template)
        if filled is None or filled.size == 0:
            return False
        hasher = sk.hasher
        salt = template_salt(row.template)
        keys = hasher.band_keys(hasher.signatures_of_sets([filled]), salt)[0]
        index = self._probe_keys(row.template, version, skel, salt)
        return index.best(filled, keys) >= self.min_jaccard

    def _probe_keys(self, template: str, version: int, skel: np.ndarray, salt: int) -> VerifiedLSH:
        """Every probe with this template's skeleton removed, indexed (cached)."""
        cached = self._probe_index.get(template)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = VerifiedLSH()
        sets = [p[~isin_sorted(p, skel)] for p in self._probe_shingles]
        index.add_many(sets, self.skeletons.hasher, salt)  # type: ignore[union-attr]
        self._probe_index[template] = (version, index)
        return index

    def stats(self) -> dict[str, Any]:
        return {
            "probes": len(self._probe_shingles),
            "questions_indexed": len(self._questions),
            "templates_near_indexed": len(self._probe_index),
        }
