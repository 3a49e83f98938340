"""`synth generate`: a corpus for a tier (a wrapper over `synth.generate`)."""

from __future__ import annotations

import shlex
import sys

import click

from synth.cli.main import Command
from synth.cli.options import server_options


@click.command(cls=Command)
@click.option(
    "--tier",
    default="command",
    show_default=True,
    metavar="TIER",
    help="command, structural or ontology, or a curricula YAML file of your own.",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    help="Output folder: Arrow shards, manifest.json, eval/ probes. Re-running the same command resumes.",
)
@click.option(
    "--tokens",
    metavar="N",
    help="Token budget, e.g. 20000, 5M, 1.5B (default: the tier's budget). "
    "Counted in the target tokenizer on exactly the text a trainer sees.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Same seed and config give the same bytes.",
)
@click.option(
    "--workers",
    type=int,
    metavar="N",
    help="Worker processes (default: all cores). Does not change the output.",
)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; ray: tasks on a Ray cluster (pip install 'synth[ray]').",
)
@click.option(
    "--ray-address",
    metavar="ADDR",
    help="An existing Ray cluster (default: start a local one for the run).",
)
@click.option(
    "--shard-tokens",
    default="100M",
    show_default=True,
    metavar="N",
    help="Close a shard at the row that brings it to this many tokens (or 500 MB).",
)
@click.option(
    "--tokenizer",
    default="qwen2.5",
    show_default=True,
    metavar="NAME|PATH",
    help="Built-in qwen2.5, or a local tokenizer.json / model folder.",
)
@click.option(
    "--model-format",
    default=None,
    metavar="FORMAT",
    help="Chat format applied to chat samples: qwen2.5 (ChatML with Qwen's default system prompt), "
    "chatml, llama3, saiga_mistral, mistral_nemo, or hf:DIR (a local tokenizer's chat template). "
    "Default: inferred from --model, else qwen2.5.",
)
@click.option(
    "--system-prompt",
    default=None,
    metavar="saiga|none|TEXT",
    help="System prompt for chat samples that have none: saiga (Saiga's Russian prompt) or your text.",
)
@click.option(
    "--backend",
    default="template",
    show_default=True,
    help="template: the render is the sample (no GPU). LLM backends realise and verify samples: "
    "hf (transformers, CPU or GPU), openai (any OpenAI-compatible server), vllm (GPUs). See docs/llm.md.",
)
@click.option(
    "--model",
    default=None,
    metavar="NAME|PATH",
    help="Model for LLM backends (hf: a folder or .gguf file).",
)
@click.option(
    "--realise",
    default=None,
    type=click.Choice(["answer", "paraphrase", "persona", "none"]),
    help="LLM backends: how templates without a `realise:` line are realised (default: the tier's `realise:`). "
    "answer: the model answers the question; paraphrase: rewords it; persona: rewrites the reply in a voice.",
)
@server_options
@click.option(
    "--llm-option",
    "llm_option",
    multiple=True,
    metavar="KEY=VALUE",
    help="LLM backend option (repeatable): temperature, max_tokens, retries, concurrency, tensor_parallel_size, ...",
)
@click.option(
    "--lang",
    default="en",
    show_default=True,
    metavar="LANGS",
    help="Language(s) of the samples: en, ru, or shares such as en:0.7,ru:0.3. "
    "The same item gives the same facts and answer in every language.",
)
@click.option(
    "--world",
    metavar="FILE",
    help="Teach your own world: a world spec (.yaml) or an ontology (.ttl, .owl, .rdf, .nt, .jsonld). "
    "Default: a fictional world drawn from the seed.",
)
@click.option(
    "--templates",
    "templates",
    multiple=True,
    metavar="DIR",
    help="Add a template pack (repeatable).",
)
@click.option(
    "--templates-only", is_flag=True, help="Use only the --templates packs, not the built-in one."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace the synth output already in --out: removes exactly the files synth wrote "
    "there (listed in its manifest), never other files.",
)
@click.option(
    "--checkpoint-every",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Save resume state this often (and whenever a shard closes).",
)
@click.option(
    "--allow-repeat",
    is_flag=True,
    help="Generate past what the world can say (its capacity): its facts are told more often than the tier's design.",
)
@click.option(
    "--preview",
    type=int,
    metavar="N",
    help="Realise the run's first N items and print each prompt, reply and verdict; "
    "writes nothing to --out. Judge a model and prompt in a minute before a long run.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def generate(**kw) -> None:
    """Generate a corpus for a tier.

    \b
    Examples:
      synth generate --tier command    --out outputs/command    --tokens 5M
      synth generate --tier structural --out outputs/structural --tokens 50M --workers 8
      synth generate --tier ontology   --out outputs/ontology   # the full 10B budget

    The output folder opens with datasets.load_from_disk(DIR); rows are in
    curriculum order, so read shards in order (no global shuffle).
    """
    from synth.backends.options import parse_llm_options
    from synth.generation import GenerateConfig
    from synth.generation import generate as run

    quiet = kw.pop("quiet")
    n_preview = kw.pop("preview")
    kw["llm_options"] = parse_llm_options(kw.pop("llm_option"))
    cfg = GenerateConfig(
        **{**kw, "templates": list(kw["templates"])},
        progress=not quiet,
        command_line=shlex.join(["synth", *sys.argv[1:]]),
    )
    if n_preview is not None:
        show_preview(cfg, n_preview)
        return
    m = run(cfg)
    t = m["totals"]
    click.echo(
        f"{kw['out']}: {t['rows']:,} rows, {t['tokens']:,} tokens in {t['shards']} shard(s); "
        f"eval probes in {kw['out']}/eval"
    )
    note = rejection_note(m)
    if note:
        click.echo(f"synth: note: {note}", err=True)


REJECTED_NOTE_SHARE = 0.3  # the default tiers reject 0.5-21%


def rejection_note(manifest: dict) -> str | None:
    """One line when filters threw away much of what was drawn. The corpus still meets its
    budget, but mostly-duplicate draws mean the world is too small for the budget: the
    corpus says the same things over and over (or a filter band does not fit the data)."""
    from synth.generation.run import ledger_text, rejected_share

    t = manifest["totals"]
    share = rejected_share(t["rejected"], t["drawn"])
    if share < REJECTED_NOTE_SHARE:
        return None
    reasons: dict[str, int] = {}
    for side in ("sample", "corpus"):
        for r, n in manifest["filters"].get(side, {}).get("rejected", {}).items():
            reasons[r] = reasons.get(r, 0) + n
    top = sorted(reasons.items(), key=lambda rn: (-rn[1], rn[0]))[:3]
    line = "filters " + ledger_text(t["rejected"], t["drawn"])
    line += f" ({', '.join(f'{r} {n:,}' for r, n in top)})" if top else ""
    dups = reasons.get("exact_dup", 0) + reasons.get("near_dup", 0)
    if dups * 2 >= sum(reasons.values()) > 0:
        line += (
            ", mostly as duplicates: the world is small for this budget, so the corpus"
            " repeats it (a larger world or a smaller --tokens gives fewer repeats)"
        )
    return line + "; manifest.json → filters has every count"


def show_preview(cfg, n: int) -> None:
    """`--preview N`: each item's prompt, every reply with its verdict, and what the run
    would do with the row; then one line of totals."""
    from synth.generation.preview import preview
    from synth.units import human

    items, stats = preview(cfg, n)
    model = f" ({cfg.model})" if cfg.model else ""
    click.echo(
        f"synth generate --preview {n}: {cfg.tier}, --backend {cfg.backend}{model}; "
        f"nothing is written to {cfg.out}"
    )
    for it in items:
        gold = f", gold {it.gold}" if it.gold is not None else ""
        click.echo(
            f"\n[{it.index + 1}/{len(items)}] {it.id}: stage {it.stage}, "
            f"difficulty {it.difficulty}{gold}"
        )
        if it.mode is None:
            click.echo("  no realisation mode: the row keeps its render")
        else:
            click.echo(f"  realise: {it.mode}")
            for m in it.prompt:
                click.echo(f"  prompt ({m['role']}):")
                click.echo(_indent(m["content"]))
            for k, a in enumerate(it.attempts, 1):
                verdict = "verified" if a["verdict"] is None else f"rejected: {a['verdict']}"
                click.echo(f"  reply {k} ({verdict}):")
                click.echo(_indent(a["reply"] or "(empty)"))
        if it.verdict is None:
            click.echo(f"  verdict: kept ({it.tokens:,} tokens)")
        else:
            click.echo(f"  verdict: rejected ({it.verdict})")
        if it.mode is None or cfg.backend == "template":
            click.echo("  row:")
            click.echo(_indent(it.text))
    kept = sum(1 for it in items if it.verdict is None)
    reasons: dict[str, int] = {}
    for it in items:
        if it.verdict is not None:
            reasons[it.verdict] = reasons.get(it.verdict, 0) + 1
    why = ", ".join(f"{r} {k}" for r, k in sorted(reasons.items(), key=lambda rk: (-rk[1], rk[0])))
    line = f"\n{len(items)} items: {kept} kept, {len(items) - kept} rejected" + (
        f" ({why})" if why else ""
    )
    if stats.get("asked"):
        secs = stats.get("engine_seconds", 0.0)
        rate = f" at {stats['generated_tokens'] / secs:.0f} tok/s" if secs else ""
        line += (
            f"; {stats['asked']:,} requests ({stats.get('cached_hits', 0):,} cached), "
            f"{human(stats.get('generated_tokens', 0))} tokens generated{rate}"
        )
    click.echo(f"{line}; {stats['seconds']:.0f} s")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))
