"""Tenants (the *domain* of a login) and their credentials."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.db import direct, row_security
from odyssee.domain.actor import Actor
from odyssee.domain.changes import CREATED, stamp, stamps
from odyssee.domain.logins import KnownLogins
from odyssee.domain.passwords import hash_password, verify_password
from odyssee.model.conventions import utcnow
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from odyssee.model.errors import Conflict, InvalidInput, NotFound, Unauthorized
from odyssee.model.registry import new_id, registry
from odyssee.model.system import Credential, LoginEpoch, Tenant

_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def find_tenant(session: Session, domain: str) -> Tenant | None:
    return session.execute(sa.select(Tenant).where(Tenant.domain_key == domain.upper())).scalar_one_or_none()


def create_tenant(session: Session, domain: str) -> Tenant:
    """A new, empty tenant with the system job statuses."""
    if not _DOMAIN.match(domain):
        raise InvalidInput(
            f"'{domain}' is not a valid domain: use 1-100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            code="InvalidDomain",
        )
    if find_tenant(session, domain) is not None:
        raise Conflict(f"The domain '{domain}' already exists.", code="DuplicateDomain")
    tenant = Tenant(domain=domain, domain_key=domain.upper(), created_at=utcnow())
    session.add(tenant)
    session.flush()
    seed_job_statuses(session, tenant.id)
    return tenant


def seed_job_statuses(session: Session, tenant_id: int) -> None:
    """Insert the 17 system statuses that are missing (idempotent)."""
    table = registry().by_table("job_status").table
    present = set(session.execute(sa.select(table.c.id).where(table.c.tenant_id == tenant_id)).scalars())
    missing = [(sequence, status) for sequence, status in enumerate(SYSTEM_JOB_STATUSES) if status.id not in present]
    moments = stamps(session, tenant_id, "job_status", [status.id for _, status in missing], CREATED)
    rows = [
        {
            "tenant_id": tenant_id,
            "id": status.id,
            "code": status.code,
            "name": status.name,
            "description": status.description,
            "sequence": sequence,
            "is_closed": status.is_closed,
            "modified_dateutc": moment,
        }
        for (sequence, status), moment in zip(missing, moments, strict=True)
    ]
    if rows:
        session.execute(sa.insert(table), rows)


def create_credential(session: Session, domain: str, username: str, password: str, *, api: bool) -> Credential:
    """A login. A non-API login is a technician: it is linked to the ``user`` row with that username,
    which is created when missing."""
    tenant = find_tenant(session, domain)
    if tenant is None:
        raise NotFound(
            f"There is no domain '{domain}'. Create it first with: odyssee tenant create {domain}",
            code="UnknownDomain",
        )
    if not username or ":" in username or len(username) > 255:
        raise InvalidInput(
            "A username must be 1-255 characters and cannot contain ':'.",
            code="InvalidUsername",
        )
    _check_password(password)
    exists = session.execute(
        sa.select(Credential.id).where(
            Credential.tenant_id == tenant.id,
            Credential.username_key == username.lower(),
        )
    ).first()
    if exists:
        raise Conflict(f"The user '{username}' already exists in '{domain}'.", code="DuplicateUser")
    credential = Credential(
        tenant_id=tenant.id,
        username=username,
        username_key=username.lower(),
        password_hash=hash_password(password),
        is_api=api,
        user_id=None if api else _technician(session, tenant.id, username),
    )
    session.add(credential)
    session.flush()
    return credential


def _check_password(password: str) -> None:
    if len(password) < 4:
        raise InvalidInput("A password must be at least 4 characters long.", code="InvalidPassword")


def find_credential(session: Session, domain: str, username: str) -> Credential:
    """The login ``username`` of ``domain`` (both case-insensitive), locked for update; 404 when absent."""
    credential = session.execute(
        sa.select(Credential)
        .join(Tenant, Tenant.id == Credential.tenant_id)
        .where(Tenant.domain_key == domain.upper(), Credential.username_key == username.lower())
        .with_for_update()
    ).scalar_one_or_none()
    if credential is None:
        raise NotFound(f"There is no user '{username}' in domain '{domain}'.", code="UnknownUser")
    return credential


def revoke_credential(session: Session, domain: str, username: str) -> Credential:
    """Switch a login off. It takes effect on the very next request, in every server process:
    :func:`authenticate` reads ``disabled`` from the database on every request, before it looks
    at the cache of verified passwords (domain/passwords.py)."""
    credential = find_credential(session, domain, username)
    credential.disabled = True
    session.flush()
    return credential


def generate_password() -> str:
    """A strong password for an integration: 192 random bits, URL-safe (no ':' or '@')."""
    return secrets.token_urlsafe(24)


def rotate_password(session: Session, domain: str, username: str, password: str) -> Credential:
    """Give a login a new password. The old one stops working on the next request: the cache of
    verified passwords is keyed by the stored hash, which changes here. A revoked login stays revoked."""
    _check_password(password)
    credential = find_credential(session, domain, username)
    credential.password_hash = hash_password(password)
    session.flush()
    return credential


def _technician(session: Session, tenant_id: int, username: str) -> uuid.UUID:
    table = registry().by_table("user").table
    existing = session.execute(
        sa.select(table.c.id).where(
            table.c.tenant_id == tenant_id,
            sa.func.lower(table.c.username) == username.lower(),
        )
    ).scalar()
    if existing is not None:
        return uuid.UUID(str(existing))
    spec = registry().by_table("user")
    row = {f.name: f.default for f in spec.writable} | {
        "username": username,
        "lastname": username,
    }
    user_id = new_id()
    session.execute(
        sa.insert(table).values(
            row
            | {
                "tenant_id": tenant_id,
                "id": user_id,
                "modified_dateutc": stamp(session, tenant_id, "user", user_id, CREATED),
            }
        )
    )
    return user_id


_credential, _tenant, _epoch = Credential.__table__, Tenant.__table__, LoginEpoch.__table__
_LOGIN = (
    sa.select(
        _credential.c.id,
        _credential.c.password_hash,
        _credential.c.disabled,
        _credential.c.username,
        _credential.c.is_api,
        _credential.c.user_id,
        _tenant.c.id.label("tenant_id"),
        _tenant.c.domain,
        sa.select(_epoch.c.epoch).where(_epoch.c.id == 1).scalar_subquery().label("login_epoch"),
    )
    .join(_tenant, _tenant.c.id == _credential.c.tenant_id)
    .where(_tenant.c.domain_key == sa.bindparam("domain"), _credential.c.username_key == sa.bindparam("username"))
)
"""Built once from the tables (no ORM entities) and run on the session's connection: every
request runs it, and a statement object that is reused keeps its compiled SQL and cache key,
where building a new one cost more than the query itself (bench/suite.py)."""
_LOGIN_WALLED = _LOGIN.add_columns(*row_security.entering(_tenant.c.id))
"""The same, entering PostgreSQL's row-level security for the login's tenant as it finds the row."""


def login_statement(*, wall: bool) -> sa.Select[Any]:
    """The query every request runs first (:func:`authenticate`): bench/floor.py runs it too, so
    that the floor it measures us against does the same SQL."""
    return _LOGIN_WALLED if wall else _LOGIN


def authenticate(
    session: Session,
    username: str,
    password: str,
    domain: str,
    *,
    wall: bool = False,
    logins: KnownLogins | None = None,
    known: dict[str, Any] | None = None,
) -> Actor:
    """The actor for ``username:password@domain``; any mismatch is the same 401, so nothing leaks.

    With ``wall`` (PostgreSQL only) the rest of the transaction sees and writes the login's tenant
    only (db/row_security.py): entered by the login query itself, before the password is checked,
    which is harmless — a wrong password ends the request, and its transaction, with the 401.

    With ``logins`` a verified login's row is kept there (domain/logins.py); ``known`` is the row
    they gave for this login before the transaction began, which then began only if the login
    epoch had not moved since the row was read, entering the wall for its tenant (db/engine.py
    :class:`~odyssee.db.engine.LoginsMoved` otherwise): the credentials are not read again, the
    password is checked all the same."""
    refused = Unauthorized("The user name, password or domain is wrong.", code="Unauthorized")
    login = (domain.upper(), username.lower())
    connection = session.connection()  # begun: for a known row, its epoch checked (or LoginsMoved)
    row = known
    if row is None:
        parameters = {"domain": login[0], "username": login[1]}
        keys, rows = direct.fetch(connection, login_statement(wall=wall), parameters)
        if not rows:
            raise refused
        row = dict(zip(keys, rows[0], strict=True))
    if row["disabled"] or not verify_password(row["id"], row["password_hash"], password):
        raise refused
    if logins is not None and known is None:
        logins.keep(login, row)
    return Actor(
        tenant_id=row["tenant_id"],
        domain=row["domain"],
        username=row["username"],
        is_api=row["is_api"],
        user_id=row["user_id"],
    )
