"""`synth export`: a wrapper over `synth.export.export`."""

from __future__ import annotations

import click

from synth.cli.main import Command
from synth.export import FORMATS


@click.command("export", cls=Command)
@click.argument("out", metavar="OUT")
@click.option(
    "--to",
    "to",
    required=True,
    type=click.Choice(FORMATS),
    help="messages (TRL, Axolotl chat_template, torchtune openai, rulm), sharegpt or alpaca "
    "(LLaMA-Factory, with dataset_info.json; torchtune sharegpt), jsonl or parquet (every "
    "column), tokenized (input_ids, attention_mask, labels with assistant-only loss: TRL, "
    "Axolotl).",
)
@click.option("--dest", required=True, metavar="DIR", help="Folder to write the export to.")
@click.option(
    "--tokenizer",
    default=None,
    metavar="NAME|PATH",
    help="tokenized only: qwen2.5 or a local tokenizer.json / model folder "
    "(default: the corpus's tokenizer).",
)
@click.option(
    "--format-model",
    default=None,
    metavar="FORMAT",
    help="tokenized only: chat format to render chats with, e.g. llama3, mistral_nemo, "
    "hf:PATH (default: the corpus's, so ids reproduce its `text` exactly).",
)
@click.option("--overwrite", is_flag=True, help="Replace an earlier export in --dest.")
def export(
    out: str,
    to: str,
    dest: str,
    tokenizer: str | None,
    format_model: str | None,
    overwrite: bool,
) -> None:
    """Export corpus OUT for a trainer, keeping its rows and their curriculum order.

    \b
    Examples:
      synth export outputs/command --to messages --dest exports/command-trl
      synth export outputs/command --to sharegpt --dest exports/command-lf
      synth export outputs/ontology --to tokenized --dest exports/ontology-tok
      synth export outputs/command --to tokenized --format-model llama3 \\
          --tokenizer models/saiga_llama3_8b --dest exports/command-saiga

    Documents (rows without messages) are kept in place: as the reply to an empty user
    turn for messages/sharegpt/alpaca, learned whole and ended with the model's EOS when
    tokenized. The last line counts the tokens a trainer sees beside the corpus's n_tokens.
    """
    from synth.export import export as run
    from synth.export import trainer_tokens_line

    res = run(out, to, dest, tokenizer=tokenizer, format_model=format_model, overwrite=overwrite)
    click.echo(f"{dest}: {res.rows:,} rows as {to} in {', '.join(res.files)}")
    click.echo(trainer_tokens_line(res))
