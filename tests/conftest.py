"""Shared fixtures. Tests mirror the package (tests/generation/ for synth.generation, ...);
`rederive.py` beside this file is the independent oracle every folder imports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import synth

sys.path.insert(0, str(Path(__file__).parent))  # `from rederive import rederive` in every folder

SMALL = {"command": "300k", "structural": "300k", "ontology": "400k"}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Small corpora, one per tier, generated once per test session."""
    made: dict[str, tuple] = {}

    def get(tier: str, seed: int = 0, tokens: str | None = None, workers: int = 1):
        key = (tier, seed, tokens, workers)
        if key not in made:
            out = tmp_path_factory.mktemp(f"{tier}-{seed}-{workers}")
            m = synth.generate(
                synth.GenerateConfig(
                    tier=tier,
                    out=str(out),
                    tokens=tokens or SMALL[tier],
                    seed=seed,
                    workers=workers,
                    progress=False,
                )
            )
            made[key] = (out, m)
        return made[key]

    return get
