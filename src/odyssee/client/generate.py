"""Generate ``odyssee/client/entities.py`` (typed entity dicts) from the server's entity model.

Run ``uv run python -m odyssee.client.generate > src/odyssee/client/entities.py``; a test fails
when the committed file differs. Only this script reads the model: the generated module, like
the rest of the SDK, imports nothing from the server.
"""

from __future__ import annotations

import textwrap

from odyssee.model.registry import EntitySpec, Kind, registry

PYTHON_TYPES: dict[Kind, str] = {
    Kind.GUID: "str",
    Kind.STRING: "str",
    Kind.BOOLEAN: "bool",
    Kind.INT32: "int",
    Kind.DECIMAL: "float",
    Kind.DATETIME: "str",
    Kind.BINARY: "str",
}

HEADER = '''"""Typed entity dicts, one per entity set: generated from the entity model; do not edit by hand.

Regenerate with ``uv run python -m odyssee.client.generate > src/odyssee/client/entities.py``.
Every class is a ``TypedDict`` with ``total=False``: a response holds the properties you selected,
a body the ones you send. GUIDs and datetimes (``2026-11-23T13:08:00.000Z``, UTC) are strings,
bytes are base64 strings. Rows also carry ``@odata.etag``, which a TypedDict cannot name.
"""

from __future__ import annotations

from typing import TypedDict
'''


def class_name(spec: EntitySpec) -> str:
    return f"{spec.name}Dict"


def source() -> str:
    lines = [HEADER]
    specs = list(registry())
    for spec in specs:
        lines += ["", f"class {class_name(spec)}(TypedDict, total=False):"]
        doc = f"{spec.name}: {spec.options.description or 'an entity set.'}"
        wrapped = textwrap.wrap(doc, width=112)
        if len(wrapped) == 1:
            lines.append(f'    """{doc}"""')
        else:
            lines += [f'    """{wrapped[0]}'] + [f"    {line}" for line in wrapped[1:]] + ['    """']
        lines.append("")
        for field in spec.fields:
            if field.write_only:
                continue
            lines.append(f"    {field.name}: {PYTHON_TYPES[field.kind]}")
        lines.append("")
    lines += ["", "ENTITY_SETS: tuple[str, ...] = ("]
    lines += [f'    "{spec.name}",' for spec in specs]
    lines += [")", '"""Every entity set (controller) name."""', ""]
    lines += ["ERP_KEYS: dict[str, str] = {"]
    lines += [f'    "{spec.name}": "{spec.options.erp_key}",' for spec in specs if spec.options.erp_key]
    lines += ["}", '"""The ERP key column of each entity set that has one: ``Company(code=\'C001\')``."""', ""]
    lines += ["ENTITY_TYPES: dict[str, type] = {"]
    lines += [f'    "{spec.name}": {class_name(spec)},' for spec in specs]
    lines += ["}", ""]
    names = ["ENTITY_SETS", "ENTITY_TYPES", "ERP_KEYS", *sorted(class_name(spec) for spec in specs)]
    lines += ["__all__ = ["] + [f'    "{name}",' for name in names] + ["]"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(source(), end="")
