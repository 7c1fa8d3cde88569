"""The embedded forms derived from the model: every foreign key has them, no helper hides a property."""

from __future__ import annotations

from odyssee.domain.embedding import embeddings
from odyssee.model.registry import registry


def test_every_foreign_key_has_its_embedded_forms() -> None:
    for spec in registry():
        for embedding in embeddings(spec):
            assert spec.navigation(embedding.node) is not None
            if embedding.code is not None:
                assert spec.field(embedding.code) is None, "a helper name never hides a property"
    project = registry().lookup("Project")
    assert project is not None
    codes = {e.code for e in embeddings(project)}
    assert {"company_code", "project_type_code", "_parent_reference_back_office"} <= codes
