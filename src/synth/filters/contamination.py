"""Eval probes must not leak into training data.

A train row and a probe are the same item when they pose the same task on the same
input, however it is worded, or when their texts are the same; never because they share
an instruction's wording (a cipher's rules with another word to encode are another item).

Built from the probes' texts (full samples, plain or ChatML-wrapped, or just their
prompts) and, where they have one, their `formal` form. Each probe and each train row is
seen as (content, question): content is every turn but the system prompt (a default
system prompt is no sample's own text); the question is the user turns, or for plain text
what precedes the `Answer:` line. A train row is rejected when
- its normalized content or question equals a probe's ("contamination_exact");
- its `formal` task and input equal a probe's ("contamination_task"): `formal` without
  what is computed from them (`task_key`), so a reworded question is caught too;
- its content contains a probe's question, normalized, at word boundaries
  ("contamination_question"). Questions shorter than `min_question_words` words are
  skipped: they would match innocent text. Candidates are the places where the first
  `anchor_words` words of a question occur among the row's words; a substring test
  confirms;
- its question is a near duplicate of a probe's ("contamination_near"): MinHash LSH
  with the near_dedup machinery on what the row's template filled in, each candidate
  confirmed by exact Jaccard >= `min_jaccard` (probes are few, so their sets are kept;
  without it, hundreds of probes of one template give many chance collisions), on the
  filled-in part and on the whole question alike. The skeleton of
  the *row's* template is removed from both sides, so a probe of that template is
  compared on its filled-in part and an unrelated probe keeps all its shingles. Until
  a template has a skeleton estimate (its first `warmup` rows) the near check is off
  for it: on plain shingles every sibling of a probe would look like it. A row and a
  probe that both carry `formal` are compared by task identity only: their questions
  being alike means they share wording, and their `formal` says whether they are the
  same item. (The quick-start command corpus had 5 `command.cipher` rows flagged as
  near copies of probes that encoded other words; at 100M tokens generation rejected
  94 such rows.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from synth.filters.answer import ANSWER_LINE
from synth.filters.base import derived, stable_hash64
from synth.filters.exact_dedup import (
    content_key,
    join_normalized,
    normalize,
    normalized_content,
    normalized_turns,
    text_key,
)
from synth.filters.near_dedup import (
    MinHasher,
    TemplateSkeletons,
    content_words,
    isin_sorted,
    jaccard_sorted,
    template_salt,
    turn_words,
    words_of,
)
from synth.row import Row

_CHATML = re.compile(r"<\|im_start\|>([^\n<]*)\n?(.*?)(?:<\|im_end\|>|\Z)", re.S)
# What `formal` holds that is computed from the task and its input, not part of them.
COMPUTED = frozenset({"expected", "answer", "proof", "steps", "first_invalid", "original_answer"})


@dataclass(frozen=True)
class Probe:
    """An eval probe as the guard sees it: its text (or prompt) and its `formal` form."""

    text: str
    formal: str | None = None


def task_key(formal: str | dict | None) -> int | None:
    """A hash of what `formal` poses (the task and its input: for an instruction
    `task` and `input`, for a logic item its facts, rules, query and assumption), without
    what is computed from it; None without a `formal` object."""
    if formal is None:
        return None
    if isinstance(formal, str):
        try:
            formal = json.loads(formal)
        except json.JSONDecodeError:
            return None
    if not isinstance(formal, dict):
        return None
    if "task" in formal:
        posed = {"task": formal["task"], "input": formal.get("input")}
    else:
        posed = {k: v for k, v in formal.items() if k not in COMPUTED}
    canon = json.dumps(posed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return stable_hash64(canon)


def row_task_key(row: Row) -> int | None:
    """`task_key` of a row's formal, once per row while a chain works on it."""
    return derived(row, "task_key", lambda r: task_key(r.formal))


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
    return derived(row, "row_parts", _row_parts)


def _row_parts(row: Row) -> tuple[str, str]:
    if row.messages:
        return _turn_parts([(m.get("role") or "", m.get("content") or "") for m in row.messages])
    return _plain_parts(row.text)


def _question_words(row: Row) -> list[str]:
    """`words_of` the row's question; a chat's from its turns' words (as content_words)."""
    content, question = row_parts(row)
    if question is content:
        return content_words(row)
    if row.messages:
        return [w for role, ws in turn_words(row) if role == "user" for w in ws]
    return words_of(question)


class _ProbeView:
    """The probes as one template sees them: without that template's skeleton (at one
    skeleton version). Sizes and band keys are computed for the probes that a row comes
    near, not for all of them."""

    def __init__(self, version: int, skeleton: np.ndarray, salt: int) -> None:
        self.version = version
        self.skeleton = skeleton
        self.salt = salt
        self._sizes: dict[int, int] = {}
        self._keys: dict[int, set[int]] = {}

    def filled(self, shingles: np.ndarray) -> np.ndarray:
        return shingles[~isin_sorted(shingles, self.skeleton)]

    def size(self, i: int, shingles: np.ndarray) -> int:
        """Shingles of probe i (given) without the skeleton."""
        n = self._sizes.get(i)
        if n is None:
            n = self._sizes[i] = shingles.size - int(isin_sorted(shingles, self.skeleton).sum())
        return n

    def keys(self, i: int, shingles: np.ndarray, hasher: MinHasher) -> set[int]:
        k = self._keys.get(i)
        if k is None:
            sig = hasher.signatures_of_sets([self.filled(shingles)])
            k = self._keys[i] = set(hasher.band_keys(sig, self.salt)[0].tolist())
        return k


@dataclass
class ContaminationFilter:
    name: ClassVar[str] = "contamination"
    near: bool = True
    min_jaccard: float = 0.7  # exact Jaccard that confirms an LSH candidate
    min_question_words: int = 4
    anchor_words: int = 8
    probes: Iterable[str | Probe] = field(default=(), metadata={"config": False})
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
        elif not self.owns_skeletons:
            self.skeletons.shared = True  # its owner (near_dedup) must keep it calibrating
        self._exact: set[int] = set()
        self._tasks: set[int] = set()  # task_key of the probes that carry formal
        self._posed: list[bool] = []  # per probe: it carries formal (compared by task alone)
        self._questions: list[str] = []  # normalized, of min_question_words words or more
        questions = []
        for probe in self.probes:
            text, key = (probe, None) if isinstance(probe, str) else (probe.text, None)
            if isinstance(probe, Probe):
                key = task_key(probe.formal)
            if key is not None:
                self._tasks.add(key)
            self._posed.append(key is not None)
            content, question = probe_parts(text)
            norm_q = normalize(question)
            self._exact.update(text_key(t) for t in (normalize(content), norm_q) if t)
            if len(norm_q.split()) >= self.min_question_words:
                self._questions.append(norm_q)
            questions.append(question)
        self._all_posed = bool(self._posed) and all(self._posed)
        self.probes = ()  # what is needed is indexed; the texts need not stay in memory
        hasher = self.skeletons.hasher
        self._probe_shingles: list[np.ndarray] = hasher.shingle_sets(questions) if questions else []
        self._near_templates: set[str] = set()
        self._index_probes()

    def _index_probes(self) -> None:
        """The lookup structures built from `_questions` and `_probe_shingles`."""
        # Anchors: a question's first `a` words -> the questions starting so, by `a`.
        self._anchors: dict[int, dict[tuple[str, ...], list[int]]] = {}
        for qi, q in enumerate(self._questions):
            words = q.split()
            a = min(self.anchor_words, len(words))
            self._anchors.setdefault(a, {}).setdefault(tuple(words[:a]), []).append(qi)
        # Every anchor's first `_lead` words (the shortest anchor length): a row whose
        # word `_lead`-grams include none of them contains no question.
        self._lead = min(self._anchors, default=0)
        self._leads = {words[: self._lead] for table in self._anchors.values() for words in table}
        # Shingle -> the probes holding it: a row's shared shingles are counted here,
        # and in the arrays below for a whole batch (sorted shingles, CSR offsets).
        self._postings: dict[int, list[int]] = {}
        for i, sh in enumerate(self._probe_shingles):
            for x in sh.tolist():
                self._postings.setdefault(x, []).append(i)
        lists = [self._postings[x] for x in sorted(self._postings)]
        self._post_values = np.array(sorted(self._postings), dtype=np.uint64)
        self._post_starts = np.cumsum([0, *map(len, lists)], dtype=np.int64)
        self._post_probes = np.array([i for ids in lists for i in ids], dtype=np.int64)
        self._views: dict[str, _ProbeView] = {}
        # id(row) -> (row, question shingles, what _count_shared found or None)
        self._prepared: dict[int, tuple[Row, np.ndarray, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        # The indexes are rebuilt on load (from the questions and probe shingles).
        derived_state = ("_anchors", "_lead", "_leads", "_postings", "_post_values")
        derived_state += ("_post_starts", "_post_probes", "_views", "_prepared")
        return {k: v for k, v in self.__dict__.items() if k not in derived_state}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index_probes()

    def state(self) -> dict[str, Any]:
        """What rows taught it (the probes' indexes are rebuilt from the probes): the
        templates near-checked, and the skeletons when it owns them (near_dedup off)."""
        own = self.owns_skeletons and self.skeletons is not None
        return {
            "near_templates": sorted(self._near_templates),
            "skeletons": self.skeletons.state() if own else None,  # type: ignore[union-attr]
        }

    def restore(self, state: dict[str, Any]) -> None:
        self._near_templates = {str(t) for t in state["near_templates"]}
        if self.owns_skeletons and self.skeletons is not None:
            self.skeletons.restore(state["skeletons"])
        self._views, self._prepared = {}, {}

    def prepare(self, rows: Sequence[Row]) -> None:
        if self.owns_skeletons and self.skeletons is not None:
            self.skeletons.prepare(rows)  # else near_dedup prepares the shared model
        self._prepared = {}
        if self._exact and self.near and self.skeletons is not None:
            if self._all_posed:  # rows with formal are compared by task alone
                rows = [r for r in rows if not r.formal or row_task_key(r) is None]
            # The questions' shingles for the batch in one pass; for rows of calibrated
            # templates (whose skeleton is final) also the near check's counting.
            sets = self.skeletons.hasher.shingle_sets_of_words([_question_words(r) for r in rows])
            counted = self._count_shared(rows, sets)
            self._prepared = {
                id(r): (r, sh, counted.get(i)) for i, (r, sh) in enumerate(zip(rows, sets))
            }

    def _count_shared(
        self, rows: Sequence[Row], sets: list[np.ndarray]
    ) -> dict[int, tuple[np.ndarray, list[tuple[int, int]]]]:
        """Row index -> (filled shingles, [(probe, shared shingles)] for the probes that
        can reach min_jaccard), for the rows whose template is calibrated."""
        sk = self.skeletons
        assert sk is not None
        by_template: dict[str, list[int]] = {}
        for i, r in enumerate(rows):
            if sk.is_frozen(r.template):
                by_template.setdefault(r.template, []).append(i)
        filled: dict[int, np.ndarray] = {}
        for template, idx in by_template.items():
            skel = sk.skeleton(template)[1]
            if skel is None:
                continue
            parts = [sets[i] for i in idx]
            keep = ~isin_sorted(np.concatenate(parts), skel)
            bounds = np.cumsum([p.size for p in parts])[:-1]
            for i, part, k in zip(idx, parts, np.split(keep, bounds), strict=True):
                filled[i] = part[k]
        out = {i: (f, []) for i, f in filled.items()}
        if not filled or not self._post_values.size:
            return out
        order = list(filled)
        sizes = np.array([filled[i].size for i in order], dtype=np.int64)
        shingles = np.concatenate([filled[i] for i in order])
        owner = np.repeat(np.arange(len(order)), sizes)
        pos = np.searchsorted(self._post_values, shingles)
        pos[pos == self._post_values.size] = 0
        found = self._post_values[pos] == shingles
        pos, owner = pos[found], owner[found]
        starts = self._post_starts[pos]
        lens = self._post_starts[pos + 1] - starts
        # Every (row, probe) pair of a shared shingle, then the count of each pair.
        at = np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
        pairs = np.repeat(owner, lens) * len(self._probe_shingles) + self._post_probes[at]
        pairs, shared = np.unique(pairs, return_counts=True)
        row_of, probe_of = np.divmod(pairs, len(self._probe_shingles))
        can = shared >= self.min_jaccard * sizes[row_of] * (1 - 1e-9)  # as _near's cut
        for r, p, c in zip(row_of[can].tolist(), probe_of[can].tolist(), shared[can].tolist()):
            out[order[r]][1].append((p, c))
        return out

    def reason(self, row: Row) -> str | None:
        if self.owns_skeletons and self.skeletons is not None:
            self.skeletons.observe(row)
        if not self._exact:
            return None
        content, question = row_parts(row)
        # content is sample_content(row) (every turn but the system's), so exact dedup's
        # normalized form and key serve here (normalize() is idempotent: the key is
        # text_key(norm)); a chat's question is normalized from its user turns.
        norm = normalized_content(row)
        if question is content:
            norm_q, key_q = norm, content_key(row)
        else:
            if row.messages:
                norm_q = join_normalized(n for role, n in normalized_turns(row) if role == "user")
            else:
                norm_q = normalize(question)
            key_q = stable_hash64(norm_q)
        if content_key(row) in self._exact or key_q in self._exact:
            return "contamination_exact"
        if self._tasks and row.formal and row_task_key(row) in self._tasks:
            return "contamination_task"
        if self._contains_question(norm):
            return "contamination_question"
        if self.near and self._near(row, question):
            return "contamination_near"
        return None

    def _contains_question(self, norm: str) -> bool:
        """A probe question, normalized, at word boundaries of the normalized content.
        A question that occurs starts with its anchor at some word: look there only."""
        lead = self._lead
        if not lead:
            return False
        words = norm.split()
        grams = list(zip(*(words[k:] for k in range(lead))))
        if self._leads.isdisjoint(grams):
            return False  # no anchor starts anywhere (the usual case)
        padded = f" {norm} "
        for i, g in enumerate(grams):
            if g not in self._leads:
                continue
            for a, table in self._anchors.items():
                hits = table.get(tuple(words[i : i + a]))
                if hits and any(f" {self._questions[qi]} " in padded for qi in hits):
                    return True
        return False

    def _question_shingles(self, row: Row, question: str) -> np.ndarray:
        hit = self._prepared.get(id(row))
        if hit is not None and hit[0] is row:
            return hit[1]
        assert self.skeletons is not None
        return self.skeletons.hasher.shingles(question)

    def _near(self, row: Row, question: str) -> bool:
        """A probe whose question, without the row template's skeleton, shares an LSH
        band with the row's (so MinHash would make it a candidate) and has exact Jaccard
        >= min_jaccard with it.

        The row's filled shingles exclude the skeleton, so the shingles it shares with a
        probe are the same with or without the probe's skeleton part: counting them over
        all probes at once (`_postings`) finds every probe that can reach min_jaccard,
        and only those need their band keys."""
        sk = self.skeletons
        assert sk is not None
        version, skel = sk.skeleton(row.template)
        if skel is None:
            return False
        posed = bool(row.formal) and row_task_key(row) is not None
        if posed and self._all_posed:
            return False  # both carry formal: the task check decided
        view = self._view(row.template, version, skel)
        hit = self._prepared.get(id(row))
        counted = hit[2] if hit is not None and hit[0] is row else None
        if counted is not None:  # the template was calibrated at prepare(): still so
            filled, pairs = counted
        else:
            filled, pairs = view.filled(self._question_shingles(row, question)), None
        if filled.size == 0:
            return False
        self._near_templates.add(row.template)
        if pairs is None:
            shared: dict[int, int] = {}
            postings = self._postings
            for x in filled.tolist():
                for i in postings.get(x, ()):
                    shared[i] = shared.get(i, 0) + 1
            pairs = list(shared.items())
        n = filled.size
        least = self.min_jaccard * n * (1 - 1e-9)  # J <= shared / n: a loose, safe cut
        keys: set[int] | None = None
        whole: np.ndarray | None = None
        for i, inter in pairs:
            if inter < least or posed and self._posed[i]:
                continue
            probe = self._probe_shingles[i]
            union = n + view.size(i, probe) - inter
            if inter / union < self.min_jaccard:
                continue
            # A name asked about often is frequent in the template's first rows and so
            # part of its skeleton: taken from one side only, it can make questions that
            # differ in a name look alike. A near copy is near on its whole text too.
            if whole is None:
                whole = self._question_shingles(row, question)
            if jaccard_sorted(whole, probe) < self.min_jaccard:
                continue
            if keys is None:
                sig = sk.hasher.signatures_of_sets([filled])
                keys = set(sk.hasher.band_keys(sig, view.salt)[0].tolist())
            if not keys.isdisjoint(view.keys(i, probe, sk.hasher)):
                return True
        return False

    def _view(self, template: str, version: int, skel: np.ndarray) -> _ProbeView:
        view = self._views.get(template)
        if view is None or view.version != version:
            view = self._views[template] = _ProbeView(version, skel, template_salt(template))
        return view

    def stats(self) -> dict[str, Any]:
        return {
            "probes": len(self._probe_shingles),
            "questions_indexed": len(self._questions),
            "templates_near_indexed": len(self._near_templates),
        }
