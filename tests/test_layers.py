"""The package's layers depend one way: model ← odata ← domain ← api; db, worker, web and cli on the side.

A stranger changing a lower layer must be able to trust that no upper layer leaks into it, so
the rule is checked on every module's imports (static, via ``ast``), not left to review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "odyssee"

ALLOWED: dict[str, set[str]] = {
    "model": {"model"},
    "odata": {"model", "odata"},
    "db": {"model", "db", "settings"},
    "domain": {"model", "odata", "db", "domain"},
    "api": {"model", "odata", "db", "domain", "api", "settings", "web"},  # api mounts the console
    "worker": {"model", "odata", "db", "domain", "worker", "settings"},
    "client": {"client", "model"},  # only client/generate.py reads the model; tests/client checks the rest
    "sync": {"sync", "client"},
    "web": {"web", "client", "settings"},  # the console: only the public API, through the SDK
    "cli": {"model", "odata", "db", "domain", "api", "worker", "sync", "client", "cli", "settings"},
}


def _imported_layers(path: Path) -> set[str]:
    layers = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "odyssee" and len(parts) > 1:
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    modules = sorted((PACKAGE / layer).rglob("*.py"))
    assert modules, f"no modules in {layer}"
    wrong = {
        str(path.relative_to(PACKAGE)): sorted(_imported_layers(path) - ALLOWED[layer])
        for path in modules
        if _imported_layers(path) - ALLOWED[layer]
    }
    assert wrong == {}
