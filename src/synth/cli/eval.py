"""`synth eval`: a wrapper over `synth.evaluate.evaluate`."""

from __future__ import annotations

import sys

import click

from synth.cli.main import Command
from synth.cli.options import server_options


@click.command("eval", cls=Command)
@click.option("--probes", required=True, metavar="DIR", help="A corpus's eval split: OUT/eval.")
@click.option(
    "--backend",
    required=True,
    type=click.Choice(["hf", "openai", "vllm"]),
    help="hf: transformers in this process; openai: an OpenAI-compatible server; vllm: vLLM in this process.",
)
@click.option(
    "--model",
    default=None,
    metavar="NAME|PATH",
    help="hf: a model folder or .gguf file; vllm: a model folder or name; openai: the served model (default: the server's).",
)
@server_options
@click.option(
    "--out",
    "out",
    default=None,
    metavar="FILE",
    help="Report file (default: eval.json beside the probe folder).",
)
@click.option("--limit", type=int, default=None, metavar="N", help="Score only the first N probes.")
@click.option(
    "--system", default=None, metavar="TEXT", help="System message for probes that have none."
)
@click.option(
    "--llm-option",
    "llm_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="Engine option or sampling (repeatable): max_tokens, temperature (default 0: greedy), concurrency, ...",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress.")
def eval_cmd(
    probes: str,
    backend: str,
    model: str | None,
    base_url: str | None,
    api_key_env: str | None,
    out: str | None,
    limit: int | None,
    system: str | None,
    llm_option: tuple[str, ...],
    quiet: bool,
) -> None:
    """Score a model on a corpus's held-out probes.

    Each probe is asked with its system message (if any) and its prompt; the final
    `Answer:` line of the reply is compared with the gold. Prints accuracy by probe kind
    and by difficulty beside the majority-class chance level, and writes eval.json.

    \b
    Examples:
      synth eval --probes outputs/structural/eval --backend hf --model ./SmolLM2.gguf
      synth eval --probes outputs/structural/eval --backend openai --base-url http://127.0.0.1:8000/v1
    """
    from synth.backends.options import parse_llm_options
    from synth.evaluate import evaluate, summary_lines

    options = parse_llm_options(llm_option)
    if base_url is not None:
        options["base_url"] = base_url
    if api_key_env is not None:
        options["api_key_env"] = api_key_env

    def show(done: int, total: int) -> None:
        if not quiet:
            click.echo(f"\rsynth eval: {done}/{total} probes", nl=False, err=True)

    report = evaluate(
        probes, backend, model, out=out, limit=limit, system=system, options=options, progress=show
    )
    if not quiet:
        click.echo("", err=True)
    for line in summary_lines(report):
        click.echo(line)
    click.echo(f"report: {report['written_to']}", file=sys.stdout)
