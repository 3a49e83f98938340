"""`synth filter IN --out OUT`: a wrapper over `synth.filtering.filter_corpus`."""

from __future__ import annotations

import click

from synth.cli.main import Command


@click.command("filter", cls=Command)
@click.argument("path", type=click.Path())
@click.option(
    "--out",
    required=True,
    metavar="DIR",
    help="Output folder: the kept rows, filter.json (what each filter did), rejected/ (examples).",
)
@click.option(
    "--tier",
    default="outside",
    show_default=True,
    metavar="PROFILE",
    help="Thresholds: outside (synth.filters defaults, calibrated on human text; balance off), "
    "or a tier's `filters:` (command, structural, ontology, or a curricula YAML file).",
)
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    help="A YAML file whose `filters:` mapping overrides the profile, key by key.",
)
@click.option(
    "--only",
    multiple=True,
    metavar="NAMES",
    help="Run only these filters (repeatable or comma-separated), e.g. exact_dedup,near_dedup.",
)
@click.option(
    "--skip",
    multiple=True,
    metavar="NAMES",
    help="Do not run these filters (repeatable or comma-separated).",
)
@click.option(
    "--eval",
    "eval_path",
    metavar="PATH",
    help="Eval probes for the contamination guard (a synth folder's eval/ and a DatasetDict's "
    "test split are used by default).",
)
@click.option(
    "--tokenizer",
    default="qwen2.5",
    show_default=True,
    metavar="NAME|PATH",
    help="Count tokens (the length filter) with this tokenizer: qwen2.5, or a tokenizer.json / model folder.",
)
@click.option(
    "--chat-format",
    default="qwen2.5",
    show_default=True,
    metavar="FORMAT",
    help="For rows with messages but no text: the chat format tokens are counted on.",
)
@click.option(
    "--lang",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "en", "ru", "none"]),
    help="Language of rows without a `lang` column value. auto: the first batch's script (en or ru) "
    "when 80%% of its rows agree; none: no language check.",
)
@click.option(
    "--group",
    metavar="COLUMN",
    help="Column grouping rows for near-dedup's per-template calibration "
    "(default: `template` if present, else all rows one group).",
)
@click.option(
    "--format",
    "fmt",
    default="hf",
    show_default=True,
    type=click.Choice(["hf", "parquet", "jsonl"]),
    help="hf: Arrow shards that datasets.load_from_disk(OUT) opens; parquet or jsonl: one file.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace what OUT holds (only the files synth filter writes are removed).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def filter_cmd(path: str, out: str, tier: str, config_file: str | None, only: tuple[str, ...],
               skip: tuple[str, ...], eval_path: str | None, tokenizer: str, chat_format: str, lang: str,
               group: str | None, fmt: str, overwrite: bool, quiet: bool) -> None:  # fmt: skip
    """Clean a corpus synth did not make with the filters synth generates with.

    PATH is a synth output folder, a `datasets` save_to_disk folder, or Arrow / Parquet /
    JSONL files (or a folder of them) with `text` or `messages`. Kept rows keep all their
    columns and their order; OUT/filter.json counts what each filter saw, kept and rejected
    by reason, with the thresholds used.

    \b
    Examples:
      synth filter data/train.jsonl --out clean/
      synth filter data/chats.parquet --out clean/ --eval data/test.jsonl --format parquet
      synth filter hf_folder/ --out clean/ --tier command --skip balance
    """
    from synth.filtering import FilterConfig, filter_corpus
    from synth.filters.near_corpus import summary_lines

    r = filter_corpus(FilterConfig(path=path, out=out, tier=tier, config=config_file, only=only, skip=skip,
                                   eval=eval_path, tokenizer=tokenizer, format=fmt, lang=lang, group=group,
                                   chat_format=chat_format, overwrite=overwrite, progress=not quiet))  # fmt: skip
    t = r["totals"]
    click.echo(
        f"{path}: {t['rows']:,} rows, kept {t['kept']:,}, rejected {t['rejected']:,} "
        f"({t['rejection_rate']:.1%}); {out}/filter.json says why"
    )
    for reason, n in sorted(t["rejected_by_reason"].items(), key=lambda kv: -kv[1]):
        click.echo(f"  {reason:<26} {n:,}")
    for line in summary_lines(r["filters"].get("near_dedup", {}).get("details", {})):
        click.echo(f"  {line}")
    for note in r["notes"]:
        click.echo(f"  note: {note}")
