"""The `synth` command: the group (`main.py`) and one file per command.

synth generate | curriculum | verify | templates | filter | qa | export | eval | plan | efficacy
"""

from synth.cli import (
    curriculum,
    efficacy,
    eval,
    export,
    filter,
    generate,
    plan,
    qa,
    templates,
    verify,
)
from synth.cli.main import cli

for _command in (
    generate.generate,
    curriculum.curriculum,
    verify.verify,
    templates.templates,
    filter.filter_cmd,
    qa.qa,
    export.export,
    eval.eval_cmd,
    plan.plan,
    efficacy.efficacy_cmd,
):
    cli.add_command(_command)


def main() -> None:
    cli()


__all__ = ["cli", "main"]
