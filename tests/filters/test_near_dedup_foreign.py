"""Near duplicates in corpora synth did not make: templated task rows whose long shared
instructions make unrelated rows look alike on whole-row shingles.

A near copy is judged on its varying part (its shingles minus the instruction): at
Jaccard >= 0.8 there it is removed whatever the instruction's wording or the row's group,
and rows that only share an instruction are kept. Real files go through `synth filter`,
whose filter.json and terminal say how rows were grouped and what each group got.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from synth.cli.filter import filter_cmd
from synth.filters import FilterChain
from synth.filters.near_corpus import SignatureIndex, cut_for, whole_row_jaccard
from synth.filters.near_dedup import MinHasher, NearDedupFilter, words_of
from synth.row import Row

SYLLABLES = [a + b for a in "bdfgklmnprstvz" for b in ("a", "e", "i", "o", "u", "ai", "ou")]


def nonce(rng: random.Random, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.sample(SYLLABLES, rng.randint(2, 3))))
    return sorted(out)


VOCAB = nonce(random.Random(1), 3000)

# Task families: two wordings of a long instruction each, and a varying part of 10-40 words.
FAMILIES = {
    "sorting": (
        "Your task is to put the words below in alphabetical order, as a dictionary would, "
        "ignoring upper and lower case. Write them on one line separated by commas and "
        "spaces, and do not add, drop or change any word. Words: {v}",
        "Sort the following list of words alphabetically. Case does not matter, and every "
        "word must appear exactly once in your answer, in the same spelling, separated by "
        "commas. The list: {v}",
    ),
    "kinship": (
        "Read the statements about one family below and work out how the two people named "
        "in the question are related. Answer with one word for the relationship, such as "
        "aunt or grandson, and nothing else. {v}",
        "Below are facts about the members of a family. Use only these facts to find the "
        "relationship between the two people in the question, and reply with a single word "
        "naming it, for example cousin. {v}",
    ),
    "cipher": (
        "The message below was encrypted by shifting every letter the same number of places "
        "along the alphabet. Find the shift, decrypt the message and reply with the plain "
        "text in capital letters, keeping the spaces. Message: {v}",
        "Decrypt this text. Each letter was moved forward by a fixed number of positions in "
        "the alphabet, wrapping from Z back to A, while spaces were kept as they were. Give "
        "the decrypted text in capitals. Text: {v}",
    ),
    "lookup": (
        "The records below list people with their town and their member number, one person "
        "per line. Find the member number of the person asked about and reply with the "
        "number alone, without any other words. Records: {v}",
        "Here is a list of members, each with a town and a number. Look up the number of "
        "the person named in the question and answer with that number only, with no "
        "explanation around it. Records: {v}",
    ),
}
RARE = {  # one more family, a few rows only: its instruction is too rare to be learned
    "proof": (
        "Prove or disprove the claim below using only the listed axioms, writing one step "
        "per line and naming the axiom each step uses, then state your verdict on a final "
        "line of its own. Claim and axioms: {v}",
        "",
    ),
}


def varying(rng: random.Random, task: str) -> str:
    words = rng.sample(VOCAB, rng.choice((6, 8, 10, 12, 40, 50)))
    if task == "kinship":
        return " ".join(f"{a} is the parent of {b}." for a, b in zip(words[::2], words[1::2]))
    if task == "lookup":
        return " ".join(
            f"{w} {rng.choice(VOCAB)} {rng.randint(1, 9999)};" for w in words[: len(words) // 2]
        )
    return " ".join(words)


def instruction(task: str, wording: int) -> str:
    return {**FAMILIES, **RARE}[task][wording]


def row_text(task: str, wording: int, v: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": instruction(task, wording).format(v=v)},
        {"role": "assistant", "content": f"The answer is {answer}."},
    ]


def shingles(text: str) -> set[tuple[str, ...]]:
    w = words_of(text)
    return {tuple(w[i : i + 5]) for i in range(len(w) - 4)}


def fixed(task: str) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for wording in {**FAMILIES, **RARE}[task]:
        for piece in wording.split("{v}"):
            out |= shingles(piece)
    return out


def content(messages: list[dict[str, str]]) -> str:
    return "\n\n".join(m["content"] for m in messages if m["role"] != "system")


def jaccard_varying(task: str, a: list[dict], b: list[dict]) -> float:
    sa, sb = shingles(content(a)) - fixed(task), shingles(content(b)) - fixed(task)
    return len(sa & sb) / len(sa | sb)


def jaccard_whole(a: list[dict], b: list[dict]) -> float:
    sa, sb = shingles(content(a)), shingles(content(b))
    return len(sa & sb) / len(sa | sb)


def edit(v: str, k: int, rng: random.Random) -> str:
    spans = [m.span() for m in re.finditer(r"\w+", v)]
    out, last = [], 0
    for a, b in sorted(rng.sample(spans, k)):
        out += [v[last:a], rng.choice(VOCAB)]
        last = b
    return "".join(out) + v[last:]


def build(n: int = 1200, seed: int = 3) -> tuple[list[dict], dict[str, dict]]:
    """Clean rows of the four families (and 6 of a rare one), and planted copies after
    their originals: {copy id: {"of", "jaccard", "whole", "kind"}}."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for i in range(n):
        task = rng.choice(list(FAMILIES)) if i % 200 else "proof"
        w = rng.randrange(2) if task != "proof" else 0
        v = varying(rng, task)
        rows.append({"id": f"r{i}", "task": task, "wording": w, "v": v,
                     "messages": row_text(task, w, v, rng.choice(VOCAB))})  # fmt: skip
    planted: dict[str, dict] = {}
    out = list(rows)
    long = [r for r in rows[50:] if r["task"] != "proof" and len(r["v"].split()) >= 30]
    for k, orig in enumerate(rng.sample(long, 90)):
        kind = ("edit", "reworded", "far")[k % 3]
        task = orig["task"]
        w = 1 - orig["wording"] if kind == "reworded" else orig["wording"]
        n_words = len(re.findall(r"\w+", orig["v"]))
        v = edit(orig["v"], 1 if kind != "far" else n_words // 2, rng)
        copy = {"id": f"c{k}", "task": task, "wording": w, "v": v,
                "messages": row_text(task, w, v, orig["messages"][2]["content"][14:-1])}  # fmt: skip
        planted[copy["id"]] = {
            "of": orig["id"],
            "kind": kind,
            "jaccard": jaccard_varying(task, orig["messages"], copy["messages"]),
            "whole": jaccard_whole(orig["messages"], copy["messages"]),
        }
        out.insert(out.index(orig) + 1 + rng.randint(0, 300), copy)
    return out, planted


def as_row(d: dict, group: str | None = None) -> Row:
    g = d[group] if group else "(all rows)"
    return Row(d["id"], "", d["messages"], 0, "", "", g, "en", -1, [], -1, None, None, 0)


def run_near(docs: list[dict], near: NearDedupFilter | None = None, group: str | None = None,
             batch: int = 256) -> tuple[set[str], NearDedupFilter]:  # fmt: skip
    rows = [as_row(d, group) for d in docs]
    near = near or NearDedupFilter()
    near.calibrate(iter(rows), "test")
    kept = {r.id for r in FilterChain([near]).filter(rows, batch_size=batch)}
    return {r.id for r in rows} - kept, near


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict], dict[str, dict]]:
    return build()


def test_templated_siblings_look_alike_on_whole_rows(corpus):
    """The premise: siblings share a long instruction, so whole-row MinHash (generation's
    mode without its per-template skeleton) removes many distinct rows."""
    docs, planted = corpus
    rows = [as_row(d) for d in docs if d["id"] not in planted]
    plain = FilterChain([NearDedupFilter(calibration=0)])
    removed = sum(not plain.keep(r) for r in rows)
    assert removed > 0.1 * len(rows)


def test_near_copies_go_and_distinct_rows_stay(corpus):
    docs, planted = corpus
    removed, near = run_near(docs)
    high = {c for c, p in planted.items() if p["jaccard"] >= 0.8}
    low = {c for c, p in planted.items() if p["jaccard"] < 0.5}
    assert len(high) >= 30 and len(low) >= 20
    assert len(removed & high) >= 0.95 * len(high)
    assert not removed & low  # half the words of a problem changed: another problem
    clean = {d["id"] for d in docs} - set(planted)
    assert not removed & clean
    # Rewording the instruction does not hide a copy; whole rows would not even call it near.
    reworded = {c for c, p in planted.items() if p["kind"] == "reworded" and p["jaccard"] >= 0.8}
    assert reworded <= removed
    assert all(planted[c]["whole"] < 0.8 for c in reworded)
    d = near.stats()
    assert d["mode"] == "corpus" and d["cut"] == pytest.approx(cut_for(0.8), abs=1e-4)
    g = d["groups"]["(all rows)"]
    assert g["pairs_found"] == len(removed) and g["rows"] == len(docs)
    for e in g["examples"]:  # each example names a copy and the row it copies
        assert planted[e["row"]]["of"] == e["near"] and e["jaccard"] >= d["cut"]


def test_rows_are_compared_across_groups(corpus):
    """Grouped by task, a copy filed under another task is still a copy."""
    docs, planted = corpus
    moved = [dict(d, task="sorting" if d["task"] != "sorting" else "cipher")
             if d["id"] in planted else d for d in docs]  # fmt: skip
    removed, near = run_near(moved, group="task")
    high = {c for c, p in planted.items() if p["jaccard"] >= 0.8}
    assert len(removed & high) >= 0.95 * len(high)
    assert not removed - set(planted)
    groups = near.stats()["groups"]
    assert set(groups) == {"sorting", "kinship", "cipher", "lookup", "proof"}
    assert all(0.8 <= g["whole_row_jaccard"] <= 1 for g in groups.values() if "sampled_rows" in g)


def test_row_order_and_batches_do_not_change_decisions(corpus):
    """The boilerplate comes from a sample chosen by content hash, so a corpus sorted by
    task (its last task far from the start) learns the same; decisions do not depend on
    where batches end."""
    docs, planted = corpus
    removed, near = run_near(docs)
    again, _ = run_near(docs, batch=37)
    assert again == removed
    by_task = sorted(docs, key=lambda d: d["task"])  # copies stay after their originals
    sorted_removed, near2 = run_near(by_task)
    assert np.array_equal(near._corpus.passages, near2._corpus.passages)
    high = {c for c, p in planted.items() if p["jaccard"] >= 0.8}
    assert len(sorted_removed & high) >= 0.95 * len(high)
    assert not sorted_removed - set(planted)


def test_frequent_phrases_inside_a_row_are_not_boilerplate():
    """Prose from small phrase pools: its phrases recur in many rows, but never as a long
    passage, so a two-word edit of a paragraph is still a near copy (only 16-word passages
    that 10 sampled rows hold are discounted)."""
    rng = random.Random(5)
    subj = ["the old miller", "a young teacher", "my neighbour", "the captain", "our guide"]
    verb = ["carried", "painted", "repaired", "sold", "described", "watched"]
    obj = ["a wooden boat", "the broken clock", "an old map of the coast", "a jar of honey"]
    when = ["before dawn", "after the storm", "at the end of the market", "in early spring"]

    def para() -> str:
        return " ".join(f"{rng.choice(subj)} {rng.choice(verb)} {rng.choice(obj)} "
                        f"{rng.choice(when)}." for _ in range(12))  # fmt: skip

    docs = [{"id": f"p{i}", "messages": [{"role": "user", "content": para()}]} for i in range(300)]
    original = docs[40]["messages"][0]["content"]
    words = original.split(" ")
    words[10], words[70] = "purple", "banana"
    docs.insert(120, {"id": "copy", "messages": [{"role": "user", "content": " ".join(words)}]})
    hasher = MinHasher()
    sets = hasher.shingle_sets([d["messages"][0]["content"] for d in docs])
    _, held = np.unique(np.concatenate(sets), return_counts=True)
    assert (held >= 10).sum() > 100  # many 5-word phrases recur in 10 rows or more,
    removed, near = run_near(docs)
    frequent = int((held >= 10).sum())
    assert near.stats()["frequent_passages"] < 0.1 * frequent  # ...few 16-word passages do
    assert removed == {"copy"}


def test_rare_family_siblings_are_judged_on_what_they_share(corpus):
    """Six rows of a family too rare to learn its instruction from keep it in their varying
    part; they are still far apart (their problems differ), so they stay."""
    docs, planted = corpus
    removed, _ = run_near(docs)
    rare = {d["id"] for d in docs if d["task"] == "proof"}
    assert len(rare) == 6 and not removed & rare


def test_signature_index_estimates_and_forgets():
    rng = np.random.default_rng(2)
    hasher = MinHasher(20, 6, seed=2)
    base = np.unique(rng.integers(0, 2**63, 400, dtype=np.uint64))
    near = np.unique(np.concatenate([base[:360], rng.integers(0, 2**63, 40, dtype=np.uint64)]))
    far = np.unique(rng.integers(0, 2**63, 400, dtype=np.uint64))
    exact = len(np.intersect1d(base, near)) / len(np.union1d(base, near))
    sigs = hasher.signatures_of_sets([base, near, far])
    keys, bsig = hasher.band_keys(sigs), (sigs & 0xFF).astype(np.uint8)
    idx = SignatureIndex(4, 20, 120)  # a ring of 16 rows
    idx.add(keys[:1], np.array([idx.store(bsig[0], "base")]))
    rows, slots = idx.candidates(keys[1:])
    assert list(rows) == [0] and idx.ids[slots[0]] == "base"  # far shares no band
    assert abs(idx.estimate(bsig[1:2], slots)[0] - exact) < 0.1
    for k in range(16):  # the ring wraps: the slot now holds another row
        idx.store(bsig[2], f"x{k}")
    assert idx.estimate(bsig[1:2], slots)[0] < 0.2
    assert cut_for(0.8) == pytest.approx(0.727, abs=0.002)
    assert whole_row_jaccard(0.8, 0, 10) == pytest.approx(0.8)
    assert whole_row_jaccard(0.8, 300, 10) > 0.98


# --- synth filter: real files, filter.json and the terminal ---------------------------


def write_jsonl(path: Path, docs: list[dict], columns: tuple[str, ...]) -> Path:
    path.write_text("".join(json.dumps({k: d[k] for k in ("id", "messages", *columns)}) + "\n"
                            for d in docs), encoding="utf-8")  # fmt: skip
    return path


def run_cli(*args) -> str:
    result = CliRunner().invoke(filter_cmd, [*map(str, args), "--quiet", "--only", "near_dedup"])
    assert result.exit_code == 0, result.output
    return result.output


def test_filter_json_and_terminal_say_how_rows_were_grouped(corpus, tmp_path):
    docs, planted = corpus
    path = write_jsonl(tmp_path / "tasks.jsonl", docs, ("task",))
    out = run_cli(path, "--out", tmp_path / "a")
    rep = json.loads((tmp_path / "a" / "filter.json").read_text())
    d = rep["filters"]["near_dedup"]["details"]
    assert rep["group_column"] is None and d["grouping"].startswith("one group")
    assert "near_dedup: rows grouped by one group" in out and "whole-row Jaccard >=" in out
    removed = rep["filters"]["near_dedup"]["rejected"]["near_dup"]
    assert d["groups"]["(all rows)"]["pairs_found"] == removed

    out = run_cli(path, "--out", tmp_path / "b", "--group", "task")
    rep = json.loads((tmp_path / "b" / "filter.json").read_text())
    d = rep["filters"]["near_dedup"]["details"]
    assert rep["group_column"] == "task" and d["grouping"] == "column 'task' (--group)"
    assert rep["filters"]["near_dedup"]["rejected"]["near_dup"] == removed  # the same rows go
    for task, g in d["groups"].items():
        assert f"  {task}: {g['pairs_found']:,} of {g['rows']:,} rows near copies" in out
        for e in g["examples"]:
            assert planted[e["row"]]["of"] == e["near"]
        assert g["similarity"] == 0.8 and 0.8 <= g.get("whole_row_jaccard", 0.8) <= 1
    assert sum(g["pairs_found"] for g in d["groups"].values()) == removed

    # A `template` column groups rows when --group does not say otherwise.
    path = write_jsonl(tmp_path / "templated.jsonl",
                       [dict(d, template=d["task"]) for d in docs], ("template",))  # fmt: skip
    run_cli(path, "--out", tmp_path / "c")
    d = json.loads((tmp_path / "c" / "filter.json").read_text())["filters"]["near_dedup"]
    assert d["details"]["grouping"] == "column 'template'"


def test_qa_near_section_lists_groups(corpus):
    from synth.qa.metrics import near_duplicate_clusters

    docs, planted = corpus
    rows = [as_row(d, "task") for d in docs]
    n = near_duplicate_clusters(rows, NearDedupFilter())
    groups = n["groups"]["groups"]
    assert sum(g["pairs_found"] for g in groups.values()) >= 0.95 * sum(
        p["jaccard"] >= 0.8 for p in planted.values()
    )
    assert all(planted[e["row"]]["of"] == e["near"] for g in groups.values() for e in g["examples"])


def test_word_hashes_from_bytes_split_words_as_words_of():
    """The corpus mode hashes words from the text's bytes; its words are `words_of`'s,
    and a word hashes the same in ASCII and non-ASCII text."""
    from synth.filters.near_corpus import text_word_hashes

    texts = ["Hello, World! cat_dog 42x", "Привет, мир — cat! «Ёлка» Straße", "a b", "", "...",
             "x" * 300 + " cat", "Tab\tand\nnewline CAT"]  # fmt: skip
    wh, lens = text_word_hashes(texts, 5)
    pieces = np.split(wh, np.cumsum(lens)[:-1])
    seen: dict[str, set[int]] = {}
    for t, p in zip(texts, pieces, strict=True):
        words = words_of(t)
        assert len(p) == (max(len(words), 5) if words else 0)
        for w, h in zip(words, p.tolist(), strict=False):
            seen.setdefault(w, set()).add(h)
    assert all(len(h) == 1 for h in seen.values())  # "cat" thrice, one hash
    assert len({next(iter(h)) for h in seen.values()}) == len(seen)  # distinct words differ


def test_russian_near_copy():
    rng = random.Random(11)
    intro = ("Прочитайте утверждения ниже и определите, следует ли из них вывод. Ответьте "
             "одним словом, да или нет, и ничего не добавляйте к ответу. ")  # fmt: skip
    names = ["Алиса", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Захар", "Ирина"]
    docs = []
    for i in range(200):
        facts = " ".join(f"{rng.choice(names)} старше, чем {rng.choice(names)}, на "
                         f"{rng.randint(2, 90)} лет." for _ in range(8))  # fmt: skip
        docs.append({"id": f"r{i}", "messages": [{"role": "user", "content": intro + facts}]})
    text = docs[30]["messages"][0]["content"].replace("лет.", "года.", 1)
    docs.insert(90, {"id": "copy", "messages": [{"role": "user", "content": text}]})
    removed, near = run_near(docs)
    assert removed == {"copy"}
    assert near.stats()["frequent_passages"] > 0  # the instruction is boilerplate
