"""The folder tree is the architecture: packages import downwards only (no circle
between packages) and never another package's private names. Read from the source with
`ast`, so a new import that breaks the layering fails here, not in review."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import synth

SRC = Path(synth.__file__).parent


def _imports() -> list[tuple[str, str, list[str], str]]:
    """(importing module, imported module, names, file) for every `synth.*` import."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        mod = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
        mod = mod.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("synth"):
                out.append((mod, node.module, [a.name for a in node.names], str(path)))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("synth."):
                        out.append((mod, a.name, [], str(path)))
    return out


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_circle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst, names, _ in _imports():
        a, b = _package(src), _package(dst)
        if b == "" and names:  # `from synth import x`: the module synth.x
            b = names[0]
        if a and b and a != b:
            graph[a].add(b)
    # `synth/__init__` exports `synth.generate` lazily: the one arrow up, by design
    graph.pop("", None)
    seen: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        seen[n] = 1
        for m in sorted(graph.get(n, ())):
            assert seen.get(m) != 1, "import circle: " + " -> ".join([*path, n, m])
            if m not in seen:
                visit(m, [*path, n])
        seen[n] = 2

    for n in sorted(graph):
        if n not in seen:
            visit(n, [])


def test_no_package_imports_another_packages_private_names():
    for src, dst, names, path in _imports():
        if _package(src) == _package(dst):
            continue
        private = [n for n in names if n.startswith("_") and n != "__version__"]
        assert not private, f"{path}: imports {private} from {dst}"
