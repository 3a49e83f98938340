"""Instruction families: the command tier (commands, output formats, verifiable
symbolic mappings). One module per family; each has a pure item generator and a
`score(answer, expected) -> bool` next to it, collected in `SCORERS` by family name.

The reply of every sample ends with `Answer: <expected>` when the expected output is one
line; a multi-line expected output (JSON, tables, code) appears verbatim in a fenced
block instead.
"""

from synth.families.instruction import (
    code_transform,
    command_program,
    list_ops,
    number_format,
    record_format,
    string_transform,
    symbolic_mapping,
)

_MODULES = (
    code_transform,
    command_program,
    list_ops,
    number_format,
    record_format,
    string_transform,
    symbolic_mapping,
)

SCORERS = {m.FAMILY: m.score for m in _MODULES}

__all__ = ["SCORERS"]
