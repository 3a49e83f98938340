"""`synth filter IN --out OUT`: the generation filter chain over a corpus synth did not make.

Real files in, real `datasets.load_from_disk` out. The corpus is outside-looking prose
(no template, no stage, no answer) with planted defects, each of which must be removed
for its own reason while every good row is kept, in order, with all its columns.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from synth.cli.filter import filter_cmd

SUBJ = ("the fisherman|a young teacher|the old miller|my neighbour|the captain|a tired nurse|"
        "the village doctor|our guide|the baker|a quiet student|the mayor|an engineer|the shepherd|"
        "a travelling merchant|the librarian|the gardener|a retired pilot|the blacksmith|the weaver|"
        "a curious child").split("|")  # fmt: skip
VERB = ("carried|painted|repaired|sold|described|watched|counted|remembered|borrowed|cleaned|"
        "measured|found|lost|built|opened|studied|collected|planted|copied|discussed").split("|")  # fmt: skip
OBJ = ("a wooden boat|the broken clock|three baskets of apples|an old map of the coast|the letters "
       "from the war|a small blue kettle|the records of the harbour|a pair of leather boots|the long "
       "wooden bench|a jar of honey|the lamp in the window|a box of rusty nails|the heavy iron gate|"
       "a book about the stars|the bread for the school|a red woollen scarf|the plans for the bridge|"
       "a bag of winter seeds|the photographs of the fair|the rope for the bell").split("|")  # fmt: skip
WHEN = ("before dawn|after the storm|on a cold Tuesday|during the festival|late in the evening|in "
        "early spring|while the rain fell|at the end of the market|before the train left|on the way "
        "to the mill|after a long lunch|when the tide turned|in the middle of winter|as the bells "
        "rang|after the school closed").split("|")  # fmt: skip
WHY = ("because nobody else would|for the new museum|to help a friend|as a favour to the priest|for "
       "reasons no one understood|to pay an old debt|because the council asked|for the children of "
       "the valley|to win a small bet|because it was tradition").split("|")  # fmt: skip
RU = ("Город стоял на высоком берегу реки, и по утрам над водой поднимался густой туман. Рыбаки "
      "выходили к лодкам ещё затемно, переговаривались вполголоса и смотрели, как светлеет небо.")  # fmt: skip

GOOD = 300


def prose(rng: random.Random) -> str:
    """A paragraph of ~150-200 words: distinct per call, no template behind it."""
    sents = []
    for _ in range(rng.randint(9, 13)):
        s = f"{rng.choice(SUBJ)} {rng.choice(VERB)} {rng.choice(OBJ)} {rng.choice(WHEN)} {rng.choice(WHY)}"
        sents.append(s[0].upper() + s[1:] + ".")
    return " ".join(sents)


def change_words(text: str, at: tuple[int, ...]) -> str:
    words = text.split(" ")
    for i, w in zip(at, ("purple", "banana", "quietly"), strict=False):
        words[i] = w
    return " ".join(words)


def planted() -> tuple[list[dict], dict[str, str]]:
    """GOOD good rows (ids g0..) with defects placed among them; {defect id: reason}."""
    rng = random.Random(7)
    rows = [
        {"id": f"g{i}", "text": prose(rng), "source": "web", "score": i % 5} for i in range(GOOD)
    ]
    noise_rng = random.Random(1)
    noise = "".join(
        noise_rng.choice(string.ascii_letters + string.digits + "  ") for _ in range(700)
    )
    defects = {
        # (position, row, expected reason)
        "dup": (200, rows[5]["text"].upper().replace(".", "!"), "exact_dup"),
        # near duplicates: one while the (single) group calibrates, one after it
        "near_early": (60, change_words(rows[30]["text"], (10, 60)), "near_dup"),
        "near_late": (GOOD, change_words(rows[250]["text"], (20, 90)), "near_dup"),
        "loop": (
            150,
            rows[7]["text"][:300] + " Let me check this again." * 8 + " " + rows[8]["text"][:300],
            "loop",
        ),
        "noise": (170, noise, "entropy_high"),
        "collapse": (220, "The cat sat on the mat. " * 30, "compression_low"),
        "russian": (240, RU, "language_mismatch"),
    }
    for rid, (pos, text, _) in sorted(defects.items(), key=lambda kv: -kv[1][0]):
        rows.insert(pos, {"id": rid, "text": text, "source": "web", "score": 9})
    return rows, {rid: why for rid, (_, _, why) in defects.items()}


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(filter_cmd, [*map(str, args), "--quiet"])
    if ok:
        assert result.exit_code == 0, result.output
    return result


def rejected(out: Path) -> dict[str, str]:
    """{row id: reason} of the examples in OUT/rejected/."""
    lines = (out / "rejected" / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    return {e["id"]: e["reason"] for e in map(json.loads, lines)}


def report(out: Path) -> dict:
    return json.loads((out / "filter.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> tuple[Path, list[dict], dict[str, str]]:
    rows, expect = planted()
    path = write_jsonl(tmp_path_factory.mktemp("in") / "train.jsonl", rows)
    return path, rows, expect


@pytest.fixture(scope="module")
def filtered(outside, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "clean"
    run(outside[0], "--out", out)
    return out


# --- the defects go, the good rows stay ------------------------------------------------


def test_jsonl_defects_removed_for_their_reason(outside, filtered):
    _, rows, expect = outside
    ds = datasets.load_from_disk(str(filtered))
    good = [r for r in rows if r["id"].startswith("g")]
    assert ds["id"] == [r["id"] for r in good]  # every good row, in input order
    assert ds.column_names == ["id", "text", "source", "score"]  # the input's columns, no more
    assert ds[0] == good[0]
    assert rejected(filtered) == expect
    rep = report(filtered)
    t = rep["totals"]
    assert (t["rows"], t["kept"], t["rejected"]) == (len(rows), GOOD, len(expect))
    assert t["rejected_by_reason"] == {"compression_low": 1, "entropy_high": 1, "exact_dup": 1,
                                       "language_mismatch": 1, "loop": 1, "near_dup": 2}  # fmt: skip
    f = rep["filters"]
    assert f["length"]["seen"] == len(rows)
    assert f["near_dedup"]["rejected"] == {"near_dup": 2}
    assert f["diversity"]["kept"] == GOOD
    assert all(d["seen"] == d["kept"] + sum(d["rejected"].values()) for d in f.values())
    assert rep["language"]["assigned"] == "en"
    assert rep["thresholds"]["compression"]["min"] == 0.15
    assert "balance" in rep["disabled"]  # the outside profile
    assert rep["output"]["files"][0]["rows"] == GOOD


def test_lang_none_and_only_narrow_the_chain(outside, tmp_path):
    path, rows, expect = outside
    run(path, "--out", tmp_path / "a", "--lang", "none")
    assert set(rejected(tmp_path / "a")) == set(expect) - {"russian"}
    run(path, "--out", tmp_path / "b", "--only", "exact_dedup,near_dedup")
    assert rejected(tmp_path / "b") == {
        "dup": "exact_dup",
        "near_early": "near_dup",
        "near_late": "near_dup",
    }
    assert report(tmp_path / "b")["disabled"] == [
        "length", "language", "entropy", "compression", "repetition", "answer", "steps",
        "contamination", "balance", "diversity",
    ]  # fmt: skip


def test_config_overrides_thresholds(outside, tmp_path):
    cfg = tmp_path / "f.yaml"
    cfg.write_text("filters:\n  length: {min: 230}\n  disabled: [near_dedup]\n")
    run(outside[0], "--out", tmp_path / "o", "--config", cfg)
    rep = report(tmp_path / "o")
    assert rep["thresholds"]["length"] == {"min": 230, "max": 32768}
    assert rep["filters"]["length"]["rejected"]["length_short"] > 10
    assert "near_dedup" in rep["disabled"] and "near_dup" not in rep["totals"]["rejected_by_reason"]


def test_eval_probe_in_train_is_removed(outside, tmp_path):
    path, rows, _ = outside
    probes = write_jsonl(tmp_path / "test.jsonl", [{"text": rows[42]["text"]}])
    run(path, "--out", tmp_path / "o", "--eval", probes)
    assert rejected(tmp_path / "o")[rows[42]["id"]] == "contamination_exact"
    assert report(tmp_path / "o")["input"]["probes"] == str(probes)


def test_same_input_same_bytes(outside, filtered, tmp_path):
    again = tmp_path / "again"
    run(outside[0], "--out", again)
    names = sorted(p.relative_to(filtered).as_posix() for p in filtered.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    for name in names:
        if name != "filter.json":
            assert (filtered / name).read_bytes() == (again / name).read_bytes(), name
    a, b = report(filtered), report(again)
    for r in (a, b):
        r.pop("timing")
        r["output"].pop("path")
    assert a == b


# --- other inputs ----------------------------------------------------------------------


def test_parquet_input_keeps_column_types(outside, tmp_path):
    _, rows, expect = outside
    table = pa.table(
        {
            "id": [r["id"] for r in rows],
            "text": [r["text"] for r in rows],
            "score": pa.array([r["score"] for r in rows], pa.int16()),
            "tags": [["a", r["id"]] for r in rows],
        }
    )
    pq.write_table(table, tmp_path / "train.parquet", row_group_size=100)
    run(tmp_path / "train.parquet", "--out", tmp_path / "o")
    ds = datasets.load_from_disk(str(tmp_path / "o"))
    assert ds.features["score"].dtype == "int16"
    assert ds.features["tags"].feature.dtype == "string"
    assert ds["id"] == [r["id"] for r in rows if r["id"].startswith("g")]
    assert ds[3]["tags"] == ["a", "g3"]
    assert rejected(tmp_path / "o") == expect
    # and Parquet out
    run(tmp_path / "train.parquet", "--out", tmp_path / "p", "--format", "parquet")
    back = pq.read_table(tmp_path / "p" / "data-00000.parquet")
    assert back.schema.field("score").type == pa.int16()
    assert back.column("id").to_pylist() == ds["id"]


def test_hf_folder_input_keeps_features(outside, tmp_path):
    _, rows, expect = outside
    features = datasets.Features(
        {
            "id": datasets.Value("string"),
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["low", "high"]),
        }
    )
    data = {"id": [r["id"] for r in rows], "text": [r["text"] for r in rows],
            "label": [r["score"] % 2 for r in rows]}  # fmt: skip
    datasets.Dataset.from_dict(data, features=features).save_to_disk(str(tmp_path / "hf"))
    run(tmp_path / "hf", "--out", tmp_path / "o")
    ds = datasets.load_from_disk(str(tmp_path / "o"))
    assert ds.features == features  # ClassLabel survives
    assert ds["id"] == [r["id"] for r in rows if r["id"].startswith("g")]
    assert rejected(tmp_path / "o") == expect
    # jsonl out, from the same folder
    run(tmp_path / "hf", "--out", tmp_path / "j", "--format", "jsonl")
    lines = (tmp_path / "j" / "data-00000.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"id": "g0", "text": rows[0]["text"], "label": 0}
    assert len(lines) == GOOD


def test_messages_input(outside, tmp_path):
    """Chats without `text` or `id`: rows are judged on their turns and keep their shape;
    examples name the file and line."""
    _, rows, expect = outside
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"Tell me a story, number {i}."},
                {"role": "assistant", "content": r["text"]},
            ]
        }  # fmt: skip
        for i, r in enumerate(rows)
    ]
    chats.append(dict(chats[0]))  # the same chat twice: line len(rows) + 1
    run(write_jsonl(tmp_path / "chats.jsonl", chats), "--out", tmp_path / "o")
    ds = datasets.load_from_disk(str(tmp_path / "o"))
    assert ds.column_names == ["messages"]
    assert len(ds) == GOOD
    assert ds[0]["messages"][1] == {"role": "assistant", "content": rows[0]["text"]}
    got = rejected(tmp_path / "o")
    line = {r["id"]: n for n, r in enumerate(rows, 1)}
    # The prompts differ ("number i"), so a changed copy of a long answer still is a near
    # duplicate, and an exact copy of the answer is one too: its prompt is not.
    want = {f"chats.jsonl:{line[rid]}": why for rid, why in expect.items() if rid != "dup"}
    want[f"chats.jsonl:{len(rows) + 1}"] = "exact_dup"
    assert {k: v for k, v in got.items() if k in want} == want


# --- user mistakes: one line, exit code 2, nothing written -----------------------------


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synth: error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_input(tmp_path):
    r = run(tmp_path / "nope.jsonl", "--out", tmp_path / "o", ok=False)
    _one_line_error(r, "nope.jsonl", "no such file")
    assert not (tmp_path / "o").exists()


def test_unsupported_format(tmp_path):
    (tmp_path / "data.csv").write_text("text\nhello\n")
    r = run(tmp_path / "data.csv", "--out", tmp_path / "o", ok=False)
    _one_line_error(r, "data.csv", "not a corpus file")
    assert not (tmp_path / "o").exists()


def test_no_text_column_names_the_columns(tmp_path):
    path = write_jsonl(tmp_path / "qa.jsonl", [{"question": "Why?", "label": 1}] * 3)
    r = run(path, "--out", tmp_path / "o", ok=False)
    _one_line_error(r, "qa.jsonl", "'text' or 'messages'", "columns: label, question")
    assert not (tmp_path / "o").exists()


def test_malformed_jsonl_line(outside, tmp_path):
    lines = outside[0].read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-5]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run(bad, "--out", tmp_path / "o", ok=False)
    _one_line_error(r, "bad.jsonl:3:")
    assert not (tmp_path / "o").exists()


def test_out_holding_something_else(outside, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    # A folder without synth output is never synth's to clear, whatever the flags say.
    for flags in ((), ("--overwrite",)):
        r = run(outside[0], "--out", out, *flags, ok=False)
        _one_line_error(r, str(out), "not empty", "holds no synth output")
        assert "--overwrite" not in r.output
        assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    (out / "notes.txt").unlink()
    run(outside[0], "--out", out)
    (out / "notes.txt").write_text("mine")  # the user's file beside a synth output
    r = run(outside[0], "--out", out, ok=False)
    _one_line_error(r, "earlier synth filter output", "--overwrite")
    run(outside[0], "--out", out, "--overwrite")
    assert (out / "notes.txt").read_text() == "mine"  # --overwrite replaces only our files
    assert len(datasets.load_from_disk(str(out))) == GOOD


def test_bad_config_yaml(outside, tmp_path):
    cfg = tmp_path / "f.yaml"
    cfg.write_text("filters:\n  length: {min: 5\n  entropy: {}\n")
    r = run(outside[0], "--out", tmp_path / "o", "--config", cfg, ok=False)
    _one_line_error(r, "f.yaml:3")
    cfg.write_text("filters:\n  length: {minimum: 5}\n")
    r = run(outside[0], "--out", tmp_path / "o", "--config", cfg, ok=False)
    _one_line_error(r, "f.yaml", "filters.length", "minimum")
    r = run(outside[0], "--out", tmp_path / "o", "--only", "dedup", ok=False)
    _one_line_error(r, "--only", "'dedup'", "exact_dedup")
    assert not (tmp_path / "o").exists()


def test_error_mid_stream_leaves_out_as_it_was(tmp_path):
    """A row that cannot be read after some batches were written: the staged output goes,
    an earlier output in OUT stays."""
    rng = random.Random(3)
    good = [{"text": prose(rng), "messages": None} for _ in range(1500)]
    out = tmp_path / "o"
    write_jsonl(tmp_path / "ok.jsonl", [{"text": r["text"]} for r in good])
    run(tmp_path / "ok.jsonl", "--out", out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = [{"text": r["text"], "messages": None} for r in good]
    bad[1400]["messages"] = "{not json"  # in the second batch of 1024 rows
    pq.write_table(pa.Table.from_pylist(bad), tmp_path / "bad.parquet")
    r = run(tmp_path / "bad.parquet", "--out", out, "--overwrite", ok=False)
    _one_line_error(r, "bad.parquet", "not JSON")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not (out / ".synth-filter.partial").exists()


def test_registered_on_the_main_cli():
    from synth.cli.main import cli

    result = CliRunner().invoke(cli, ["filter", "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output and "load_from_disk" in result.output


def test_a_synth_corpus_passes_its_own_tier(corpus, tmp_path):
    """The chain is generation's: a corpus generated with the command tier, filtered with
    that tier (and its eval/ probes), loses nothing and counts the same tokens."""
    src, manifest = corpus("command", tokens="200k")
    run(src, "--out", tmp_path / "o", "--tier", "command")
    rep = report(tmp_path / "o")
    assert rep["input"]["probes"] == str(src / "eval")
    # Corpus mode judges text alone: two bare replies of one template whose instruction
    # wording is the same and whose inputs are a word each can read as near copies
    # (generation's per-template skeleton passes them). At most a few in a thousand.
    assert rep["totals"]["rejected"] <= 0.003 * rep["totals"]["rows"]
    assert rep["totals"]["tokens"] == manifest["totals"]["tokens"]  # the same counts
    assert "contamination" not in rep["disabled"]
    ds = datasets.load_from_disk(str(tmp_path / "o"))
    assert (
        len(ds) == rep["totals"]["kept"] == manifest["totals"]["rows"] - rep["totals"]["rejected"]
    )
    assert sum(ds["n_tokens"]) == rep["totals"]["kept_tokens"]
    assert ds.features == datasets.load_from_disk(str(src)).features
