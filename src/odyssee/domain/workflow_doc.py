"""docs/workflow.md, generated from the transition table so that the picture and the rules can
never disagree: ``uv run python -m odyssee.domain.workflow_doc > docs/workflow.md``
(tests/domain/test_workflow.py fails when the file is stale)."""

from __future__ import annotations

from odyssee.domain.workflow import ACCEPT, CHOICES, INITIAL, REJECT, STATUS_ID, STATUS_NAME, TRANSITIONS

_INTRO = """# The job-status workflow

Generated from `TRANSITIONS` in `src/odyssee/domain/workflow.py` by
`uv run python -m odyssee.domain.workflow_doc > docs/workflow.md`. To change the workflow,
edit that table (one line per status) and regenerate this file.

Every way of changing a job's status goes through the same engine, so no client can put a job
where this table does not lead: `PUT`/`PATCH /api/Jobs(<id>)` with a new `job_status_id`, the
actions below, and `PUT /api/Jobs/ChangeToVirtualStatus`. A forbidden change is a **409**
`TransitionNotAllowed` whose `details` list the allowed next statuses (name and GUID). Each
change locks the job row and re-checks its current status, so of two concurrent changes from
the same status exactly one wins; the other gets the 409.

## Diagram

Solid arrows are the seed's rules (`seeds/job-status-workflow.txt`); dotted arrows are the
choices made where it is silent (listed below).
"""

_ACTIONS = """
## Actions

| request | body | effect |
|---|---|---|
| `POST /api/Jobs(<id>)/Dispatch` | `{"user_ids": ["<user guid>"]}` (exactly one) | → Dispatched; sets `user_id`; logs the assignment |
| `POST /api/Jobs(<id>)/Workshop` | `{"user_ids": ["<guid>", …]}` (one or more) | → Workshop; logs one assignment per user |
| `POST /api/Jobs(<id>)/Accept` | none | Dispatched → Planned, Workshop → Workshop in queue |
| `POST /api/Jobs(<id>)/Reject` | `{"reason": "…"}` (required) | Dispatched → Dispatch - Rejected (workshop jobs cannot be rejected) |
| `PUT /api/Jobs/ChangeToVirtualStatus` | `{"jobs_id": …, "target_job_status_id": …}` or `{"jobs_id": …, "target_job_status_code": "ERP_IMP"}` | a Completed job → a virtual status under Completed |
| `GET /api/Jobs(<id>)/NextStatuses` | none | reads the statuses the job may move to now: `{"value": [{"id", "code", "name", "action"}]}`, `action` being `PATCH` (send `job_status_id`), `Dispatch`, `Workshop`, `Accept` or `Reject`; Accept/Reject only for someone who may answer the assignment |

Each answers with the job as it now is. Jobs may also be addressed by ERP key:
`Jobs(reference_back_office='WO-1')/Accept`.

## Guards

* **Dispatched** needs exactly one assigned user (`/Dispatch` with one user id, or a PATCH that
  sets `user_id` with the status); **Workshop** needs at least one.
* **Accept** and **Reject** may be done by a user the job is assigned to, or by an API user
  acting for them. **Reject** needs a reason, so it is only possible through `/Reject`.
* A **new job** starts in Open or directly in one of Open's successors ({initial}), the guards
  applying; an import of a finished job walks the path (Open → To be Planned → Planned →
  In Progress → Completed) like any client.
* A PATCH that keeps the status is not a transition: it records nothing.
* **Technicians** (non-API logins) see only the jobs assigned to them — their own `user_id`, or
  an active dispatch or workshop assignment — in lists, counts and expansions, and get **403**
  for any other job, read or write.

## Virtual statuses

A tenant adds its own statuses under Completed: `POST /api/JobStatus` with
`{"code": "ERP_IMP", "name": "Imported in ERP", "parent_id": "{completed}"}`. The workflow
treats a job in a virtual status as Completed; `ChangeToVirtualStatus` moves a Completed job (or
one already in a virtual status) there. The 17 system statuses cannot be changed (405).

## Records

* `JobStatusHistory` — one row per change: `jobs_id`, `from_job_status_id` (empty for a new job),
  `to_job_status_id`, `user_id` (the technician, empty for API users), `username`,
  `date_change`, `reason`.
* `JobDispatchLog` — one row per assigned user of each dispatch or workshop assignment:
  `is_workshop`, `is_accepted`, `is_rejected`, `reject_reason`, `date_dispatched`,
  `date_proceeded`, `is_active` (false once a later dispatch, reopening or cancel replaced it).

Both are read-only and filterable like every entity:
`GET /api/JobStatusHistory?$filter=jobs_id eq <id>&$orderby=date_change`.
"""


def _node(code: str) -> str:
    return f'{code}["{STATUS_NAME[code]}"]'


def mermaid() -> str:
    lines = ["```mermaid", "flowchart TD"]
    for code in TRANSITIONS:
        lines.append(f"    {_node(code)}")
    for source, targets in TRANSITIONS.items():
        for target in targets:
            label = ""
            if ACCEPT.get(source) == target:
                label = "|accept|"
            elif REJECT.get(source) == target:
                label = "|reject|"
            arrow = "-.->" if (source, target) in CHOICES else "-->"
            lines.append(f"    {source} {arrow}{label} {target}")
    lines.append("```")
    return "\n".join(lines)


def table() -> str:
    rows = ["| status | GUID | may move to |", "|---|---|---|"]
    for code, targets in TRANSITIONS.items():
        following = ", ".join(STATUS_NAME[t] for t in targets) or "— (final)"
        rows.append(f"| {STATUS_NAME[code]} | `{STATUS_ID[code]}` | {following} |")
    return "\n".join(rows)


def choices() -> str:
    rows = ["| from | to | why |", "|---|---|---|"]
    rows += [f"| {STATUS_NAME[a]} | {STATUS_NAME[b]} | {why} |" for (a, b), why in CHOICES.items()]
    return "\n".join(rows)


def document() -> str:
    actions = _ACTIONS.replace("{initial}", ", ".join(STATUS_NAME[c] for c in INITIAL[1:])).replace(
        "{completed}", str(STATUS_ID["COMPLETED"])
    )
    return (
        f"{_INTRO}\n{mermaid()}\n\n## Transition table\n\n{table()}\n\n"
        f"## Choices where the seed is silent\n\n"
        f"Each is one entry in `TRANSITIONS` (and one in `CHOICES`, which explains it).\n\n{choices()}\n{actions}"
    )


if __name__ == "__main__":
    print(document(), end="")
