"""The back-office web console (docs/console.md): server-rendered pages over the public API.

Every screen gets its data by calling ``/api`` through the :mod:`odyssee.client` SDK, in process
(``httpx.ASGITransport`` to the same ASGI app) and with the signed-in user's own credentials, so
authorization, validation and the workflow are the API's: the console cannot do anything an
integrator could not. This package imports only ``odyssee.client`` and ``odyssee.settings``
(tests/test_layers.py), which keeps that promise checkable.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import httpx
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from odyssee.client import AsyncClient, Call, F, ODataError, TooManyRequests, Unauthorized, literal
from odyssee.web.grid import COLUMNS, DATE_FIELDS, DEFAULT_COLUMNS, PAGE_SIZES, BadInput, GridForm
from odyssee.web.sessions import COOKIE, Login, Sessions

HERE = Path(__file__).parent
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
NULL_DATE_PREFIX = "1980-01-01"
POOL_CODES = ("POOLING", "TO_BE_PLANNED")
ACTIONS = ("Dispatch", "Workshop", "Accept", "Reject")
RECENT_ENTITIES = {
    "Jobs": "name",
    "JobApproval": "contact_name",
    "JobStatusHistory": "username",
    "JobDispatchLog": "reject_reason",
    "Company": "name",
    "Project": "name",
    "Contact": "lastname",
    "User": "lastname",
    "Article": "name",
    "DbFile": "name",
}
"""Entity sets of the integration view's recent changes, each with a property that names a row."""
INTERNAL = "http://console.internal"


class Problem(Exception):
    """A console-side refusal (bad form input) shown to the user; nothing was sent to the API."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _date_text(value: Any, with_time: bool = True) -> str:
    """``2026-11-23T08:00:00.000Z`` → ``2026-11-23 08:00``; the API's empty date → nothing."""
    if not isinstance(value, str) or not value or value.startswith(NULL_DATE_PREFIX):
        return ""
    text = value.replace("T", " ")
    return text[:16] if with_time else text[:10]


def _guid_text(value: Any) -> str:
    return "" if value in (None, EMPTY_GUID) else str(value)


def _person(user: Any) -> str:
    if not isinstance(user, dict):
        return ""
    return " ".join(part for part in (user.get("firstname", ""), user.get("lastname", "")) if part)


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["dt"] = _date_text
    env.filters["day"] = lambda v: _date_text(v, with_time=False)
    env.filters["guid"] = _guid_text
    env.filters["person"] = _person
    env.globals.update(COLUMNS=COLUMNS, DATE_FIELDS=DATE_FIELDS, PAGE_SIZES=PAGE_SIZES)
    return env


def _form_of(body: bytes) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (every console form is one)."""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _safe_next(target: str) -> str:
    """Only a path of this site: ``//evil`` or ``https://…`` would be an open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/jobs"


class Console:
    """The console's routes around one API app (the app it is mounted in)."""

    def __init__(self, api_app: ASGIApp) -> None:
        self.api_app = api_app
        self.sessions = Sessions()
        self.env = _templates()

    # -- plumbing -------------------------------------------------------------------------------

    @asynccontextmanager
    async def api(self, request: Request, login: Login) -> AsyncIterator[AsyncClient]:
        """An SDK client that calls this server's ``/api`` in process as ``login``; the caller's
        address is passed on so the API's failed-login throttle sees the real client."""
        peer = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
        transport = httpx.ASGITransport(app=self.api_app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url=INTERNAL, timeout=30.0) as http:
            yield AsyncClient(f"{INTERNAL}/api", login.username, login.password, login.domain, retries=0, http=http)

    def render(self, request: Request, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        login: Login | None = context.get("login")
        flash = []
        if login is not None:
            flash, login.flash = login.flash, []
        html = self.env.get_template(template).render(request=request, flash=flash, **context)
        return HTMLResponse(html, status_code=http_status, headers={"Cache-Control": "no-store"})

    def login_of(self, request: Request) -> Login | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def to_signin(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(f"/signin?next={quote(target)}", status_code=303)
        if request.headers.get("hx-request"):
            response.headers["HX-Redirect"] = f"/signin?next={quote(target)}"
        return response

    def page(
        self, handler: Callable[[Request, Login], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler: signed in or redirected; POSTs checked for CSRF; a 401 from the API
        (password changed, login revoked) ends the session."""

        async def endpoint(request: Request) -> Response:
            login = self.login_of(request)
            if login is None:
                return self.to_signin(request)
            if request.method == "POST":
                form = _form_of(await request.body())
                if not secrets.compare_digest(_one(form, "csrf"), login.csrf) or not self.same_origin(request):
                    return self.render(
                        request,
                        "error.html",
                        403,
                        login=login,
                        status=403,
                        message="This form is stale or came from another site; reload the page and try again.",
                    )
                request.state.form = form
            try:
                return await handler(request, login)
            except Unauthorized:
                self.sessions.end(request.cookies.get(COOKIE))
                return self.to_signin(request)
            except ODataError as error:
                return self.render(
                    request,
                    "error.html",
                    error.status,
                    login=login,
                    status=error.status,
                    message=error.message,
                    code=error.code,
                    details=error.details,
                )
            except Problem as problem:
                return self.render(
                    request, "error.html", problem.status, login=login, status=problem.status, message=problem.message
                )

        return endpoint

    @staticmethod
    def same_origin(request: Request) -> bool:
        """Defence in depth beside SameSite=Strict and the form token: a browser's Origin, when
        sent, must be this host."""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return origin is None
        return origin.split("://", 1)[-1] == request.headers.get("host", "")

    # -- sign in and out ------------------------------------------------------------------------

    async def signin_form(self, request: Request) -> Response:
        return self.render(request, "signin.html", next=_safe_next(request.query_params.get("next", "/jobs")))

    async def signin(self, request: Request) -> Response:
        form = _form_of(await request.body())
        domain, username, password = _one(form, "domain"), _one(form, "username"), (form.get("password") or [""])[0]
        target = _safe_next(_one(form, "next") or "/jobs")
        values = {"domain": domain, "username": username, "next": target}
        if not self.same_origin(request):
            return self.render(request, "signin.html", 403, error="This sign-in form came from another site.", **values)
        if not (domain and username and password):
            return self.render(
                request, "signin.html", 400, error="Give the domain, the user name and the password.", **values
            )
        login = Login(username=username, password=password, domain=domain)
        try:
            async with self.api(request, login) as client:
                await client.request(Call("GET", client.root))  # the service document: one cheap authenticated call
        except Unauthorized:
            return self.render(request, "signin.html", 401, error="Wrong domain, user name or password.", **values)
        except TooManyRequests as error:
            return self.render(request, "signin.html", 429, error=error.message, **values)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE, self.sessions.start(login), httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )
        return response

    async def signout(self, request: Request, login: Login) -> Response:
        self.sessions.end(request.cookies.get(COOKIE))
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    # -- jobs grid ------------------------------------------------------------------------------

    async def jobs(self, request: Request, login: Login) -> Response:
        params = request.query_params
        if "cols" in params:
            login.columns = [c for c in params.getlist("cols") if c in COLUMNS]
        try:
            grid = GridForm.parse(params, login.columns, DEFAULT_COLUMNS)
        except BadInput as error:
            grid = GridForm(cols=login.columns or list(DEFAULT_COLUMNS))
            problem: str | None = str(error)
        else:
            problem = None
        async with self.api(request, login) as client:
            choices = await self.grid_choices(client)
            if problem is not None:
                return self.render(
                    request,
                    "jobs.html",
                    400,
                    login=login,
                    grid=grid,
                    error=problem,
                    rows=[],
                    count=None,
                    counts=[],
                    next_link=None,
                    **choices,
                )
            query = client.set("Jobs").page_size(grid.size)
            for name, value in grid.query().items():
                query = query.param(name, value)
            counts_query = client.set("Jobs").param("$apply", grid.status_counts_apply())
            page, counts = await asyncio.gather(query.page(), counts_query.list())
        counts.sort(key=lambda row: -int(row.get("n", 0)))
        return self.render(
            request,
            "jobs.html",
            login=login,
            grid=grid,
            rows=page.rows,
            count=page.count,
            next_link=grid.link(skiptoken=page.skiptoken) if page.skiptoken else None,
            first_link=grid.link() if grid.skiptoken else None,
            counts=counts,
            error=None,
            **choices,
        )

    @staticmethod
    async def grid_choices(client: AsyncClient) -> dict[str, Any]:
        """The filter drop-downs, from the API (at most 500 of each, by name)."""
        statuses, companies, projects, types, priorities = await asyncio.gather(
            client.set("JobStatus").select("id", "code", "name").order_by("sequence", "name").page_size(500).page(),
            client.set("Company").select("id", "name").order_by("name").page_size(500).page(),
            client.set("Project").select("id", "name").order_by("name").page_size(500).page(),
            client.set("JobType").select("id", "name").order_by("name").page_size(500).page(),
            client.set("JobPriority").select("id", "name").order_by("sequence", "name").page_size(500).page(),
        )
        return {
            "statuses": statuses.rows,
            "companies": companies.rows,
            "projects": projects.rows,
            "types": types.rows,
            "priorities": priorities.rows,
        }

    # -- job detail -----------------------------------------------------------------------------

    async def job(self, request: Request, login: Login) -> Response:
        job_id = str(request.path_params["id"])
        async with self.api(request, login) as client:
            return self.render(request, "job.html", login=login, **await self.job_context(client, job_id))

    @staticmethod
    async def job_context(client: AsyncClient, job_id: str) -> dict[str, Any]:
        """Everything the detail page shows: the job, its allowed moves, its records."""
        expand = (
            "company($select=name,code)",
            "project($select=name,reference_back_office)",
            "contact($select=firstname,lastname)",
            "job_type($select=name)",
            "job_priority($select=name)",
            "job_status($select=code,name)",
            "user($select=firstname,lastname,code)",
        )
        of_job = F("jobs_id") == uuid.UUID(job_id)
        file_fields = ("id", "name", "file_name", "mime_type", "file_size", "id_in_table", "file_type_name")
        queries = {
            "history": client.set("JobStatusHistory")
            .filter(of_job)
            .expand("from_job_status($select=name)", "to_job_status($select=name)")
            .order_by("date_change", "id"),
            "dispatch_log": client.set("JobDispatchLog")
            .filter(of_job)
            .expand("user($select=firstname,lastname)")
            .order_by("date_dispatched", "id"),
            "parts": client.set("JobPartUsage").filter(of_job).order_by("id"),
            "labour": client.set("JobNonPartUsage")
            .filter(of_job)
            .expand("hour_type($select=code)")
            .order_by("working_date"),
            "approvals": client.set("JobApproval")
            .filter(of_job)
            .select("id", "contact_name", "customer_remarks", "date_generated", "is_signed", "is_daily_approval")
            .select("rating")
            .order_by("date_generated"),
            "users": client.set("User")
            .filter("archived eq false and disabled eq false")
            .select("id", "firstname", "lastname", "code")
            .order_by("lastname", "firstname"),
            "files": client.set("DbFile")
            .filter(f"db_table_name eq 'jobs' and id_in_table eq {job_id}")
            .select(*file_fields),
        }
        job, following = await asyncio.gather(
            client.set("Jobs").expand(*expand).get(job_id),
            client.request(Call("GET", client.root + f"Jobs({job_id})/NextStatuses")),
        )
        pages = await asyncio.gather(*(query.page_size(500).page() for query in queries.values()))
        context: dict[str, Any] = {name: page.rows for name, page in zip(queries, pages, strict=True)}
        approval_files: dict[str, list[dict[str, Any]]] = {}
        ids = [row["id"] for row in context["approvals"]]
        if ids:
            found = (
                await client.set("DbFile")
                .filter(f"db_table_name eq 'job_approval' and id_in_table in ({','.join(ids)})")
                .select(*file_fields)
                .page_size(500)
                .page()
            )
            for row in found.rows:
                approval_files.setdefault(row["id_in_table"], []).append(row)
        fields = {
            key: value for key, value in job.items() if not key.startswith("@") and not isinstance(value, dict | None)
        }
        context.update(job=job, fields=fields, next_statuses=following.json()["value"], approval_files=approval_files)
        return context

    async def job_status(self, request: Request, login: Login) -> Response:
        """PATCH the job's ``job_status_id``; the workflow engine accepts or answers 409."""
        job_id = str(request.path_params["id"])
        form = request.state.form
        status_id = _one(form, "job_status_id")
        if not status_id:
            raise Problem("Choose the status to move the job to.")
        async with self.api(request, login) as client:
            await client.set("Jobs").patch(
                job_id, {"job_status_id": status_id}, etag=_one(form, "etag") or None, minimal=True
            )
        login.flash.append(("ok", "Status changed."))
        return RedirectResponse(_safe_next(_one(form, "back") or f"/jobs/{job_id}"), status_code=303)

    async def job_action(self, request: Request, login: Login) -> Response:
        """``POST Jobs(<id>)/Dispatch|Workshop|Accept|Reject`` with the form's users or reason."""
        job_id = str(request.path_params["id"])
        form = request.state.form
        action = _one(form, "action")
        if action not in ACTIONS:
            raise Problem(f"Unknown action {action!r}; the job actions are {', '.join(ACTIONS)}.")
        body: dict[str, Any] | None = None
        if action in ("Dispatch", "Workshop"):
            users = [u for u in form.get("user_id", []) if u.strip()]
            if not users:
                raise Problem(f"{action}: choose the technician(s) to assign.")
            body = {"user_ids": users}
        elif action == "Reject":
            body = {"reason": _one(form, "reason")}
        async with self.api(request, login) as client:
            await client.request(Call("POST", client.root + f"Jobs({job_id})/{action}", body=body, replayable=False))
        login.flash.append(("ok", f"{action}: done."))
        return RedirectResponse(_safe_next(_one(form, "back") or f"/jobs/{job_id}"), status_code=303)

    async def file(self, request: Request, login: Login) -> Response:
        """A file's bytes (``DbFile(<id>)/$value``), inline for the PDF preview unless ``?download=1``."""
        file_id = str(request.path_params["id"])
        async with self.api(request, login) as client:
            response = await client.request(
                Call("GET", client.root + f"DbFile({file_id})/$value", headers={"Accept": "*/*"})
            )
        disposition = response.headers.get("content-disposition", "attachment")
        if request.query_params.get("download") != "1":
            disposition = disposition.replace("attachment", "inline", 1)
        return Response(
            response.content,
            media_type=response.headers.get("content-type", "application/octet-stream"),
            headers={
                "Content-Disposition": disposition,
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    # -- planning -------------------------------------------------------------------------------

    @staticmethod
    def week_of(request: Request) -> tuple[date, int]:
        raw = request.query_params.get("start", "")
        view = request.query_params.get("view", "week")
        if view not in ("week", "day"):
            raise Problem("The timeline shows a week or a day.")
        try:
            start = date.fromisoformat(raw) if raw else datetime.now(UTC).date()
        except ValueError:
            raise Problem(f"The timeline start must be a date (YYYY-MM-DD), not {raw!r}.") from None
        if view == "week":
            start -= timedelta(days=start.weekday())
        return start, 7 if view == "week" else 1

    async def planning(self, request: Request, login: Login) -> Response:
        start, days = self.week_of(request)
        async with self.api(request, login) as client:
            context = await self.planning_context(client, start, days)
        return self.render(request, "planning.html", login=login, **context)

    @staticmethod
    async def planning_context(client: AsyncClient, start: date, days: int) -> dict[str, Any]:
        begin = datetime.combine(start, time(), UTC)
        end = begin + timedelta(days=days)
        pool_codes = ",".join(literal(code) for code in POOL_CODES)
        pool, technicians, planned, activity = await asyncio.gather(
            client.set("Jobs")
            .filter(f"job_status/code in ({pool_codes})")
            .select("id", "id2", "name", "estimated_duration", "date_create")
            .expand("company($select=name)", "job_status($select=code,name)", "job_priority($select=name,sequence)")
            .order_by("date_create")
            .page_size(200)
            .page(),
            client.set("User")
            .filter("archived eq false and disabled eq false")
            .select("id", "firstname", "lastname", "code")
            .order_by("lastname", "firstname")
            .page_size(200)
            .page(),
            client.set("Jobs")
            .filter(f"user_id ne {EMPTY_GUID}")
            .filter(f"date_planned ge {literal(begin)} and date_planned lt {literal(end)}")
            .select("id", "id2", "name", "user_id", "date_planned", "estimated_duration")
            .expand("company($select=name)", "job_status($select=code,name)")
            .order_by("date_planned")
            .page_size(1000)
            .page(),
            client.set("JobDispatchLog")
            .select(
                "id",
                "jobs_id",
                "is_workshop",
                "is_accepted",
                "is_rejected",
                "reject_reason",
                "date_dispatched",
                "date_proceeded",
                "is_active",
                "modified_dateutc",
            )
            .expand("user($select=firstname,lastname)", "jobs($select=id2,name)")
            .order_by("modified_dateutc desc")
            .page_size(10)
            .page(),
        )
        day_list = [start + timedelta(days=n) for n in range(days)]
        cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for job in planned.rows:
            cells.setdefault((job["user_id"], job["date_planned"][:10]), []).append(job)
        step = timedelta(days=days)
        return {
            "pool": pool.rows,
            "technicians": technicians.rows,
            "days": day_list,
            "cells": cells,
            "activity": activity.rows,
            "start": start,
            "view": "week" if days == 7 else "day",
            "previous": start - step,
            "following": start + step,
            "today": datetime.now(UTC).date(),
        }

    async def plan(self, request: Request, login: Login) -> Response:
        """Plan a pooled job: technician, start and hours, and the status Planned, in one PATCH
        (the workflow engine checks the move; a 409 lists what is allowed)."""
        form = request.state.form
        job_id, user_id = _one(form, "job_id"), _one(form, "user_id")
        back = _safe_next(_one(form, "back") or "/planning")
        if not job_id:
            raise Problem("Choose the job to plan.")
        if not user_id:
            raise Problem("Choose the technician to plan the job for.")
        try:
            day = date.fromisoformat(_one(form, "date"))
        except ValueError:
            raise Problem(f"The planned day must be a date (YYYY-MM-DD), not {_one(form, 'date')!r}.") from None
        try:
            at = time.fromisoformat(_one(form, "time") or "08:00")
        except ValueError:
            raise Problem(f"The start time must be HH:MM, not {_one(form, 'time')!r}.") from None
        try:
            hours = float(_one(form, "hours") or "0")
        except ValueError:
            raise Problem(f"The duration must be a number of hours, not {_one(form, 'hours')!r}.") from None
        if not 0 <= hours <= 24:
            raise Problem("The duration is between 0 and 24 hours.")
        async with self.api(request, login) as client:
            planned = await client.set("JobStatus").filter(F("code") == "PLANNED").select("id").first()
            if planned is None:
                raise Problem("This tenant has no Planned status.", 409)
            body = {
                "user_id": user_id,
                "date_planned": datetime.combine(day, at, UTC),
                "estimated_duration": hours,
                "job_status_id": planned["id"],
            }
            await client.set("Jobs").patch(job_id, body, minimal=True)
        login.flash.append(("ok", "Job planned."))
        return RedirectResponse(back, status_code=303)

    # -- integration ----------------------------------------------------------------------------

    async def integration(self, request: Request, login: Login) -> Response:
        subscription = request.query_params.get("subscription", "")
        async with self.api(request, login) as client:

            async def recent(name: str, label: str) -> tuple[str, list[dict[str, Any]]]:
                query = client.set(name).select("id", label, "modified_dateutc").order_by("modified_dateutc desc")
                page = await query.page_size(5).page()
                return name, page.rows

            deliveries = (
                client.set("WebhookDelivery")
                .expand("webhook_subscription($select=name)")
                .order_by("date_sent desc")
                .page_size(50)
            )
            if subscription:
                try:
                    deliveries = deliveries.filter(F("webhook_subscription_id") == uuid.UUID(subscription))
                except ValueError:
                    raise Problem(f"{subscription!r} is not a subscription id.") from None
            recents = await asyncio.gather(*(recent(name, label) for name, label in RECENT_ENTITIES.items()))
            subscriptions, delivery_page, users = await asyncio.gather(
                client.set("WebhookSubscription").order_by("name").page_size(200).page(),
                deliveries.page(),
                client.set("User")
                .select("id", "code", "username", "firstname", "lastname", "disabled", "archived", "modified_dateutc")
                .order_by("lastname")
                .page_size(200)
                .page(),
            )
        changes = dict(recents)
        return self.render(
            request,
            "integration.html",
            login=login,
            changes=changes,
            labels=RECENT_ENTITIES,
            subscriptions=subscriptions.rows,
            deliveries=delivery_page.rows,
            users=users.rows,
            subscription=subscription,
        )

    # -- the app --------------------------------------------------------------------------------

    async def http_error(self, request: Request, error: Exception) -> Response:
        """Unknown paths and wrong verbs outside ``/api``: a page for a browser, the API's error
        JSON for any other client (so ``GET /elsewhere`` answers like the API does)."""
        status = error.status_code if isinstance(error, HTTPException) else 500
        phrase = HTTPStatus(status).phrase
        message = f"No resource at {request.url.path}." if status == 404 else f"{phrase}: {request.method}"
        if "text/html" in request.headers.get("accept", ""):
            return self.render(
                request, "error.html", status, login=self.login_of(request), status=status, message=message
            )
        body: dict[str, Any] = {
            "error": {"code": phrase.replace(" ", ""), "message": message, "target": None, "details": []}
        }
        return JSONResponse(body, status_code=status)

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/jobs" if self.login_of(request) else "/signin", status_code=303)

    def app(self) -> Starlette:
        return Starlette(
            exception_handlers={HTTPException: self.http_error},
            routes=[
                Route("/", self.home),
                Route("/signin", self.signin_form, methods=["GET"]),
                Route("/signin", self.signin, methods=["POST"]),
                Route("/signout", self.page(self.signout), methods=["POST"]),
                Route("/jobs", self.page(self.jobs)),
                Route("/jobs/{id:uuid}", self.page(self.job)),
                Route("/jobs/{id:uuid}/status", self.page(self.job_status), methods=["POST"]),
                Route("/jobs/{id:uuid}/action", self.page(self.job_action), methods=["POST"]),
                Route("/files/{id:uuid}", self.page(self.file)),
                Route("/planning", self.page(self.planning)),
                Route("/planning/plan", self.page(self.plan), methods=["POST"]),
                Route("/integration", self.page(self.integration)),
                Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
            ],
        )


def create_console(api_app: ASGIApp) -> Starlette:
    """The console as an ASGI app that calls ``api_app`` (the app it is mounted in) for its data."""
    return Console(api_app).app()
