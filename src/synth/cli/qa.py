"""`synth qa PATH`: a wrapper over `synth.qa.run_qa`."""

from __future__ import annotations

import click

from synth.cli.main import Command


@click.command("qa", cls=Command)
@click.argument("path", type=click.Path())
@click.option(
    "--out",
    default="qa-report",
    show_default=True,
    metavar="DIR",
    help="Report folder: index.html (open it in a browser, offline) and qa.json.",
)
@click.option(
    "--tokenizer",
    default="qwen2.5",
    show_default=True,
    metavar="NAME|PATH",
    help="Count tokens with this tokenizer: built-in qwen2.5, or a tokenizer.json / model folder.",
)
@click.option(
    "--sample",
    default=5,
    show_default=True,
    type=int,
    metavar="N",
    help="Random rows per template in the sample browser.",
)
@click.option(
    "--metrics-sample",
    default=5_000,
    show_default=True,
    type=int,
    metavar="N",
    help="Rows sampled for repetition, near-duplicate clusters and corpus distinct-n.",
)
@click.option(
    "--eval",
    "eval_path",
    metavar="PATH",
    help="Eval probes to look for in train (synth corpora: PATH/eval is used by default).",
)
@click.option(
    "--chat-format",
    default="qwen2.5",
    show_default=True,
    metavar="FORMAT",
    help="For rows with messages but no text: the chat format tokens are counted on.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def qa(path: str, out: str, tokenizer: str, sample: int, metrics_sample: int, eval_path: str | None,
       chat_format: str, quiet: bool) -> None:  # fmt: skip
    """Review a corpus before training on it: an HTML report and qa.json.

    PATH is a synth output folder, a `datasets` save_to_disk folder, or Arrow / Parquet /
    JSONL files (or a folder of them) with `text` or `messages`. The verdict at the top of
    the report lists the problems found, worst first. Exits 1 if any is critical.

    \b
    Examples:
      synth qa outputs/ontology --out report/
      synth qa data/train.jsonl --eval data/test.jsonl --sample 10
    """
    from synth.qa import QAConfig, run_qa

    q = run_qa(QAConfig(path=path, out=out, tokenizer=tokenizer, sample=sample, metrics_sample=metrics_sample,
                        eval=eval_path, chat_format=chat_format, progress=not quiet))  # fmt: skip
    t = q["totals"]
    click.echo(f"{path}: {t['rows']:,} rows, {t['tokens']:,} tokens; report in {out}/index.html")
    for p in q["verdict"]:
        click.echo(f"  {p['severity']:<8} {p['title']}")
    if not q["verdict"]:
        click.echo("  no problems found")
    if any(p["severity"] == "critical" for p in q["verdict"]):
        raise SystemExit(1)
