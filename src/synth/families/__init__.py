"""Item generators ("families"), one file per family, reasoning-gym style.

A family turns `(world, rng, difficulty, params)` into a `Draw`: the variables a
template renders, the gold answer and the sample's formal form. It is a pure function
of its inputs, so any item can be regenerated alone from its seed. Several templates
may share one family (the same symbolic content, phrased differently).

Families live in one sub-package per tier (`instruction`, `logic`, `ontology`);
importing this package registers them all.
"""

import importlib
import pkgutil

from synth.families.base import FAMILIES, Draw, ItemContext, Scope, family, get_family

for _m in pkgutil.iter_modules(__path__):
    if _m.ispkg:
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["FAMILIES", "Draw", "ItemContext", "Scope", "family", "get_family"]
