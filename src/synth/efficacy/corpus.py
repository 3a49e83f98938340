"""Generating an efficacy corpus through synth's real pipeline.

The design (design.py) becomes a curriculum YAML, a template pack and a character
tokenizer in a scratch folder; `synth.generate` does the rest, probes included.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from synth.efficacy.design import Design, write_design
from synth.errors import UserError

DESIGN_FILE = "efficacy-design.json"  # beside the corpus: what it was generated from


def owns(out: Path) -> bool:
    """Whether `out` is empty or holds a corpus `synth efficacy` generated."""
    if not out.exists():
        return True
    if not out.is_dir():
        return False
    names = {p.name for p in out.iterdir()}
    return not names or DESIGN_FILE in names


def generate_corpus(
    design: Design, out: Path, workers: int | None = 1, progress: bool = False
) -> dict:
    """Generate the design's corpus into `out` (replacing an earlier efficacy corpus
    there); returns the manifest."""
    from synth.generation.run import GenerateConfig, generate

    if not owns(out):
        raise UserError(
            f"OUT: {out} holds files that synth efficacy did not generate; choose an empty folder for --tier"
        )
    with tempfile.TemporaryDirectory(prefix="synth-efficacy-") as tmp:
        tier, pack, tok = write_design(design, Path(tmp))
        cfg = GenerateConfig(
            tier=str(tier),
            out=str(out),
            seed=design.seed,
            workers=workers,
            tokenizer=str(tok),
            model_format="chatml",
            system_prompt="none",
            templates=[str(pack)],
            overwrite=True,
            progress=progress,
            command_line=f"synth efficacy (design {json.dumps(design.to_json(), sort_keys=True)})",
        )
        manifest = generate(cfg)
        shutil.copy(tier, out / "efficacy-tier.yaml")
    (out / DESIGN_FILE).write_text(json.dumps(design.to_json(), indent=1), encoding="utf-8")
    return manifest
