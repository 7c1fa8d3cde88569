"""The jobs grid's form → the OData query the API answers (``$filter``, ``$orderby``, ``$select``,
``$expand``, ``$skiptoken``), as a pure function: the console never filters or sorts rows itself,
so what the grid shows is exactly what an integrator gets with the same query."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from odyssee.client import literal


@dataclass(frozen=True)
class Column:
    """One column the user may show: which properties it reads, and how it sorts."""

    label: str
    select: tuple[str, ...] = ()
    expand: str | None = None
    order: str | None = None
    """The ``$orderby`` path; None when the column cannot be sorted."""


COLUMNS: dict[str, Column] = {
    "id2": Column("#", ("id2",), order="id2"),
    "reference": Column("Reference", ("reference_back_office",), order="reference_back_office"),
    "name": Column("Name", ("name",), order="name"),
    "status": Column("Status", (), "job_status($select=code,name)", "job_status/name"),
    "company": Column("Company", (), "company($select=name)", "company/name"),
    "project": Column("Project", (), "project($select=name)", "project/name"),
    "type": Column("Type", (), "job_type($select=name)", "job_type/name"),
    "priority": Column("Priority", (), "job_priority($select=name)", "job_priority/name"),
    "technician": Column("Technician", (), "user($select=firstname,lastname)", "user/lastname"),
    "planned": Column("Planned", ("date_planned",), order="date_planned"),
    "created": Column("Created", ("date_create",), order="date_create"),
    "hours": Column("Hours", ("estimated_duration",), order="estimated_duration"),
    "customer_reference": Column("Customer ref.", ("customer_reference",), order="customer_reference"),
    "modified": Column("Modified (UTC)", ("modified_dateutc",), order="modified_dateutc"),
}
DEFAULT_COLUMNS = ("id2", "reference", "name", "status", "company", "technician", "planned")
DATE_FIELDS = {"date_planned": "Planned", "date_create": "Created", "modified_dateutc": "Modified"}
PAGE_SIZES = (10, 20, 50, 100)
TEXT_FIELDS = ("name", "reference_back_office", "description", "customer_reference")
"""What the grid's free-text search looks in (case-insensitive ``contains``)."""
_CODE = re.compile(r"^[A-Z_]{1,50}$")


class BadInput(ValueError):
    """A grid parameter the console refuses before calling the API, with a message for the user."""


@dataclass
class GridForm:
    """The grid's parameters, parsed and checked (the query string of ``GET /jobs``)."""

    status: str = ""
    company: str = ""
    project: str = ""
    type: str = ""
    priority: str = ""
    q: str = ""
    date_field: str = "date_planned"
    date_from: str = ""
    date_to: str = ""
    sort: str = "id2"
    dir: str = "desc"
    size: int = 20
    cols: list[str] = field(default_factory=lambda: list(DEFAULT_COLUMNS))
    skiptoken: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str], cols: Sequence[str], default_cols: Sequence[str]) -> GridForm:
        """Read and check the query string; :class:`BadInput` names the first wrong field."""
        form = cls(cols=[c for c in cols if c in COLUMNS] or list(default_cols))
        form.status = params.get("status", "").strip()
        if form.status and not _CODE.match(form.status):
            raise BadInput(f"Unknown status code {form.status!r}.")
        for name in ("company", "project", "type", "priority"):
            value = params.get(name, "").strip()
            if value:
                try:
                    uuid.UUID(value)
                except ValueError:
                    raise BadInput(f"The {name} filter must be one of the listed choices, not {value!r}.") from None
            setattr(form, name, value)
        form.q = params.get("q", "").strip()[:100]
        form.date_field = params.get("date_field", "date_planned")
        if form.date_field not in DATE_FIELDS:
            raise BadInput(f"Dates can filter {', '.join(DATE_FIELDS.values())}; not {form.date_field!r}.")
        for name in ("date_from", "date_to"):
            value = params.get(name, "").strip()
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise BadInput(
                        f"{name.replace('_', ' ').capitalize()} must be a date (YYYY-MM-DD), not {value!r}."
                    ) from None
            setattr(form, name, value)
        if form.date_from and form.date_to and form.date_from > form.date_to:
            raise BadInput("The date range ends before it starts.")
        form.sort = params.get("sort", "id2")
        if form.sort not in COLUMNS or COLUMNS[form.sort].order is None:
            raise BadInput(f"The grid cannot sort by {form.sort!r}.")
        form.dir = params.get("dir", "desc")
        if form.dir not in ("asc", "desc"):
            raise BadInput("The sort direction is asc or desc.")
        try:
            form.size = int(params.get("size", "20"))
        except ValueError:
            raise BadInput("The page size must be a number.") from None
        if form.size not in PAGE_SIZES:
            raise BadInput(f"The page size is one of {', '.join(map(str, PAGE_SIZES))}.")
        form.skiptoken = params.get("skiptoken", "")
        return form

    def conditions(self, *, with_status: bool = True) -> list[str]:
        """The ``$filter`` terms (AND-ed); the status counts use them all but the status."""
        terms = []
        if self.status and with_status:
            terms.append(f"job_status/code eq {literal(self.status)}")
        for name, path in (
            ("company", "company_id"),
            ("project", "project_id"),
            ("type", "job_type_id"),
            ("priority", "job_priority_id"),
        ):
            if getattr(self, name):
                terms.append(f"{path} eq {getattr(self, name)}")
        if self.q:
            needle = literal(self.q.lower())
            terms.append(
                "("
                + " or ".join(
                    f"contains(tolower({p}),{needle})"
                    for p in ("name", "reference_back_office", "description", "customer_reference")
                )
                + ")"
            )
        if self.date_from:
            start = datetime.combine(date.fromisoformat(self.date_from), time())
            terms.append(f"{self.date_field} ge {literal(start)}")
        if self.date_to:
            end = datetime.combine(date.fromisoformat(self.date_to) + timedelta(days=1), time())
            terms.append(f"{self.date_field} lt {literal(end)}")
        return terms

    def query(self) -> dict[str, str]:
        """The OData query options of the page to show. The page size goes in
        ``Prefer: odata.maxpagesize`` (``$top`` would cap the whole result, not one page)."""
        select = ["id"] + [p for c in self.cols for p in COLUMNS[c].select]
        expands = [COLUMNS[c].expand for c in self.cols if COLUMNS[c].expand]
        params = {
            "$select": ",".join(dict.fromkeys(select)),
            "$orderby": f"{COLUMNS[self.sort].order} {self.dir}",
            "$count": "true",
        }
        if expands:
            params["$expand"] = ",".join(e for e in expands if e)
        if terms := self.conditions():
            params["$filter"] = " and ".join(terms)
        if self.skiptoken:
            params["$skiptoken"] = self.skiptoken
        return params

    def status_counts_apply(self) -> str:
        """``$apply`` for the counts per status under the other filters."""
        group = "groupby((job_status/code,job_status/name),aggregate($count as n))"
        terms = self.conditions(with_status=False)
        return f"filter({' and '.join(terms)})/{group}" if terms else group

    def link(self, **changes: str | int | None) -> str:
        """The grid URL with some parameters changed (sort links, paging, status chips)."""
        values: dict[str, str | int | None] = {
            "status": self.status, "company": self.company, "project": self.project, "type": self.type,
            "priority": self.priority, "q": self.q, "date_field": self.date_field, "date_from": self.date_from,
            "date_to": self.date_to, "sort": self.sort, "dir": self.dir, "size": self.size,
        }  # fmt: skip
        values.update(changes)
        pairs = [(k, str(v)) for k, v in values.items() if v not in (None, "")]
        pairs += [("cols", c) for c in self.cols]
        return "/jobs?" + urlencode(pairs)
