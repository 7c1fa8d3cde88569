"""The workflow table itself: it covers the 17 statuses, encodes the seed, and its document is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from odyssee.domain import workflow, workflow_doc
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES

SEED = {
    ("OPEN", "TO_BE_PLANNED"), ("OPEN", "POOLING"), ("OPEN", "SUGGESTED"), ("OPEN", "DISPATCHED"), ("OPEN", "WORKSHOP"),
    ("TO_BE_PLANNED", "PLANNED"), ("POOLING", "PLANNED"), ("SUGGESTED", "PLANNED"),
    ("DISPATCHED", "PLANNED"), ("DISPATCHED", "DISPATCH_REJECTED"),
    *((s, t) for s in ("PLANNED", "DISPATCH_REJECTED")
      for t in ("CANCELED", "OPEN", "TO_BE_PLANNED", "POOLING", "SUGGESTED", "DISPATCHED")),
    ("PLANNED", "IN_PROGRESS"), ("IN_PROGRESS", "WAITING_FURTHER_ACTIONS"), ("IN_PROGRESS", "COMPLETED"),
    ("WORKSHOP", "WORKSHOP_IN_QUEUE"), ("WORKSHOP_IN_QUEUE", "IN_PROGRESS_W"),
    ("IN_PROGRESS_W", "WORKSHOP_WAITING_FURTHER_ACTION"), ("IN_PROGRESS_W", "WORKSHOP_COMPLETED"),
}  # fmt: skip
"""seeds/job-status-workflow.txt, sentence by sentence."""


def test_the_table_covers_every_system_status() -> None:
    assert set(workflow.TRANSITIONS) == {status.code for status in SYSTEM_JOB_STATUSES}
    for targets in workflow.TRANSITIONS.values():
        assert set(targets) <= set(workflow.TRANSITIONS)


def test_the_table_is_the_seed_plus_documented_choices() -> None:
    pairs = {(s, t) for s, targets in workflow.TRANSITIONS.items() for t in targets}
    assert pairs >= SEED, "every rule of the seed"
    assert pairs - SEED == set(workflow.CHOICES), "anything else is a documented choice"
    assert workflow.TRANSITIONS["WORKSHOP"].count("DISPATCH_REJECTED") == 0, "no reject for workshop jobs"


def test_imports_walk_the_shortest_unguarded_path() -> None:
    assert workflow.path_to("COMPLETED") == ["TO_BE_PLANNED", "PLANNED", "IN_PROGRESS", "COMPLETED"]
    assert workflow.path_to("DISPATCHED") == ["DISPATCHED"]
    with pytest.raises(ValueError, match="cannot be reached"):
        workflow.path_to("WORKSHOP_COMPLETED")  # behind the Workshop guard: needs /Workshop


def test_the_document_is_generated_from_the_table() -> None:
    text = (Path(__file__).parents[2] / "docs" / "workflow.md").read_text()
    assert text == workflow_doc.document(), "run: uv run python -m odyssee.domain.workflow_doc > docs/workflow.md"
    assert "DISPATCHED -->|reject| DISPATCH_REJECTED" in text
