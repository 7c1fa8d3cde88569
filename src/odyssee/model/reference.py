"""The entity reference (docs/entities.md), generated from the registry so it can never drift.

Regenerate with ``uv run python -m odyssee.model.reference > docs/entities.md``; a test fails
when the committed file differs.
"""

from __future__ import annotations

from odyssee.model.base import Deletion
from odyssee.model.registry import EntitySpec, Field, Kind, registry

_DELETION = {
    Deletion.HARD: "DELETE removes the row (409 while other rows reference it)",
    Deletion.LOGICAL: "DELETE sets `sys_logical_delete` and bumps `modified_dateutc`",
    Deletion.FORBIDDEN: "DELETE is refused with 405",
}


def _rules(spec: EntitySpec, field: Field) -> str:
    rules: list[str] = []
    if field.is_key:
        rules.append("key; may be given on create")
    if field.required:
        default = " (or the `is_default` row)" if field.references and _has_default_row(field) else ""
        rules.append(f"required{default}")
    if field.read_only and not field.is_key:
        rules.append("read-only")
    if field.max_length:
        rules.append(f"max {field.max_length}")
    if field.minimum is not None or field.maximum is not None:
        low = "…" if field.minimum is None else field.minimum
        high = "…" if field.maximum is None else field.maximum
        rules.append(f"range {low}–{high}")
    if field.references:
        rules.append(f"→ {registry().by_table(field.references).name}")
    if field.name == spec.options.erp_key:
        rules.append("ERP key, unique when not empty")
    if field.name in spec.options.unique:
        rules.append("unique when not empty")
    if field.kind is Kind.BOOLEAN and field.default:
        rules.append("default true")
    if field.default_now:
        rules.append("default: now")
    return "; ".join(rules)


def _has_default_row(field: Field) -> bool:
    return "is_default" in registry().by_table(field.references or "").table.c


def markdown() -> str:
    lines = [
        "# Entities",
        "",
        "Generated from the entity model by `uv run python -m odyssee.model.reference`; do not edit by hand.",
        "Every entity is served at `/api/<Controller>` and `/api/<Controller>(<id>)` (see docs/api.md).",
        'Types are OData (Edm) types. No property is ever null: unset values are `""`, `0`, `false`,',
        "`1980-01-01T00:00:00.000Z` or the empty GUID `00000000-0000-0000-0000-000000000000`.",
        "",
    ]
    for spec in registry():
        notes = [_DELETION[spec.options.deletion]]
        if spec.options.read_only:
            notes = ["read-only: maintained by the server"]
        lines += [
            f"## {spec.name}",
            "",
            f"{spec.options.description} Table `{spec.table_name}`. {'; '.join(notes)}.",
            "",
        ]
        lines += ["| property | type | rules | notes |", "|---|---|---|---|"]
        for field in spec.fields:
            lines.append(f"| `{field.name}` | {field.kind.value} | {_rules(spec, field)} | {field.doc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
