"""Options more than one command takes, declared once."""

from __future__ import annotations

from collections.abc import Callable

import click


def server_options(f: Callable) -> Callable:
    """`--base-url` and `--api-key-env`, as every command that may talk to a server takes them."""
    f = click.option(
        "--api-key-env",
        default=None,
        metavar="NAME",
        help="openai backend: environment variable holding the API key (default OPENAI_API_KEY; local servers need none).",
    )(f)
    return click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="openai backend: the server, e.g. http://127.0.0.1:8000/v1.",
    )(f)
