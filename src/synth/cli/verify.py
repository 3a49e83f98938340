"""`synth verify OUT`: a corpus folder checked against its manifest."""

from __future__ import annotations

import click

from synth.cli.main import Command


@click.command(cls=Command)
@click.argument("out", type=click.Path(file_okay=False))
def verify(out: str) -> None:
    """Check a corpus folder against its manifest: every shard present, sha256, rows
    and tokens. Exits 1 on any mismatch."""
    from pathlib import Path

    from synth.shards.verify import verify_corpus

    problems = verify_corpus(Path(out))
    if problems:
        for p in problems:
            click.echo(f"  {p}", err=True)
        click.echo(f"{out}: {len(problems)} problem(s)", err=True)
        raise SystemExit(1)
    click.echo(f"{out}: all shards match the manifest")
