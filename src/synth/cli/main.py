"""The `synth` group and the one place user mistakes become one line.

Every command is a thin wrapper over the library call of the same name, so what the CLI
does a script can do too. A `UserError` (a bad option, config, template or file) prints
`synth: error: ...` and exits 2; a `RunStopped` (interrupt, disk full, a filter that
rejects everything) prints `synth: stopped: ...` and exits 1. Never a traceback for
either, whether a command runs under the group or on its own (tests invoke commands
directly).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from synth.errors import RunStopped, UserError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


MAX_LINE = 400  # characters of a message: what a file put in it is cut, never printed whole


def one_line(e: BaseException) -> str:
    """The message as one line of at most MAX_LINE characters (a value quoted from a
    file may hold newlines, or megabytes)."""
    text = " ".join(str(e).split())
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


@contextmanager
def one_line_errors() -> Iterator[None]:
    try:
        yield
    except UserError as e:
        click.echo(f"synth: error: {one_line(e)}", err=True)
        sys.exit(UserError.exit_code)
    except RunStopped as e:
        click.echo(f"synth: stopped: {one_line(e)}", err=True)
        sys.exit(RunStopped.exit_code)


class Command(click.Command):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


class Group(click.Group):
    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", CONTEXT)
        super().__init__(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with one_line_errors():
            return super().invoke(ctx)


Group.group_class = Group  # sub-groups (`synth curriculum`, `synth templates`) are Groups too


@click.group(cls=Group)
@click.version_option(package_name="synth")
def cli() -> None:
    """Synthetic fine-tuning corpora from a seeded world, ordered as a curriculum.

    \b
    Start here:
      synth generate --tier command --out outputs/command --tokens 5M
      python -c "import datasets; print(datasets.load_from_disk('outputs/command'))"

    \b
    Tiers (what the corpus changes in a model, and its default token budget):
      command     behaviour: commands, formats, symbolic mappings       100M
      structural  reasoning: multi-step deduction, new logics            1B
      ontology    knowledge: a whole synthetic world and its rules       10B
    """
