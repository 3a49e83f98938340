"""The `features` mapping of dataset_info.json, written without importing `datasets`
(it is a heavy import and only readers need it)."""

from __future__ import annotations

import pyarrow as pa

_VALUE = {
    pa.string(): "string",
    pa.large_string(): "large_string",
    pa.int16(): "int16",
    pa.int32(): "int32",
    pa.int64(): "int64",
    pa.float32(): "float32",
    pa.float64(): "float64",
    pa.bool_(): "bool",
}


def _feature(t: pa.DataType) -> object:
    if t in _VALUE:
        return {"dtype": _VALUE[t], "_type": "Value"}
    if pa.types.is_list(t):
        return {"feature": _feature(t.value_type), "_type": "List"}
    if pa.types.is_struct(t):
        return {f.name: _feature(f.type) for f in t}
    raise TypeError(f"no datasets feature for {t}")


def features_of(schema: pa.Schema) -> dict:
    return {f.name: _feature(f.type) for f in schema}
