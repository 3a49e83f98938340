"""Instruction families: the command tier (commands, output formats, verifiable
symbolic mappings). One module per family, each with its Params, a pure item generator
and its `score` beside it (registered together with `@family`).

The reply of every sample ends with `Answer: <expected>` when the expected output is one
line; a multi-line expected output (JSON, tables, code) appears verbatim in a fenced
block instead.
"""

from synth.families.instruction import (  # noqa: F401
    code_transform,
    command_program,
    list_ops,
    number_format,
    record_format,
    string_transform,
    symbolic_mapping,
)
