"""The generated entity types stay current, and the SDK stays independent of the server."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from odyssee.client import generate

CLIENT = Path(__file__).resolve().parents[2] / "src" / "odyssee" / "client"


def test_entities_module_is_current() -> None:
    assert (CLIENT / "entities.py").read_text() == generate.source(), (
        "regenerate: uv run python -m odyssee.client.generate > src/odyssee/client/entities.py"
    )


def test_only_the_generator_reads_the_model() -> None:
    outside: dict[str, list[str]] = {}
    for path in sorted(CLIENT.glob("*.py")):
        if path.name == "generate.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            wrong = [n for n in names if n.startswith("odyssee") and not n.startswith("odyssee.client")]
            wrong += [n for n in names if n.split(".")[0] not in _ALLOWED_TOP]
            if wrong:
                outside[path.name] = wrong
    assert outside == {}


_ALLOWED_TOP = set(sys.stdlib_module_names) | {"httpx", "orjson", "odyssee", "__future__"}


def test_importing_the_sdk_loads_no_server_code() -> None:
    code = (
        "import sys, odyssee.client; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'fastapi', 'starlette') "
        "or (m.startswith('odyssee.') and not m.startswith('odyssee.client'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"
