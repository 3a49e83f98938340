"""Sentence frames, list markers and repeated sentences in `synth qa`: hand-made corpora
whose right numbers are known, Russian declension, the bounded sample against a brute
force, and a real ontology corpus end to end."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from synth.filters.near_dedup import splitmix64
from synth.qa import QAConfig, run_qa
from synth.qa.frames import (
    SHOW,
    FrameMeter,
    Masker,
    W,
    few_frames,
    formal_terms,
    read_doc,
    read_row,
    split_sentences,
)
from synth.row import Row
from synth.russian import morph
from synth.russian.names import surface_ru

TIER = "ontology"

FIRST = ["Bien", "Tura", "Galis", "Nimia", "Puren", "Linel", "Shuen", "Glelia", "Kreen", "Sasen"]
LAST = ["Bangunust", "Drinick", "Skisick", "Kranust", "Daovar", "Vuow", "Lirell", "Stelenko"]
KINDS = ["sebel", "drodor", "kranmus", "levex", "brorax", "dellop", "wumpus", "peldor"]
PROPS = ["bright", "fierce", "hollow", "opaque", "shy", "venomous", "cold", "tiny"]
PLACES = ["Glimora", "Furaro", "Kastholm", "Brevale"]
# Ten ways of saying things; the slots are world words (and a number).
FRAMES = [
    "{p} is {a}.",
    "As a {k}, {p} is {a}.",
    "{p} lives in {pl} and works as a miller.",
    "It is known that {p} belongs to the {ks}.",
    "{p}'s home is {pl}, {n} miles from the sea.",
    "Every {k} is {a}, and {p} is one of them.",
    "Among the {ks} of {pl}, {p} is the most {a}.",
    "Who would say that {p} is not {a}?",
    "{p} and the other {ks} keep {n} goats.",
    "In {pl}, {p} was counted among the {ks} in year {n}.",
]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _world_row(rng: random.Random, i: int, formal: bool = True) -> dict:
    """A row of ten sentences, one per frame, each with fresh world words."""
    sentences, facts = [], []
    for f in FRAMES:
        p, k, a, pl = _person(rng), rng.choice(KINDS), rng.choice(PROPS), rng.choice(PLACES)
        n = rng.randint(2, 2000)
        sentences.append(
            f.format(p=p, k=k, ks=k + ("es" if k.endswith("s") else "s"), a=a, pl=pl, n=n)
        )
        facts += [[p, "is_a", k], [p, "is", a], [p, "lives_in", pl]]
    row = {"id": f"r{i}", "text": " ".join(sentences), "template": f"t{i % 3}"}
    if formal:
        row["formal"] = {"facts": facts, "rules": [], "query": None, "answer": None}
    return row


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _qa(tmp_path: Path, rows: list[dict], name: str = "data.jsonl") -> dict:
    src = _write_jsonl(tmp_path / name, rows)
    return run_qa(QAConfig(path=str(src), out=str(tmp_path / f"report-{name}")))


# --- frames ---------------------------------------------------------------------------


def test_a_thousand_sentences_in_ten_frames_count_as_ten(tmp_path):
    rng = random.Random(3)
    q = _qa(tmp_path, [_world_row(rng, i) for i in range(100)])
    o = q["frames"]["overall"]
    assert o["sentences"] == 1000 and o["sampled"] == 1000
    assert o["distinct"] == 10
    assert o["top_100_share"] == 1.0
    assert sorted(f["count"] for f in o["top"]) == [100] * 10
    shown = {f["frame"] for f in o["top"]}
    assert "As a <>, <> is <>." in shown
    assert "<>'s home is <>, <#> miles from the sea." in shown  # possessive, number
    assert "It is known that <> belongs to the <>." in shown  # plural kind
    assert "<> lives in <> and works as a miller." in shown  # "miller": not in formal
    per = q["frames"]["templates"]
    assert set(per) == {"t0", "t1", "t2"} and all(t["distinct"] == 10 for t in per.values())
    assert q["frames"]["method"]["masking"] == {"formal": 100}


def test_without_formal_capitalised_names_and_numbers_are_masked(tmp_path):
    rng = random.Random(4)
    rows = []
    for _ in range(60):
        p, q, pl, n = _person(rng), _person(rng), rng.choice(PLACES), rng.randint(1, 99)
        text = (
            f"{p} met {q} in {pl}. They walked {n} miles together. "
            f"Later {q} wrote {n}.5 pages about {p}."
        )
        rows.append({"text": text})
    q = _qa(tmp_path, rows)
    o = q["frames"]["overall"]
    assert q["frames"]["method"]["masking"] == {"capitalised": 60}
    assert o["sentences"] == 180  # "12.5" is a number, not a sentence end
    assert {f["frame"] for f in o["top"]} == {
        "<> met <> in <>.",  # a name at sentence start, seen mid-sentence in the row
        "They walked <#> miles together.",  # "They" is kept: capitalised only at the start
        "Later <> wrote <#> pages about <>.",
    }
    assert o["distinct"] == 3


def test_frames_are_the_same_whatever_the_group_order_and_batching():
    rng = random.Random(5)
    rows = [_row(_world_row(rng, i)) for i in range(90)]
    a, b = FrameMeter(), FrameMeter()
    a.add(rows)
    for start in range(0, 90, 7):
        b.add(rows[start : start + 7])
    assert a.to_json() == b.to_json()


def _row(d: dict) -> Row:
    return Row(
        id=d.get("id", "x"), text=d["text"], messages=d.get("messages"), n_tokens=0, tier="",
        kind="", template=d.get("template", "t"), lang=d.get("lang", ""), stage=-1, concepts=[],
        difficulty=-1, answer=None,
        formal=json.dumps(d["formal"]) if d.get("formal") is not None else None, seed=0,
    )  # fmt: skip


def test_russian_declined_names_mask_like_their_nominative():
    person, kind, place = "Bien Bangunust", "sebel", "Glimora"
    facts = [[person, "is_a", kind], [person, "lives_in", place], [person, "is", "bright"],
             [person, "colour", "teal"]]  # fmt: skip
    p_ru, k_ru, pl_ru = surface_ru(person), surface_ru(kind), surface_ru(place)
    assert (p_ru, k_ru, pl_ru) == ("Биен Бангунустин", "себел", "Глимора")
    sentences = []
    for case in morph.CASES:
        for number in ("sing", "plur"):
            kind_form = morph.nonce(k_ru, case, number)
            bright = morph.adjective("яркий", "masc", number, case)
            teal = morph.adjective("бирюзовый", "femn", number, case)
            sentences.append(
                f"Говорят, что {morph.person(p_ru, case)} и {kind_form} из "
                f"{morph.nonce(pl_ru, case, anim=False)} — это {bright} и {teal} вид."
            )
    sentences.append(f"{p_ru} ярок, а {morph.person(p_ru, 'gent')} знают все.")  # short form
    row = _row({"text": " ".join(sentences), "lang": "ru", "formal": {"facts": facts}})
    frames = Masker().frames([(row, {"facts": facts}, read_row(row)[0])])[0]
    shown = [f.replace(W, SHOW[W]) for f in frames]
    assert len(set(shown[:-1])) == 1, set(shown[:-1])
    assert shown[0] == "Говорят, что <> и <> из <> — это <> и <> вид."
    assert shown[-1] == "<> <>, а <> знают все."


def test_russian_short_stems_match_names_only():
    facts = [["Kira Tam", "is_a", "sebel"]]  # "Кира": stem "кир" of 3 letters
    row = _row({
        "text": "О Кире Тамове и между ними. Киру знают. Кирпич лежит.", "lang": "ru",
        "formal": {"facts": facts},
    })  # fmt: skip
    assert surface_ru("Kira Tam").startswith("Кира")
    frames = Masker().frames([(row, {"facts": facts}, read_row(row)[0])])[0]
    assert [f.replace(W, "<>") for f in frames] == [
        "О <> и между ними.", "<> знают.", "Кирпич лежит.",
    ]  # fmt: skip


def test_formal_terms_are_subjects_objects_and_value_answers():
    f = {
        "facts": [["Bien Bangunust", "lives_in", "Glimora"]],
        "states": [["Bien Bangunust", "is", "bright"]],
        "rules": [{"id": "r1", "if": [["?x", "is_a", "sebel"]], "then": ["?x", "is", "tiny"]}],
        "query": ["Bien Bangunust", "colour", "?v"],
        "answer": "teal",
    }
    assert formal_terms(f) == {"Bien Bangunust", "Glimora", "bright", "sebel", "tiny", "teal"}
    assert formal_terms({**f, "answer": "true"}) == formal_terms(f) - {"teal"}
    assert formal_terms({"task": "x", "input": {}, "expected": "y"}) == set()
    # malformed atoms do not raise
    assert formal_terms({"facts": [["a", "b"], "x", ["c", "r", "d"]]}) == {"c", "d"}


def test_world_words_a_row_states_without_formal_are_masked_and_reported():
    m = Masker()
    rng = random.Random(1)
    first = _row(_world_row(rng, 0))
    leaky = _row({"text": "Bien Bangunust is a skervex from Furaro.", "formal": {
        "facts": [["Bien Bangunust", "lives_in", "Furaro"]]}})  # fmt: skip
    teach = _row({"text": "A skervex is tiny.", "formal": {
        "rules": [{"id": "k", "if": [["?x", "is_a", "skervex"]], "then": ["?x", "is", "tiny"]}]}})  # fmt: skip
    items = [(r, json.loads(r.formal), read_row(r)[0]) for r in (first, teach, leaky)]
    frames = m.frames(items)
    assert frames[2] == [f"{W} is a {W} from {W}."]  # "skervex" known from the earlier row
    assert m.leaks(items[2][1], items[2][2], "") == ["skervex"]
    assert m.leaks(items[1][1], items[1][2], "") == []


def test_sentences_split_on_ends_not_on_abbreviations_or_numbers():
    text = (
        "Dr. Who met Mr. Smith, i.e. a friend. It weighs 3.5 kg. J. R. Tolkien wrote it!\n"
        "A line that wraps\nonto the next. Is it so? Yes.\n\n"
        "| Name | Colour |\n|---|---|\n| Bien | teal |\n\n"
        "```\nx = 1. Not a sentence.\n```\n"
        "Это т. е. пример. Им. Пушкина улица. В 2020 г. Москва росла. Он сказал: «Иди.» Ушёл."
    )
    assert split_sentences(text) == [
        "Dr. Who met Mr. Smith, i.e. a friend.", "It weighs 3.5 kg.", "J. R. Tolkien wrote it!",
        "A line that wraps onto the next.", "Is it so?", "Yes.",
        "| Name | Colour |", "| Bien | teal |",
        "Это т. е. пример.", "Им. Пушкина улица.", "В 2020 г. Москва росла.",
        "Он сказал: «Иди.»", "Ушёл.",
    ]  # fmt: skip


def test_chat_rows_use_message_contents_not_the_template_or_the_system_turn():
    msgs = [
        {"role": "system", "content": "You answer questions. Be brief."},
        {"role": "user", "content": "Who is Bien? Tell me."},
        {"role": "assistant", "content": "Bien is a sebel. Bien is a sebel."},
    ]
    row = _row({"text": "<|im_start|>system\n...<|im_end|>", "messages": msgs})
    sentences, problem, repeated = read_row(row)
    assert sentences == ["Who is Bien?", "Tell me.", "Bien is a sebel.", "Bien is a sebel."]
    assert problem is None and repeated == ["Bien is a sebel."]


# --- bounded memory -------------------------------------------------------------------


def test_the_sample_is_the_bottom_k_of_all_sentences_per_group_and_overall():
    """A small k against a brute force over every sentence's priority."""
    rng = random.Random(9)
    rows = [_row(_world_row(rng, i)) for i in range(300)]
    k = 700
    meter = FrameMeter(k=k)
    for start in range(0, len(rows), 64):
        meter.add(rows[start : start + 64])
    out = meter.to_json()
    # brute force: every sentence with its group, priority and frame
    frames = Masker().frames([(r, json.loads(r.formal), read_row(r)[0]) for r in rows])
    groups = [r.template for r, fs in zip(rows, frames) for _ in fs]
    flat = [f for fs in frames for f in fs]
    pos = np.arange(len(flat), dtype=np.uint64)
    prio = (splitmix64(pos ^ np.uint64(0xF4A3E5)) >> np.uint64(32)).astype(np.int64)
    order = np.lexsort((np.arange(len(flat)), prio))
    assert out["overall"]["sentences"] == len(flat) == 3000
    assert out["overall"]["sampled"] == k
    assert out["overall"]["distinct"] == len({flat[i] for i in order[:k]}) == 10
    for g in ("t0", "t1", "t2"):
        mine = [i for i in order if groups[i] == g][:k]
        t = out["templates"][g]
        assert t["sampled"] == k and t["sentences"] == 1000
        top = np.unique([flat[i] for i in mine], return_counts=True)[1]
        assert t["top_10_share"] == round(top.sum() / k, 4) == 1.0
        assert t["distinct_per_100k"] is None  # fewer than 100k sentences: not claimed
    assert all(len(s.prio) <= k for s in meter.groups.values())


# --- lists and repeats ----------------------------------------------------------------

CLEAN = "Facts:\n1. Bien is bright.\n2. Bien is tiny.\n3. Bien is shy.\n\nAnd more:\n- one\n- two"


@pytest.mark.parametrize(
    "doc, why",
    [
        (CLEAN, None),
        ("Intro line\n- a\n- b\n  * nested, another marker is fine\n- c\nTrailing line", None),
        ("1. first\n   continued on an indented line\n2. second", None),
        ("1. one\n2. two\n\nText between.\n\n1. a new list\n2. again", None),
        ("1. one\n2. two\n- three\n4. four", 'mixes "1.", "-" in one list'),
        ("1. one\n2. two\n4. four", "numbering skips: 1, 2, 4"),
        ("1. one\n2. two\n2. two again", "numbering repeats: 1, 2, 2"),
        (
            "* One.\nTwo without a marker.\n* Three.",
            'mixes "*", lines without a marker in one list',
        ),
        ("* one\ngoes on here (a lazy continuation)\n* three", None),
        ("- a\n- b\n\nThen:\n\n* c\n* d", 'mixes "*", "-" across lists'),
        ("1. a\n2. b\n\n1) c\n2) d", 'mixes "1)", "1." across lists'),
        ("1. a\n2. b\n\nand then\n\n5. e", "a numbered list starts at 5 after one that ended at 2"),
        ("- a\n- b\n```yaml\n* not a list: code\n- x\n```\n- c", None),
    ],
)
def test_list_markers(doc, why):
    assert read_doc(doc).list_problem() == why


def test_repeated_sentences_in_one_document():
    assert read_doc("Bien is a sebel. Bien is tiny. Bien  is a\nsebel.").repeated() == [
        "Bien is a sebel."
    ]
    assert read_doc("Answer: yes. Answer: yes.").repeated() == []  # two words: not judged
    assert read_doc("Bien is a sebel. Tura is a sebel.").repeated() == []


def test_lists_and_repeats_are_counted_per_template_and_flagged(tmp_path):
    rows = []
    for i in range(100):
        mixed = i % 2 == 0
        text = "1. Bien is bright.\n- Bien is tiny.\n3. Bien is shy." if mixed else CLEAN
        rows.append({"id": f"a{i}", "text": text, "template": "lists"})
        again = "Tura lives in Glimora." if i % 4 == 0 else "Tura is calm."
        text = f"Tura lives in Glimora. Tura works as a miller. {again}"
        rows.append({"id": f"b{i}", "text": text, "template": "bios"})
    q = _qa(tmp_path, rows)
    fm = q["formatting"]
    assert fm["mixed_lists"]["by_template"] == {"lists": 50}
    assert fm["repeated_sentences"]["by_template"] == {"bios": 25}
    assert fm["templates"]["lists"]["rows"] == 100
    ex = fm["repeated_sentences"]["examples"][0]
    assert ex["id"] == "b0" and ex["excerpt"] == "Tura lives in Glimora."
    titles = [p["title"] for p in q["verdict"]]
    assert (
        "template lists: 50 of 100 rows (50%) mix list markers or break their numbering" in titles
    )
    assert "template bios: 25 of 100 rows (25%) state the same sentence twice" in titles
    html = (tmp_path / "report-data.jsonl" / "index.html").read_text()
    assert 'id="formatting"' in html and "Tura lives in Glimora." in html


# --- a real corpus --------------------------------------------------------------------


@pytest.fixture(scope="module")
def review(corpus, tmp_path_factory) -> tuple[dict, Path, Path]:
    out, _ = corpus(TIER, tokens="200k")
    rep = tmp_path_factory.mktemp("qa-frames")
    return run_qa(QAConfig(path=str(out), out=str(rep))), rep, out


def test_an_ontology_corpus_has_its_frames_in_qa_json_and_the_report(review):
    q, rep, out = review
    fr = q["frames"]
    o = fr["overall"]
    assert o["sentences"] > 5_000 and 0 < o["distinct"] <= o["sampled"] == min(
        o["sentences"], 100_000
    )
    assert 0 < o["top_100_share"] <= 1 and o["top"][0]["frame"]
    assert fr["method"]["masking"]["formal"] == q["totals"]["rows"]
    assert set(fr["templates"]) == set(q["totals"]["per_template"])
    assert sum(t["sentences"] for t in fr["templates"].values()) == o["sentences"]
    # No world word survives in a frame shown: every term any row's formal names is masked.
    import pyarrow as pa

    terms: set[str] = set()
    for path in sorted(out.glob("data-*.arrow")):
        with pa.memory_map(str(path)) as src:
            for f in pa.ipc.open_stream(src).read_all().column("formal").to_pylist():
                terms |= {w.lower() for t in formal_terms(json.loads(f)) for w in t.split()}
    shown = [f["frame"] for t in fr["templates"].values() for f in t["top"]] + [
        f["frame"] for f in o["top"]
    ]
    words = {w.lower() for f in shown for w in re.findall(r"[A-Za-z]+", f)}
    assert not words & (terms - {"a", "the"}), words & terms
    # the report and the verdict
    html = (rep / "index.html").read_text()
    assert 'href="#frames"' in html and 'id="frames"' in html
    assert (
        "distinct frames" in html
        and o["top"][0]["frame"].replace("<", "&lt;").replace(">", "&gt;") in html
    )
    # The verdict names exactly the templates whose frames are few by the stated rule.
    few = [p for p in q["verdict"] if "few sentence frames" in p["title"]]
    flagged = {p["title"].split(":")[0].removeprefix("template ") for p in few}
    assert flagged == {n for n, t in fr["templates"].items() if few_frames(t)}
    assert all(p["severity"] == "minor" for p in few)
    saved = json.loads((rep / "qa.json").read_text())
    assert saved["frames"]["overall"] == o and saved["formatting"] == q["formatting"]


def test_a_second_review_gives_the_same_frames(review, tmp_path):
    q, _, out = review
    again = run_qa(QAConfig(path=str(out), out=str(tmp_path / "again")))
    assert again["frames"] == q["frames"] and again["formatting"] == q["formatting"]


def test_a_template_with_few_frames_is_named_in_the_verdict_and_one_with_many_is_not():
    from synth.qa.frames import FEW_MIN_SENTENCES, FEW_TOP_SHARE, frame_problems

    def group(sentences, share):
        top = [{"frame": "<E> is a <K>.", "share": share / 2}]
        return {"sentences": sentences, "sampled": sentences, "distinct": 120,
                "distinct_per_100k": None, "top_100_share": share, "top": top}  # fmt: skip

    q = {"frames": {
        "templates": {
            "narrow": group(FEW_MIN_SENTENCES, FEW_TOP_SHARE + 0.01),
            "broad": group(FEW_MIN_SENTENCES * 5, FEW_TOP_SHARE - 0.01),
            "small": group(FEW_MIN_SENTENCES - 1, 0.99),
        },
        "overall": group(FEW_MIN_SENTENCES * 7, 0.2),
    }}  # fmt: skip
    titles = [p["title"] for p in frame_problems(q)]
    assert [t.split(":")[0] for t in titles] == ["template narrow"], titles
