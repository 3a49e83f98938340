"""User-facing errors.

A `UserError` is a mistake in what the user gave us (an option, a config, a template,
a file). The CLI prints it as one line and exits with code 2; it never shows a traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in user input; the message names the file, line or option."""

    exit_code = 2


class RunStopped(Exception):
    """A run stopped for an outside reason (disk full, interrupt, a filter that rejects
    everything). What was written stays valid and the run can be resumed."""

    exit_code = 1
