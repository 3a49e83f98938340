"""The QA report as one self-contained HTML page, rendered from the qa.json figures.

No JavaScript, no external CSS, fonts or images: plots are inline SVG (synth.qa.svg) and
the page opens offline. Everything taken from the corpus is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from synth.qa import svg

CSS = """
:root{--fg:#222;--muted:#666;--line:#ddd;--crit:#b03a2e;--major:#c87f0a;--minor:#5a6f80;--ok:#2e7d32}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:#fafafa}
header{background:#1f2d3d;color:#fff;padding:16px 28px}
header h1{margin:0 0 4px;font-size:20px}
header .sub{color:#c9d3dd;font-size:13px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 28px;z-index:2}
nav a{margin-right:14px;color:#1f5fa8;text-decoration:none;font-size:13px}
main{padding:8px 28px 40px;max-width:1280px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px}
h3{font-size:14px;margin:16px 0 6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px}
.chart{width:100%;height:auto;background:#fff;border:1px solid #eee;border-radius:4px}
.chart.bars{max-width:860px}
table{border-collapse:collapse;font-size:13px;margin:6px 0;width:auto}
th,td{border-bottom:1px solid var(--line);padding:3px 10px 3px 0;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num,th.num{text-align:right}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.verdict li{margin:6px 0;list-style:none}
.verdict ul{padding-left:0}
.badge{display:inline-block;min-width:62px;text-align:center;border-radius:3px;color:#fff;font-size:11px;
  font-weight:700;padding:1px 6px;margin-right:8px;text-transform:uppercase}
.critical{background:var(--crit)}.major{background:var(--major)}.minor{background:var(--minor)}.ok{background:var(--ok)}
.evidence{color:var(--muted);font-size:12.5px;margin-left:78px}
.ids{font-size:11.5px;color:#555;margin-left:78px}
.note{color:var(--muted);font-size:12.5px}
.flag{color:var(--crit);font-weight:600}
details{border:1px solid var(--line);border-radius:4px;margin:6px 0;padding:4px 10px;background:#fff}
summary{cursor:pointer;font-weight:600}
.row{border-top:1px dashed var(--line);padding:8px 0}
.meta{font-size:12px;color:var(--muted);margin-bottom:4px}
.turn{border-left:3px solid #9bb4d0;padding:4px 10px;margin:4px 0;background:#f6f9fc}
.turn.assistant{border-color:#8cc49a;background:#f5fbf6}
.turn.system{border-color:#bbb;background:#f6f6f6}
.role{font-size:11px;font-weight:700;text-transform:uppercase;color:#555}
.doc{border-left:3px solid #d6c48a;padding:4px 10px;background:#fdfbf3}
"""

SECTIONS = [
    ("verdict", "Verdict"), ("totals", "Totals"), ("distributions", "Distributions"),
    ("diversity", "Diversity"), ("frames", "Frames"), ("formatting", "Formatting"),
    ("curriculum", "Curriculum"), ("correctness", "Correctness"),
    ("contamination", "Contamination"), ("verify", "Integrity"), ("samples", "Samples"),
    ("method", "Method"),
]  # fmt: skip


class Raw(str):
    """A table cell that is already HTML."""


def _e(v: Any) -> str:
    return escape(str(v)) if v is not None else "—"


def _n(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return _e(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}"
    return _e(v)


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    def cell(i: int, v: Any, tag: str) -> str:
        cls = ' class="num"' if i in numeric else ""
        body = v if isinstance(v, Raw) else (_n(v) if i in numeric else _e(v))
        return f"<{tag}{cls}>{body}</{tag}>"

    head = "".join(cell(i, h, "th") for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell(i, v, "td") for i, v in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(q: dict[str, Any]) -> str:
    """The whole page."""
    c = q["corpus"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>synth qa — {_e(c['path'])}</title><style>{CSS}</style></head><body>",
        f"<header><h1>Dataset review: {_e(c['path'])}</h1>",
        f'<div class="sub">{_e(c["kind"])} corpus{" · tier " + _e(c["tier"]) if c.get("tier") else ""} · '
        f"{q['totals']['rows']:,} rows · {q['totals']['tokens']:,} tokens ({_e(q['tokens']['tokenizer'])}) · "
        f"reviewed in {q['timing']['seconds']:.1f} s</div></header>",
        "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in SECTIONS) + "</nav><main>",
        _verdict(q),
        _totals(q),
        _distributions(q),
        _diversity(q),
        _frames(q),
        _formatting(q),
        _curriculum(q),
        _correctness(q),
        _contamination(q),
        _verify(q),
        _samples(q),
        _method(q),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


# --- verdict ------------------------------------------------------------------------------


def _verdict(q: dict[str, Any]) -> str:
    problems = q["verdict"]
    if not problems:
        body = '<p><span class="badge ok">ok</span>No problems found.</p>'
    else:
        counts = {
            s: sum(p["severity"] == s for p in problems) for s in ("critical", "major", "minor")
        }
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        items = []
        for p in problems:
            ids = (
                f'<div class="ids">ids: <code>{_e(", ".join(p["ids"]))}</code></div>'
                if p["ids"]
                else ""
            )
            ev = f'<div class="evidence">{_e(p["evidence"])}</div>' if p["evidence"] else ""
            items.append(
                f'<li class="problem {p["severity"]}-item"><span class="badge {p["severity"]}">'
                f'{p["severity"]}</span><a href="#{p["section"]}">{_e(p["title"])}</a>{ev}{ids}</li>'
            )
        body = (
            f"<p>{len(problems)} problem(s): {summary}. Worst first.</p><ul>{''.join(items)}</ul>"
        )
    notes = q["corpus"].get("notes") or []
    if notes:
        body += "<p class='note'>" + "<br>".join(_e(n) for n in notes) + "</p>"
    return f'<section id="verdict" class="verdict"><h2>Verdict</h2>{body}</section>'


# --- totals -------------------------------------------------------------------------------


def _totals(q: dict[str, Any]) -> str:
    t = q["totals"]
    tok = q["distributions"]["tokens"]
    langs = ", ".join(f"{k} {v:,}" for k, v in t["languages"].items())
    if t["languages_guessed"]:
        langs += " (no lang column: guessed from the script)"
    rows = [
        ("rows", t["rows"]), ("tokens", t["tokens"]), ("characters", t["characters"]),
        ("shards / files", t["shards"]), ("templates", t["templates"] or "— (no template column)"),
        ("stages", t["stages"] or "—"), ("languages", langs),
        ("tokens per row (mean / median / p95 / max)",
         f"{tok.get('mean', 0):,} / {tok.get('p50', 0):,} / {tok.get('p95', 0):,} / {tok.get('max', 0):,}"),
    ]  # fmt: skip
    body = table(["", ""], [(k, Raw(_n(v))) for k, v in rows])
    nt = q["tokens"]["n_tokens_column"]
    if nt.get("compared"):
        body += (
            f"<p class='note'>n_tokens column compared with {_e(q['tokens']['tokenizer'])} on "
            f"{nt['compared']:,} rows: {nt['count']:,} differ.</p>"
        )
    per = t["per_template"]
    if len(per) > 1:
        labels = list(per)[:40]
        body += svg.bar_chart(
            labels, [per[k]["tokens"] for k in labels], title="Tokens per template", xlabel="tokens"
        )
    files = t["files"]
    if files:
        body += "<h3>Files in reading order</h3>" + table(
            ["file", "rows", "tokens"],
            [(f["file"], f["rows"], f["tokens"]) for f in files[:200]],
            numeric=(1, 2),
        )
    return _section("totals", "Totals", body)


# --- distributions -----------------------------------------------------------------------


def _distributions(q: dict[str, Any]) -> str:
    d, bands = q["distributions"], q["filters"]["bands"]
    charts = []
    length = bands.get("length")
    over = d["tokens"].get("overflow")
    charts.append(svg.histogram(
        d["tokens"]["edges"], d["tokens"]["counts"], xlabel="tokens",
        title="Tokens per sample" + (f" ({over:,} rows over {d['tokens']['edges'][-1]:,} not drawn)" if over else ""),
        bands=_lo_hi(length, "length") if length else [],
    ))  # fmt: skip
    ent = bands.get("entropy")
    charts.append(svg.histogram(
        d["entropy"]["edges"], d["entropy"]["counts"], title="Character entropy (bits/char)",
        xlabel="bits per character", bands=_lo_hi(ent, "entropy") if ent else [],
    ))  # fmt: skip
    comp, cd = bands.get("compression"), d["compression"]
    cbands = []
    if comp:
        upper = comp["max"] + comp["slack"] / max(cd.get("median_bytes") or 1, 1) ** 0.5
        cbands = [
            svg.Band(None, comp["min"], f"min {comp['min']}"),
            svg.Band(upper, None, f"max {upper:.2f}"),
        ]
    charts.append(svg.histogram(
        cd["edges"], cd["counts"], title="Compression ratio (zlib)", xlabel="compressed / raw bytes", bands=cbands,
    ))  # fmt: skip
    rep = d.get("repetition") or {}
    for key in ("dup_line_frac", "dup_para_frac", "top_2_gram", "dup_5_gram"):
        s = (rep.get("stats") or {}).get(key)
        if s:
            lim = s["limit"]
            charts.append(svg.histogram(
                s["edges"], s["counts"], title=f"Repetition: {key.replace('_', ' ')}",
                xlabel="fraction", bands=[svg.Band(lim, None, f"limit {lim}")] if lim is not None else [],
            ))  # fmt: skip
    off = [n for n in ("length", "entropy", "compression", "repetition") if n not in bands]
    body = (
        f"<p class='note'>Shaded: where a filter rejects (bands from {_e(q['filters']['source'])})."
    )
    if off:
        body += f" Disabled there, so drawn without a band: {_e(', '.join(off))}."
    body += "</p>"
    body += f'<div class="grid">{"".join(charts)}</div>'
    notes = [
        f"Entropy: {d['entropy']['n']:,} rows of at least {ent['min_chars'] if ent else 100} characters "
        f"(shorter texts are not judged); mean {d['entropy'].get('mean')}.",
        f"Compression: {cd['n']:,} rows of at least {comp['min_chars'] if comp else 200} characters; "
        "the upper bound relaxes for short texts (max + slack/√bytes); the line is drawn at the median length.",
    ]
    if rep:
        notes.append(
            f"Repetition: on the metric sample of {rep['rows']:,} rows; per statistic the worst message "
            "of each row (the filter judges messages one by one). n-gram rules apply from "
            "the filter's min_words words on."
        )
        stats = rep.get("stats") or {}
        notes.append(table(
            ["statistic", "limit", "mean", "p95", "sampled rows over the limit"],
            [(k, s["limit"], s["mean"], s["p95"], s["over_limit"]) for k, s in stats.items()], numeric=(1, 2, 3, 4),
        ))  # fmt: skip
    ob = q["quality"]["outside_bands"]
    if ob:
        notes.append("<h3>Rows outside a band</h3>" + table(
            ["reason", "rows", "examples"],
            [(k, v["count"], Raw(_id_list(v))) for k, v in ob.items()], numeric=(1,),
        ))  # fmt: skip
    body += "".join(n if n.startswith("<") else f"<p class='note'>{_e(n)}</p>" for n in notes)
    return _section("distributions", "Distributions", body)


def _lo_hi(b: dict[str, Any], name: str) -> list[svg.Band]:
    return [
        svg.Band(None, b["min"], f"{name} min {b['min']}"),
        svg.Band(b["max"], None, f"max {b['max']}"),
    ]


def _id_list(f: dict[str, Any], n: int = 6) -> str:
    items = [f"<code>{_e(e['id'])}</code> {_e(e.get('detail', ''))}" for e in f["examples"][:n]]
    return "<br>".join(items)


# --- diversity ----------------------------------------------------------------------------


def _diversity(q: dict[str, Any]) -> str:
    d = q["diversity"]
    c = d["corpus"]
    body = (
        f"<p>Corpus (sample of {c['reservoir']:,} rows): distinct-1 {_e(c['distinct_1'])}, "
        f"distinct-2 {_e(c['distinct_2'])}, distinct-3 {_e(c['distinct_3'])}, "
        f"zlib ratio {_e(c['compression'])}. Exact duplicates (normalized, every row): "
        f"<b>{d['exact_duplicates']['count']:,}</b>.</p>"
    )
    t = d["templates"]
    names = list(t)
    flagged = [_collapsed(t[k]) for k in names]
    if len(names) > 1 or names and names[0] != "(all rows)":
        body += svg.bar_chart(
            names, [t[k]["distinct_3"] or 0 for k in names], title="distinct-3 per template (200-row samples)",
            xlabel="distinct 3-grams / all 3-grams", flagged=flagged, value_fmt="{:.3f}",
        )  # fmt: skip
    body += "<h3>Per template</h3>" + table(
        ["template", "rows", "tokens", "exact dups", "sample", "distinct-1", "distinct-2", "distinct-3", "zlib"],
        [
            (Raw(f'<span class="flag">{_e(k)}</span>') if f else k, v.get("rows"), v.get("tokens"),
             v.get("exact_dups"), v["reservoir"], v["distinct_1"], v["distinct_2"], v["distinct_3"], v["compression"])
            for (k, v), f in zip(t.items(), flagged, strict=True)
        ],
        numeric=(1, 2, 3, 4, 5, 6, 7, 8),
    )  # fmt: skip
    if d["stages"]:
        body += "<h3>Per stage</h3>" + table(
            ["stage", "sample", "distinct-1", "distinct-2", "distinct-3", "zlib"],
            [(k, v["reservoir"], v["distinct_1"], v["distinct_2"], v["distinct_3"], v["compression"]) for k, v in d["stages"].items()],
            numeric=(1, 2, 3, 4, 5),
        )  # fmt: skip
    body += _near(d["near_duplicates"], q["totals"]["rows"])
    ex = d["exact_duplicates"]
    if ex["count"]:
        body += "<h3>Exact duplicates</h3>" + table(
            ["id", "template", "content"],
            [
                (e["id"], e["template"], Raw(f"<pre>{_e(e.get('content', ''))}</pre>"))
                for e in ex["examples"][:10]
            ],
        )
    return _section("diversity", "Diversity", body)


def _collapsed(v: dict[str, Any]) -> bool:
    from synth.qa.metrics import collapse_state

    return collapse_state(v) is not None


def _near(n: dict[str, Any], total: int) -> str:
    sampled = n["rows"] < total
    head = (
        f"<h3>Near-duplicate clusters</h3><p class='note'>MinHash LSH of the near-dedup filter on "
        f"{n['compared']:,} rows{' (a uniform sample of ' + format(total, ',') + ')' if sampled else ''}, "
        f"template skeletons (shingles in over {n['skeleton_share']:.0%} of a template's rows) removed; "
        f"joined at estimated Jaccard ≥ {n['similarity']}. "
        f"{n['clusters']:,} clusters hold {n['rows_in_clusters']:,} rows.</p>"
    )
    if n.get("groups"):  # synth filter's decisions on the same rows, per group
        head += "<h3>Near copies as synth filter decides them</h3>" + _near_groups(n["groups"])
    blocks = []
    for i, c in enumerate(n["largest"][:10]):
        ex = "".join(
            f"<div class='row'><div class='meta'>{_e(e['id'])}</div><pre>{_e(e['content'])}</pre></div>"
            for e in c["examples"]
        )
        blocks.append(
            f"<details{' open' if i == 0 else ''}><summary>cluster of {c['size']} rows · similarity "
            f"{c['similarity']} · {c['exact_copies']} exact copies · {_e(', '.join(c['templates']))}</summary>"
            f"<div class='ids'>ids: <code>{_e(', '.join(c['ids'][:20]))}</code></div>{ex}</details>"
        )
    return head + "".join(blocks)


def _near_groups(g: dict[str, Any]) -> str:
    from synth.filters.near_corpus import findings_table, summary_lines

    return f"<p class='note'>{_e(summary_lines(g)[0])}</p>" + table(
        *findings_table(g), numeric=(1, 2, 3, 4)
    )


# --- frames and formatting ----------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1%}"


def _frames(q: dict[str, Any]) -> str:
    from synth.qa.frames import FEW_MIN_SENTENCES, FEW_TOP_SHARE, few_frames

    fr = q.get("frames")
    if not fr:
        return _section("frames", "Frames", "<p class='note'>Not measured.</p>")
    o, m = fr["overall"], fr["method"]
    per100k = (
        f"<b>{o['distinct_per_100k']:,}</b> distinct frames per 100k sentences"
        if o.get("distinct_per_100k") is not None
        else f"<b>{o['distinct']:,}</b> distinct frames in all {o['sampled']:,} sentences "
        "(fewer than 100k: not comparable with a 100k figure)"
    )
    body = (
        f"<p>{o['sentences']:,} sentences; {per100k}; the 100 most common frames are "
        f"<b>{_pct(o['top_100_share'])}</b> of sentences (the 10 most common: "
        f"{_pct(o.get('top_10_share'))}).</p>"
        "<p class='note'>A frame is a sentence with the world's own words masked: for rows "
        "with a logic <code>formal</code>, the terms it names (and world words earlier rows' "
        "formal named), in any inflection, English or Russian; otherwise capitalised names; "
        f"numbers always. Counted on {_e(m['sampling'])}. Masking: "
        + _e(", ".join(f"{k} {v:,} rows" for k, v in m["masking"].items()) or "no rows")
        + ". <code>&lt;&gt;</code> is a masked word, <code>&lt;#&gt;</code> a number.</p>"
    )
    t = fr["templates"]
    names = list(t)
    flagged = [few_frames(t[k]) for k in names]
    if len(names) > 1 or names and names[0] != "(all rows)":
        body += svg.bar_chart(
            names[:40], [t[k]["top_100_share"] or 0 for k in names[:40]],
            title="Share of sentences in the 100 most common frames, per template",
            xlabel="top-100 share", flagged=flagged[:40], value_fmt="{:.0%}",
        )  # fmt: skip
    body += (
        f"<p class='note'>Flagged: the top 100 frames above {FEW_TOP_SHARE:.0%} of a "
        f"template's sentences, from {FEW_MIN_SENTENCES:,} sentences on. Distinct frames at "
        "1k and 10k sentences compare templates of different sizes.</p>"
    )
    body += "<h3>Per template</h3>" + table(
        ["template", "rows", "sentences", "sampled", "distinct", "at 1k", "at 10k",
         "per 100k", "top-10 share", "top-100 share"],
        [
            (Raw(f'<span class="flag">{_e(k)}</span>') if f else k, v.get("rows"), v["sentences"],
             v["sampled"], v["distinct"], v.get("distinct_per_1k"), v.get("distinct_per_10k"),
             v.get("distinct_per_100k"), _pct(v.get("top_10_share")), _pct(v.get("top_100_share")))
            for (k, v), f in zip(t.items(), flagged, strict=True)
        ],
        numeric=(1, 2, 3, 4, 5, 6, 7, 8, 9),
    )  # fmt: skip
    body += "<h3>Most common frames</h3>" + _frame_table(o["top"])
    for k, v in t.items():
        if v["top"]:
            body += (
                f"<details><summary>{_e(k)}: {v['distinct']:,} distinct frames, top 100 "
                f"{_pct(v['top_100_share'])}</summary>{_frame_table(v['top'])}</details>"
            )
    body += _unformalised(fr.get("unformalised") or {})
    return _section("frames", "Frames", body)


def _frame_table(top: list[dict[str, Any]]) -> str:
    return table(
        ["frame", "sentences (sample)", "share"],
        [
            (Raw(f"<code>{_e(f['frame'])}</code>") if f["frame"] is not None
             else Raw("<span class='note'>(text not kept)</span>"), f["count"], _pct(f["share"]))
            for f in top
        ],
        numeric=(1, 2),
    )  # fmt: skip


def _unformalised(u: dict[str, Any]) -> str:
    if not u.get("rows"):
        return ""
    checked = u.get("rows_checked") or {}
    rows = [
        (k, n, checked.get(k), _pct(n / max(checked.get(k) or 1, 1)), u["words_by_template"].get(k))
        for k, n in u["by_template"].items()
    ]
    return (
        "<h3>World words stated without their formal form</h3><p class='note'>Words that "
        "other rows' <code>formal</code> names (kinds, properties, people, places) in a row "
        "whose own <code>formal</code> does not: a fact the row states that nothing "
        "re-checks. They are masked in frames all the same.</p>"
        + table(["template", "rows", "rows checked", "share", "words"], rows, numeric=(1, 2, 3, 4))
        + table(
            ["id", "template", "words"],
            [(e["id"], e["template"], e["excerpt"] or e["detail"]) for e in u["examples"][:12]],
        )
    )


def _formatting(q: dict[str, Any]) -> str:
    fm = q.get("formatting")
    if not fm:
        return _section("formatting", "Formatting", "<p class='note'>Not measured.</p>")
    ml, rp = fm["mixed_lists"], fm["repeated_sentences"]
    body = (
        "<p>Per document a model answers with (a row's text, each assistant message): "
        f'<b>{ml["rows"]:,}</b> row(s) whose lists mix markers ("1.", "1)", "-", '
        '"*", "•", lines without one) or skip or repeat a number; '
        f"<b>{rp['rows']:,}</b> row(s) that state a sentence (3 words or more) twice.</p>"
    )
    per = fm["templates"]
    body += table(
        ["template", "rows", "mixed lists", "share", "repeated sentences", "share"],
        [
            (k, v["rows"], v["mixed_lists"], _pct(v["mixed_lists"] / max(v["rows"], 1)),
             v["repeated_sentences"], _pct(v["repeated_sentences"] / max(v["rows"], 1)))
            for k, v in per.items()
        ],
        numeric=(1, 2, 3, 4, 5),
    )  # fmt: skip
    if ml["examples"]:
        body += "<h3>Mixed list markers</h3>" + table(
            ["id", "template", "problem", "lists"],
            [(e["id"], e["template"], e["detail"], Raw(f"<pre>{_e(e['excerpt'])}</pre>"))
             for e in ml["examples"][:12]],
        )  # fmt: skip
    if rp["examples"]:
        body += "<h3>Repeated sentences</h3>" + table(
            ["id", "template", "count", "sentence"],
            [(e["id"], e["template"], e["detail"], e["excerpt"]) for e in rp["examples"][:12]],
        )
    return _section("formatting", "Formatting", body)


# --- curriculum ---------------------------------------------------------------------------


def _curriculum(q: dict[str, Any]) -> str:
    cur = q.get("curriculum")
    if not cur:
        return _section(
            "curriculum",
            "Curriculum",
            "<p class='note'>No stage column: not a curriculum-ordered corpus.</p>",
        )
    stages = cur["stages"]
    o = cur["order"]
    markers = [(s["tokens_before"], f"{s['stage']}:{s['name']}") for s in stages]
    charts = [
        svg.bar_chart([f"{s['stage']} {s['name']}" for s in stages], [s["tokens"] for s in stages],
                      title="Tokens per stage", xlabel="tokens"),
        svg.line_plot([svg.Series("concepts covered", o["tokens_end"], o["concepts_covered"])],
                      title="Concept coverage over the corpus order", xlabel="tokens read (shard order)",
                      ylabel="distinct concepts", markers=markers),
        svg.line_plot([svg.Series("mean difficulty", o["tokens_end"], o["difficulty_mean"])],
                      title="Difficulty over the corpus order", xlabel="tokens read (shard order)",
                      ylabel="mean difficulty", markers=markers),
    ]  # fmt: skip
    body = f'<div class="grid">{"".join(charts)}</div>'
    body += table(
        ["stage", "name", "rows", "tokens", "first row"],
        [(s["stage"], s["name"], s["rows"], s["tokens"], s["first_row"]) for s in stages], numeric=(2, 3, 4),
    )  # fmt: skip
    body += f"<p class='note'>{cur['concepts']} distinct concepts; each point covers {o['rows_per_point']:,} rows.</p>"
    chk = cur.get("check")
    if chk:
        if chk.get("error"):
            body += f"<p class='flag'>{_e(chk['error'])}</p>"
        else:
            body += (
                f"<h3>synth curriculum check</h3><p>{chk['rows']:,} rows, {chk['facts_checked']:,} fact uses "
                f"checked; mean difficulty per stage {_e(chk['stage_difficulty'])}; replay share "
                f"{_e(chk['stage_replay'])}.</p>"
            )
            if chk["problems"]:
                body += (
                    "<ul>"
                    + "".join(f"<li class='flag'>{_e(p)}</li>" for p in chk["problems"])
                    + "</ul>"
                )
            else:
                body += "<p>Passed: stages in order, concepts introduced before use, facts stated before use.</p>"
    return _section("curriculum", "Curriculum", body)


# --- correctness / contamination / integrity -----------------------------------------------


def _correctness(q: dict[str, Any]) -> str:
    c = q["correctness"]
    w = c["mismatches"]
    body = (
        f"<p>{c['checked']:,} rows with a <code>formal</code> form re-derived with the solver "
        f"(synth.world.solver: closure of facts under rules; a value query's <code>?v</code> binding; "
        f"instructions: <code>expected</code> must equal <code>answer</code>; every derivation step "
        f"must follow by its rule from what is known before it): "
        f"<b>{w['count']:,}</b> mismatch(es).<br>{c['answers_checked']:,} rows with a gold answer checked "
        f"against what the response states: <b>{c['unstated']['count']:,}</b> disagree."
    )
    s = c.get("steps") or {"checked": 0, "miswritten": {"count": 0, "examples": []}}
    body += (
        f"<br>{s['checked']:,} rows with worked steps in <code>formal</code> read against the steps "
        f"their text writes (the steps filter's reading): <b>{s['miswritten']['count']:,}</b> "
        f"disagree.</p>"
    )
    if c.get("probes"):
        pr = c["probes"]
        body += f"<p>Eval probes: {pr['checked']:,} re-derived, <b>{pr['mismatches']['count']:,}</b> mismatch(es).</p>"
    for title, f in (
        ("Answers or steps that do not re-derive", w),
        ("Responses that do not state the gold answer", c["unstated"]),
        ("Worked steps written otherwise than formal's", s["miswritten"]),
    ):
        if f["count"]:
            body += f"<h3>{title}</h3>" + table(
                ["id", "template", "answer", "problem"],
                [(e["id"], e["template"], e.get("answer"), e["detail"]) for e in f["examples"]],
            )
    if c["by_template"]:
        body += "<h3>Checked per template</h3>" + table(
            ["template", "rows checked", "mismatches"],
            [(k, v, w["by_template"].get(k, 0)) for k, v in c["by_template"].items()], numeric=(1, 2),
        )  # fmt: skip
    return _section("correctness", "Correctness", body)


def _contamination(q: dict[str, Any]) -> str:
    c = q.get("contamination")
    if not c:
        return _section(
            "contamination",
            "Contamination",
            "<p class='note'>No eval probes (pass --eval for data synth did not make).</p>",
        )
    body = (
        f"<p>{q['totals']['rows']:,} train rows checked against {c['probes']:,} eval probes with the "
        f"contamination filter (exact normalized content or question, probe question contained, "
        f"near-duplicate question by MinHash): <b>{c['flagged']:,}</b> flagged.</p>"
    )
    for reason, f in c["by_reason"].items():
        body += f"<h3>{_e(reason)}: {f['count']:,}</h3>" + table(
            ["train row", "template", "matching probe"],
            [(e["id"], e["template"], e.get("probe")) for e in f["examples"]],
        )
    return _section("contamination", "Contamination", body)


def _verify(q: dict[str, Any]) -> str:
    v = q["verify"]
    if not v["ran"]:
        return _section(
            "verify", "Integrity", "<p class='note'>No manifest: shard checksums not verified.</p>"
        )
    probs = v["problems"]
    body = "<p>synth verify: " + (
        "all shards match the manifest (sha256, bytes, rows, tokens).</p>" if not probs
        else "</p><ul>" + "".join(f"<li class='flag'>{_e(p)}</li>" for p in probs) + "</ul>"
    )  # fmt: skip
    bad = {p.split(":")[0] for p in probs}
    body += table(
        ["shard", "rows", "tokens", "bytes", "stages", "sha256", "status"],
        [(s["file"], s["rows"], s["tokens"], s["bytes"], s["stages"], (s["sha256"] or "")[:16],
          Raw("<span class='flag'>changed</span>") if s["file"] in bad else "ok") for s in v["shards"]],
        numeric=(1, 2, 3),
    )  # fmt: skip
    if q.get("read_errors"):
        body += (
            "<ul>" + "".join(f"<li class='flag'>{_e(e)}</li>" for e in q["read_errors"]) + "</ul>"
        )
    return _section("verify", "Integrity", body)


# --- samples / method ---------------------------------------------------------------------


def _samples(q: dict[str, Any]) -> str:
    blocks = []
    for template, rows in q["samples"].items():
        rendered = "".join(_sample_row(r) for r in rows)
        blocks.append(
            f"<details><summary>{_e(template)} ({len(rows)} rows)</summary>{rendered}</details>"
        )
    n = q["config"]["sample"]
    body = f"<p class='note'>{n} random rows per template, in corpus order.</p>" + "".join(blocks)
    return _section("samples", "Samples", body)


def _sample_row(r: dict[str, Any]) -> str:
    meta = f"{_e(r['id'])} · stage {_e(r['stage'])} · difficulty {_e(r['difficulty'])} · {r['n_tokens']:,} tokens"
    if r.get("answer") is not None:
        meta += f" · answer <code>{_e(r['answer'])}</code>"
    if r.get("truncated"):
        meta += " · (shortened)"
    if r.get("messages"):
        body = "".join(
            f"<div class='turn {_e(m['role'])}'><div class='role'>{_e(m['role'])}</div><pre>{_e(m['content'])}</pre></div>"
            for m in r["messages"]
        )
    else:
        body = f"<div class='doc'><pre>{_e(r.get('text') or '')}</pre></div>"
    return f"<div class='row sample'><div class='meta'>{meta}</div>{body}</div>"


def _method(q: dict[str, Any]) -> str:
    s, t = q["sampling"], q["timing"]
    gen = t.get("generation_tokens_per_second")
    rows = [
        ("read exactly (every row)", s["exact"]),
        ("sampled", s["sampled_metrics"]),
        ("metric sample", f"{s['metric_sample']:,} of {s['rows']:,} rows" + (" (sampled)" if s["sampled"] else " (all rows)")),
        ("filter bands", q["filters"]["source"]),
        ("speed", f"{t['rows_per_second']:,.0f} rows/s, {t['tokens_per_second']:,.0f} tokens/s"
                  + (f" (generation: {gen:,.0f} tokens/s)" if gen else "")),
    ]  # fmt: skip
    return _section("method", "Method", table(["", ""], rows))
