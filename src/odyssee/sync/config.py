"""The agent's declarative configuration (TOML): the server, the ERP database, what to push and pull."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The configuration file is missing something or says something impossible; the message says what."""


@dataclass(frozen=True)
class Server:
    url: str
    username: str
    password: str
    domain: str


@dataclass(frozen=True)
class Push:
    """One ERP table (or query) pushed into one entity set, upserted by the entity's ERP key."""

    entity: str
    """The entity set (controller name): Company, Project, Article, User …"""
    source: str
    """An ERP table name, or a SELECT (anything usable as ``FROM (<source>)``)."""
    key: str
    """The ERP column holding the ERP key (sent as the entity's code / reference_back_office)."""
    modified: str
    """The ERP column with each row's last modification (the seed's ``last_modification``)."""
    fields: dict[str, str]
    """Entity property (or embedded helper such as ``company_code``) = ERP column."""


@dataclass(frozen=True)
class Pull:
    """Where the export half of the seed lands in the ERP."""

    approvals_table: str = "odyssee_approvals"
    lines_table: str = "invoice_lines"
    pdf_folder: str = "approval-pdfs"


@dataclass(frozen=True)
class Config:
    server: Server
    erp_url: str
    state_path: str
    push: list[Push] = field(default_factory=list)
    pull: Pull | None = None
    base_dir: Path = Path(".")

    def resolve(self, path: str) -> Path:
        """Relative paths in the file are relative to the file, not to where the agent was started."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.base_dir / candidate


def _need(table: dict[str, Any], name: str, where: str) -> Any:
    if name not in table:
        raise ConfigError(f"{where}: '{name}' is missing")
    return table[name]


def parse(text: str, base_dir: Path = Path(".")) -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"not valid TOML: {error}") from None
    server = _need(raw, "server", "config")
    pushes = []
    for index, item in enumerate(raw.get("push", [])):
        where = f"[[push]] #{index + 1}"
        fields = _need(item, "fields", where)
        if not isinstance(fields, dict) or not fields:
            raise ConfigError(f"{where}: 'fields' must map entity properties to ERP columns")
        pushes.append(
            Push(
                entity=_need(item, "entity", where),
                source=_need(item, "source", where),
                key=_need(item, "key", where),
                modified=_need(item, "modified", where),
                fields={str(k): str(v) for k, v in fields.items()},
            )
        )
    pull = Pull(**raw["pull"]) if "pull" in raw else None
    return Config(
        server=Server(
            url=_need(server, "url", "[server]"),
            username=_need(server, "username", "[server]"),
            password=_need(server, "password", "[server]"),
            domain=_need(server, "domain", "[server]"),
        ),
        erp_url=_need(_need(raw, "erp", "config"), "url", "[erp]"),
        state_path=raw.get("state", "odyssee-sync-state.db"),
        push=pushes,
        pull=pull,
        base_dir=base_dir,
    )


def load(path: Path) -> Config:
    if not path.exists():
        raise ConfigError(f"no configuration file at {path}")
    return parse(path.read_text(), path.parent)
