"""The Ray executor on a real local Ray cluster gives the local executor's bytes."""

from __future__ import annotations

import hashlib

import pytest

import synth

ray = pytest.importorskip(
    "ray", reason="the Ray executor is an optional extra: pip install 'synth[ray]'"
)


def digest(out) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("data-*.arrow"))]


def test_ray_matches_local(tmp_path):
    kw = dict(tier="ontology", tokens="250k", shard_tokens="100k", seed=5, progress=False)
    local = synth.generate(synth.GenerateConfig(out=str(tmp_path / "local"), workers=1, **kw))
    on_ray = synth.generate(
        synth.GenerateConfig(out=str(tmp_path / "ray"), workers=2, executor="ray", **kw)
    )
    assert local["totals"] == on_ray["totals"]
    assert digest(tmp_path / "local") == digest(tmp_path / "ray")
    assert len(digest(tmp_path / "ray")) >= 2
    assert not ray.is_initialized(), "a cluster started for the run is shut down after it"
