from pathlib import Path

from odyssee.model.reference import markdown
from odyssee.model.registry import registry

DOCS = Path(__file__).parents[2] / "docs" / "entities.md"


def test_entity_reference_is_current() -> None:
    assert DOCS.read_text() == markdown(), "regenerate: uv run python -m odyssee.model.reference > docs/entities.md"


def test_every_controller_and_property_is_documented() -> None:
    text = DOCS.read_text()
    for spec in registry():
        assert f"## {spec.name}\n" in text
        for field in spec.fields:
            assert f"| `{field.name}` |" in text
