"""`synth qa`: the review of a generated synth corpus and of corpora synth did not make,
read in a real headless browser, and planted defects found in the verdict."""

from __future__ import annotations

import json
import random
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rederive import rederive

from synth.chat import get_format
from synth.errors import UserError
from synth.qa import QAConfig, run_qa, svg
from synth.qa.metrics import FineHist, OrderBins, check_formal, derive, int_hist
from synth.row import SCHEMA, Row
from synth.shards.atomic import sha256_file
from synth.tokenizer import load_tokenizer

TIER = "ontology"  # formal logic with value queries, documents and chat QA, eval probes
BAR_RGB = (0x3B, 0x6E, 0xA8)  # svg.PALETTE[0]


@pytest.fixture(scope="module")
def generated(corpus) -> Path:
    out, _ = corpus(TIER, tokens="200k")
    return out


@pytest.fixture(scope="module")
def clean_review(generated, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("qa-clean")
    return run_qa(QAConfig(path=str(generated), out=str(out))), out


# --- helpers ------------------------------------------------------------------------------


def read_arrow(path: Path) -> list[dict]:
    with pa.OSFile(str(path), "rb") as f:
        return pa.ipc.open_stream(f).read_all().to_pylist()


def write_shard(out: Path, rows: list[dict]) -> None:
    """Replace shard 0 of a copied corpus and make the manifest agree with it, so the
    verdict shows the planted content defects and not a changed shard."""
    m = json.loads((out / "manifest.json").read_text())
    shard = m["shards"][0]
    path = out / shard["file"]
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, SCHEMA) as w:
        w.write_table(table)
    tokens = sum(r["n_tokens"] for r in rows)
    m["totals"]["tokens"] += tokens - shard["tokens"]
    shard.update(rows=len(rows), tokens=tokens, bytes=path.stat().st_size, sha256=sha256_file(path))
    (out / "manifest.json").write_text(json.dumps(m))


def change_words(text: str, rng: random.Random, k: int) -> str:
    """The text with k lowercase words replaced by other words."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.isalpha() and w.islower() and len(w) > 3]
    for i in rng.sample(spots, k):
        words[i] = rng.choice(["crimson", "hollow", "distant", "gentle", "restless", "ancient"])
    return " ".join(words)


def plant(src: Path, dst: Path) -> dict:
    """Copy a corpus and plant a wrong answer, a leaked probe, a collapsed template and a
    near-duplicate cluster in it (new shard bytes, manifest updated to match)."""
    shutil.copytree(src, dst)
    rows = read_arrow(dst / "data-00000.arrow")
    probes = read_arrow(next((dst / "eval").glob("*.arrow")))
    count = load_tokenizer("qwen2.5").count
    rng = random.Random(7)
    wrong = next(i for i, r in enumerate(rows) if r["answer"] in ("true", "false"))
    rows[wrong]["answer"] = "false" if rows[wrong]["answer"] == "true" else "true"
    probe = next(p for p in probes if any(r["template"] == p["template"] for r in rows))
    leak = next(i for i, r in enumerate(rows) if r["template"] == probe["template"] and i != wrong)
    rows[leak].update({k: probe[k] for k in ("text", "messages", "n_tokens", "answer", "formal")})
    collapsed = "ontology.kind_entry"
    for r in rows:
        if r["template"] == collapsed:
            r["text"] = "Krovexes are a kind of creature of their own."
            r["n_tokens"] = count([r["text"]])[0]
    bios = [i for i, r in enumerate(rows) if r["template"] == "ontology.entity_bio"]
    base = max(bios, key=lambda i: len(rows[i]["text"]))
    copies = [i for i in bios if i != base][:30]
    for i in copies:
        rows[i]["text"] = change_words(rows[base]["text"], rng, 2)
        rows[i]["n_tokens"] = count([rows[i]["text"]])[0]
    write_shard(dst, rows)
    return {
        "wrong": rows[wrong]["id"],
        "leak": (rows[leak]["id"], probe["id"]),
        "collapsed": collapsed,
        "cluster": {rows[i]["id"] for i in [base, *copies]},
    }


def find(verdict: list[dict], *words: str) -> list[dict]:
    return [p for p in verdict if all(w in p["title"] for w in words)]


# --- headless browser -------------------------------------------------------------------------


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("needs a headless browser: apt-get install -y chromium")
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"  # a fresh one per run
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args,
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def console_errors(stderr: str) -> list[str]:
    """What the page said on the console (a page without scripts says nothing)."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


def decode_png(data: bytes) -> np.ndarray:
    """RGB pixels of an 8-bit PNG (what Chromium writes), without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    w, h, depth, ctype = ihdr[:4]
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, 1 + w * bpp)
    out = np.zeros((h, w * bpp), dtype=np.int64)
    prev = np.zeros(w * bpp, dtype=np.int64)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: a running sum per channel
            cur = np.cumsum(line.reshape(-1, bpp), axis=0).ravel() % 256
        elif f == 2:  # Up
            cur = (line + prev) % 256
        else:  # Average / Paeth: byte by byte
            cur = np.array(_unfilter(f, line.tolist(), prev.tolist(), bpp))
        out[y] = prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]


def _unfilter(f: int, line: list[int], prev: list[int], bpp: int) -> list[int]:
    cur = [0] * len(line)
    for i, x in enumerate(line):
        a = cur[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 3:
            cur[i] = (x + (a + b) // 2) & 255
        else:
            pa_, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            cur[i] = (x + (a if pa_ <= pb and pa_ <= pc else b if pb <= pc else c)) & 255
    return cur


def pixels_near(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 10) -> int:
    return int((np.abs(img - np.array(rgb)).sum(axis=2) <= tol).sum())


# --- a synth corpus ---------------------------------------------------------------------------


@pytest.mark.slow
def test_review_of_a_clean_corpus_matches_its_manifest(generated, clean_review):
    q, out = clean_review
    m = json.loads((generated / "manifest.json").read_text())
    rows = read_arrow(generated / "data-00000.arrow")
    t = q["totals"]
    assert (t["rows"], t["tokens"], t["shards"]) == (
        m["totals"]["rows"],
        m["totals"]["tokens"],
        len(m["shards"]),
    )
    assert t["templates"] == len({r["template"] for r in rows})
    assert t["languages"] == {"en": len(rows)}
    assert q["tokens"]["n_tokens_column"]["count"] == 0, "n_tokens agrees with qwen2.5 on every row"
    assert q["verify"]["ran"] and q["verify"]["problems"] == []
    assert q["correctness"]["checked"] == sum(r["formal"] is not None for r in rows)
    assert q["correctness"]["mismatches"]["count"] == 0
    probes = read_arrow(next((generated / "eval").glob("*.arrow")))
    assert q["contamination"]["probes"] == len(probes) and q["contamination"]["flagged"] == 0
    assert q["correctness"]["probes"]["checked"] == len(probes)
    cur = q["curriculum"]
    assert [s["name"] for s in cur["stages"]] == [s["name"] for s in m["stages"]]
    assert sum(s["tokens"] for s in cur["stages"]) == t["tokens"]
    assert cur["order"]["concepts_covered"][-1] == cur["concepts"] > 0
    assert cur["check"]["problems"] == []
    assert not [p for p in q["verdict"] if p["severity"] == "critical"], q["verdict"]
    assert not find(q["verdict"], "collapsed") and not find(q["verdict"], "cluster of")
    assert json.loads((out / "qa.json").read_text())["totals"] == t
    assert {len(v) for v in q["samples"].values()} == {5}


def test_formal_answers_rederive_as_the_independent_solver_says(generated):
    rows = read_arrow(generated / "data-00000.arrow")
    rows += read_arrow(next((generated / "eval").glob("*.arrow")))
    checked = 0
    for r in rows:
        f = json.loads(r["formal"])
        got = derive(f)
        if f.get("query") is None and "task" not in f:
            assert (got == []) == rederive(f), r["id"]
        else:
            assert got == rederive(f), r["id"]
            checked += 1
    assert checked > 100


def _row(**kw) -> Row:
    base = dict(id="t/1", text="x", messages=None, n_tokens=1, tier="t", kind="k", template="t", lang="en",
                stage=0, concepts=[], difficulty=1, answer=None, formal=None, seed=0)  # fmt: skip
    return Row(**{**base, **kw})


def test_check_formal_catches_what_does_not_follow():
    instr = json.dumps({"task": "upper", "input": {"text": "abc"}, "expected": "ABC"})
    assert check_formal(_row(formal=instr, answer="ABC")) is None
    assert "expects 'ABC'" in check_formal(_row(formal=instr, answer="ABd"))
    facts = [["rex", "is_a", "dog"]]
    rules = [{"id": "r1", "if": [["?x", "is_a", "dog"]], "then": ["?x", "is", "loud"]}]
    q = {
        "facts": facts,
        "rules": rules,
        "query": ["rex", "is", "loud"],
        "assumption": "closed",
        "answer": "true",
    }
    assert check_formal(_row(formal=json.dumps(q), answer="true")) is None
    assert "re-derived 'true'" in check_formal(_row(formal=json.dumps(q), answer="false"))
    opened = {**q, "query": ["rex", "is", "quiet"], "assumption": "open", "answer": "unknown"}
    assert check_formal(_row(formal=json.dumps(opened), answer="unknown")) is None
    value = {**q, "query": ["rex", "is", "?v"], "answer": "loud"}
    assert check_formal(_row(formal=json.dumps(value), answer="loud")) is None
    two = {**value, "facts": [*facts, ["rex", "is", "big"]]}
    assert "2 answers" in check_formal(_row(formal=json.dumps(two), answer="loud"))
    contra = {**q, "facts": [*facts, ["rex", "not:is", "loud"]]}
    assert "both" in check_formal(_row(formal=json.dumps(contra), answer="true"))
    doc = {
        "facts": facts,
        "rules": rules,
        "query": None,
        "states": [["rex", "is", "loud"], ["rex", "is", "blue"]],
    }
    assert "rex" in check_formal(_row(formal=json.dumps(doc)))
    assert "not valid JSON" in check_formal(_row(formal="{oops", answer="x"))
    # the derivation steps re-derive too: each by its rule from what is known before it
    step = {"rule": "r1", "uses": [["rex", "is_a", "dog"]], "derives": ["rex", "is", "loud"]}
    assert check_formal(_row(formal=json.dumps({**q, "proof": [step]}), answer="true")) is None
    for bad in (
        {**step, "rule": "r9"},
        {**step, "uses": [["rex", "is_a", "cat"]]},
        {**step, "derives": ["rex", "is", "quiet"]},
    ):
        why = check_formal(_row(formal=json.dumps({**q, "proof": [bad]}), answer="true"))
        assert "proof step 1 does not follow" in why, bad
    flawed = {**q, "proof": [step], "steps": [{**step, "rule": "r9"}], "first_invalid": 1}
    assert check_formal(_row(formal=json.dumps(flawed), answer="true")) is None
    assert "formal says 2" in check_formal(
        _row(formal=json.dumps({**flawed, "first_invalid": 2}), answer="true")
    )
    supposed = {
        **q,
        "proof": [step],
        "supposed": "r1",
        "replaces": None,
        "original_answer": "false",
    }
    assert check_formal(_row(formal=json.dumps(supposed), answer="true")) is None
    assert "original answer 'true'" in check_formal(
        _row(formal=json.dumps({**supposed, "original_answer": "true"}), answer="true")
    )


@pytest.mark.slow
def test_planted_defects_are_in_the_verdict(generated, tmp_path):
    planted = plant(generated, tmp_path / "planted")
    q = run_qa(QAConfig(path=str(tmp_path / "planted"), out=str(tmp_path / "report")))
    v = q["verdict"]
    assert q["verify"]["problems"] == [], "the manifest matches the planted shard"

    wrong = find(v, "does not re-derive from")
    assert (
        len(wrong) == 1
        and wrong[0]["severity"] == "critical"
        and planted["wrong"] in wrong[0]["ids"]
    )
    assert wrong[0]["title"].startswith("1 row")
    assert planted["wrong"] in {e["id"] for e in q["correctness"]["unstated"]["examples"]}

    leak = find(v, "eval probe leaked into train")
    train_id, probe_id = planted["leak"]
    assert leak and leak[0]["severity"] == "critical" and train_id in leak[0]["ids"]
    assert probe_id in leak[0]["evidence"]

    collapsed = find(v, f"template {planted['collapsed']} collapsed")
    assert collapsed and collapsed[0]["severity"] == "major"
    assert len(find(v, "collapsed")) == 1, "only the planted template collapsed"

    clusters = [
        p for p in find(v, "near-duplicate cluster of") if set(p["ids"]) & planted["cluster"]
    ]
    assert clusters and clusters[0]["severity"] == "major"
    size = int(clusters[0]["title"].split("cluster of ")[1].split()[0])
    assert 28 <= size <= len(planted["cluster"])
    biggest = q["diversity"]["near_duplicates"]["largest"][0]
    assert set(biggest["ids"]) <= planted["cluster"]

    ranks = [{"critical": 0, "major": 1, "minor": 2}[p["severity"]] for p in v]
    assert ranks == sorted(ranks), "worst first"
    html = (tmp_path / "report" / "index.html").read_text()
    assert html.index("eval probe leaked") < html.index('id="totals"'), "the verdict is at the top"


@pytest.mark.slow
@pytest.mark.slow
def test_a_command_corpus_has_no_false_leak_and_a_reworded_one_is_found(corpus, tmp_path):
    """Rows that share a probe's instruction but not its input are other items (the
    quick-start corpus had 5 `command.cipher` rows flagged critical for that); a train row
    that asks a probe's task on the probe's input, in other words, is a leak."""
    out, _ = corpus("command")
    q = run_qa(QAConfig(path=str(out), out=str(tmp_path / "clean")))
    assert not [p for p in q["verdict"] if p["severity"] == "critical"], q["verdict"]
    assert q["correctness"]["steps"]["checked"] > 100
    assert q["correctness"]["steps"]["miswritten"]["count"] == 0

    dst = tmp_path / "planted"
    shutil.copytree(out, dst)
    rows = read_arrow(dst / "data-00000.arrow")
    probes = read_arrow(next((dst / "eval").glob("*.arrow")))
    probe = next(p for p in probes if p["template"] == "command.cipher")
    i = next(i for i, r in enumerate(rows) if r["template"] == probe["template"])
    messages = [dict(m) for m in probe["messages"]]
    for m in messages:
        if m["role"] == "user":  # the same question, reworded: no text check can match it
            m["content"] = change_words(m["content"], random.Random(3), 2) + " Thanks!"
    text = get_format("qwen2.5")(messages)
    n = load_tokenizer("qwen2.5").count([text])[0]
    rows[i].update(text=text, messages=messages, n_tokens=n, formal=probe["formal"])
    rows[i].update(answer=probe["answer"])
    write_shard(dst, rows)
    q = run_qa(QAConfig(path=str(dst), out=str(tmp_path / "report")))
    leak = find(q["verdict"], "eval probe leaked into train", "same formal task and input")
    assert leak and leak[0]["severity"] == "critical" and rows[i]["id"] in leak[0]["ids"]
    assert probe["id"] in leak[0]["evidence"]


def test_a_changed_shard_byte_is_a_critical_problem(generated, tmp_path):
    out = tmp_path / "flipped"
    shutil.copytree(generated, out)
    shard = out / "data-00000.arrow"
    data = bytearray(shard.read_bytes())
    at = data.index(b" is a ") + 1
    data[at] ^= 0x20  # "is" -> "Is": still valid UTF-8 and Arrow, different bytes
    shard.write_bytes(bytes(data))
    p = subprocess.run(
        [sys.executable, "-m", "synth", "qa", str(out), "--out", str(tmp_path / "r"), "-q"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 1, p.stderr
    assert "critical shard bytes changed" in " ".join(p.stdout.split())
    q = json.loads((tmp_path / "r" / "qa.json").read_text())
    top = q["verdict"][0]
    assert top["title"] == "shard bytes changed since generation"
    assert "data-00000.arrow" in top["evidence"] and "sha256" in top["evidence"]


@pytest.mark.slow
def test_report_loads_in_a_browser_and_shows_its_plots(clean_review, tmp_path):
    q, out = clean_review
    page = (out / "index.html").resolve().as_uri()
    html = (out / "index.html").read_text()
    assert "<script" not in html and "src=" not in html and "<link" not in html, "self-contained"

    dom = chromium(tmp_path, "--dump-dom", page)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_errors(dom.stderr) == []
    root = dom.stdout
    assert root.count("<svg") >= 10
    assert root.count('class="chart histogram"') >= 3 and 'class="band"' in root
    assert root.count('class="series"') >= 2, "curriculum line plots"
    assert "Verdict" in root and 'class="turn user"' in root and 'class="turn assistant"' in root

    shot = tmp_path / "page.png"
    run = chromium(tmp_path, "--window-size=1100,2600", f"--screenshot={shot}", page)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    img = decode_png(shot.read_bytes())
    assert img.shape[:2] == (2600, 1100)
    assert (img < 240).any(axis=2).mean() > 0.05, "the page is not blank"
    assert pixels_near(img, BAR_RGB) > 2000, "histogram bars are drawn"
    band = tuple(round(0.45 * c + 0.55 * 255) for c in (0xE8, 0xA0, 0xA0))  # REJECT_FILL at 45%
    assert pixels_near(img, band, tol=12) > 500, "filter bands are shaded"

    # The checks can fail: a page with a script error is caught.
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><p>x</p><script>no_such_function();</script>")
    assert console_errors(chromium(tmp_path, "--dump-dom", bad.as_uri()).stderr)


# --- corpora synth did not make ------------------------------------------------------------

SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "sa", "vor", "el", "din", "quo", "pra", "zel"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def paragraph(rng: random.Random, n: int = 70) -> str:
    words = [word(rng) for _ in range(n)]
    return " ".join(w if i % 9 else w.capitalize() for i, w in enumerate(words)) + "."


def foreign_rows(n: int = 3000, seed: int = 1) -> list[dict]:
    """Chat samples from a small generator of our own: sums, reversals and stories."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        kind = ("sum", "reverse", "story")[i % 3]
        if kind == "sum":
            a, b = rng.randint(100, 99999), rng.randint(100, 99999)
            user, bot = f"What is {a} plus {b}?", f"{a} + {b} = {a + b}."
        elif kind == "reverse":
            w = word(rng) + word(rng)
            user, bot = f"Reverse the word {w}.", f"Reversed, {w} reads {w[::-1]}."
        else:
            user, bot = f"Tell me a story about {word(rng)}.", paragraph(rng)
        rows.append(
            {
                "task": kind,
                "messages": [
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": bot},
                ],
            }
        )
    return rows


def plant_foreign(rows: list[dict], probes: list[dict]) -> dict:
    rng = random.Random(3)
    story = paragraph(rng, 90)
    for _ in range(25):  # a near-duplicate cluster
        rows.append({"task": "story", "messages": [
            {"role": "user", "content": "Tell me a story."},
            {"role": "assistant", "content": change_words(story, rng, 1)},
        ]})  # fmt: skip
    rows.append({"task": "markup", "messages": [
        {"role": "user", "content": "<script>alert('owned')</script> Is this <b>bold</b>?"},
        {"role": "assistant", "content": "It is <b>markup</b> & it must show as text."},
    ]})  # fmt: skip
    rows.append(dict(probes[5]))  # an eval probe leaked into train
    return {"leak_line": len(rows)}


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("foreign")
    rows = foreign_rows()
    probes = [{"task": "sum", "messages": [{"role": "user", "content": f"What is {a} plus {a * 3}?"},
                                           {"role": "assistant", "content": f"{a} + {a * 3} = {a * 4}."}]}
              for a in range(10, 60)]  # fmt: skip
    planted = plant_foreign(rows, probes)
    train = d / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "eval.jsonl").write_text("".join(json.dumps(p) + "\n" for p in probes))
    render = get_format("qwen2.5")
    tokens = sum(load_tokenizer("qwen2.5").count([render(r["messages"]) for r in rows]))
    return {"dir": d, "train": train, "rows": rows, "tokens": tokens, **planted}


@pytest.mark.slow
def test_jsonl_corpus_with_eval_probes(foreign, tmp_path):
    q = run_qa(
        QAConfig(
            path=str(foreign["train"]),
            out=str(tmp_path / "r"),
            eval=str(foreign["dir"] / "eval.jsonl"),
        )
    )
    t = q["totals"]
    assert (t["rows"], t["tokens"], t["shards"]) == (len(foreign["rows"]), foreign["tokens"], 1)
    assert set(t["per_template"]) == {"sum", "reverse", "story", "markup"}
    assert t["languages_guessed"] and t["languages"]["latin script"] >= len(foreign["rows"]) - 5
    assert q["verify"] == {"ran": False, "problems": []} and q["curriculum"] is None
    assert q["correctness"]["checked"] == 0

    v = q["verdict"]
    leak = find(v, "eval probe leaked")
    assert leak and f"train.jsonl:{foreign['leak_line']}" in leak[0]["ids"]
    cluster = find(v, "near-duplicate cluster of")
    assert cluster and 24 <= int(cluster[0]["title"].split("cluster of ")[1].split()[0]) <= 26
    assert {s["id"] for s in q["samples"]["markup"]}, "every template is in the sample browser"

    html = (tmp_path / "r" / "index.html").read_text()
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in html and "<b>markup</b>" not in html


@pytest.mark.slow
def test_parquet_hf_and_folder_inputs(foreign, tmp_path):
    docs = [
        {"text": "\n".join(m["content"] for m in r["messages"]), "task": r["task"]}
        for r in foreign["rows"]
    ]
    count = load_tokenizer("qwen2.5").count
    tokens = sum(count([d["text"] for d in docs]))
    folder = tmp_path / "data"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(docs), folder / "part-0.parquet")
    q = run_qa(QAConfig(path=str(folder / "part-0.parquet"), out=str(tmp_path / "r1")))
    assert (q["totals"]["rows"], q["totals"]["tokens"]) == (len(docs), tokens)
    assert find(q["verdict"], "near-duplicate cluster of")

    shutil.copy(foreign["train"], folder / "part-1.jsonl")
    q = run_qa(QAConfig(path=str(folder), out=str(tmp_path / "r2")))
    assert q["totals"]["rows"] == 2 * len(docs) and q["totals"]["shards"] == 2
    assert q["totals"]["tokens"] == tokens + foreign["tokens"]

    import datasets

    datasets.Dataset.from_list(docs[:500]).save_to_disk(str(tmp_path / "hf"))
    q = run_qa(QAConfig(path=str(tmp_path / "hf"), out=str(tmp_path / "r3")))
    assert q["corpus"]["kind"] == "hf-dataset"
    assert (q["totals"]["rows"], q["totals"]["tokens"]) == (
        500,
        sum(count([d["text"] for d in docs[:500]])),
    )


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_one_clear_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "synth", "qa", str(tmp_path / "nope"), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == [
        f"synth: error: {tmp_path / 'nope'}: no such file or folder"
    ]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": broken\n')
    with pytest.raises(UserError, match=r"bad\.jsonl:2"):
        run_qa(QAConfig(path=str(bad), out=str(tmp_path / "r")))
    cols = tmp_path / "cols.jsonl"
    cols.write_text('{"body": "no text column"}\n')
    with pytest.raises(UserError, match="'text' or 'messages'.*body"):
        run_qa(QAConfig(path=str(cols), out=str(tmp_path / "r")))


# --- building blocks ---------------------------------------------------------------------------


def test_svg_charts_are_well_formed_and_escaped():
    h = svg.histogram([0, 1, 2, 3], [5, 0, 7], title="a <b> & c", xlabel="x",
                      bands=[svg.Band(None, 0.5, "min"), svg.Band(2.5, None, "max")])  # fmt: skip
    root = ET.fromstring(h)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "a <b> & c"
    assert len([r for r in root.iter(f"{ns}rect") if r.get("class") == "bar"]) == 2
    assert len([r for r in root.iter(f"{ns}rect") if r.get("class") == "band"]) == 2
    far = ET.fromstring(
        svg.histogram([4, 5], [3], title="t", xlabel="x", bands=[svg.Band(None, 1.0, "min 1")])
    )
    assert [t.text for t in far.iter(f"{ns}text") if t.get("class") == "band-note"] == ["← min 1"]
    line = ET.fromstring(svg.line_plot([svg.Series("s", [0, 1, 2], [1, None, 3])], title="t", xlabel="x",
                                       markers=[(1, "stage 1")]))  # fmt: skip
    assert len(list(line.iter(f"{ns}polyline"))) == 1
    bars = ET.fromstring(
        svg.bar_chart(["a", "b"], [1, 2], title="t", xlabel="x", flagged=[False, True])
    )
    fills = [r.get("fill") for r in bars.iter(f"{ns}rect") if r.get("class") == "bar"]
    assert fills == [svg.PALETTE[0], svg.FLAG_FILL]
    assert ET.fromstring(svg.histogram([], [], title="t", xlabel="x")).get("class") == "chart empty"


def test_streaming_summaries_keep_exact_counts():
    bins = OrderBins(bins=10)
    for pos in range(1000):
        bins.add(pos, tokens=2, difficulty=pos % 3, new_concepts=int(pos % 100 == 0))
    j = bins.to_json()
    assert len(j["rows"]) <= 20 and sum(j["rows"]) == 1000
    assert j["tokens_end"][-1] == 2000 and j["concepts_covered"][-1] == 10
    h = FineHist(0.0, 8.0, 0.01)
    h.add([1.0, 2.0, 2.0, 7.5])
    hj = h.to_json(max_bins=10)
    assert sum(hj["counts"]) == 4 and hj["min"] == 1.0 and hj["max"] == 7.5
    from collections import Counter

    ih = int_hist(Counter({10: 500, 11: 300, 5000: 1}))  # a tail under 1%: not drawn, counted
    assert ih["max"] == 5000 and ih["overflow"] == 1 and sum(ih["counts"]) == 800
    assert ih["edges"][-1] < 100 and ih["p50"] == 10
