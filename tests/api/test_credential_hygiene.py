"""Passwords never leave the server: not in logs, not in responses, not in the command line's output."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from odyssee.cli.main import app
from tests.conftest import basic

SECRET = "Hyg1ene-S3cret-pw"
WRONG = "Wr0ng-Gu3ss-pw"
ROTATED = "R0tated-S3cret-pw"


def _shown(response: Any) -> str:
    return response.text + repr(dict(response.headers))


def test_passwords_are_never_logged_nor_returned(
    database_url: str, app_client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"ODYSSEE_DATABASE_URL": database_url}
    runner = CliRunner()
    outputs = [
        runner.invoke(app, ["tenant", "create", "HYG"], env=env),
        runner.invoke(app, ["user", "create", "HYG", "erp", "--password", SECRET, "--api"], env=env),
        runner.invoke(app, ["user", "create", "HYG", "tech", "--password", SECRET], env=env),
        runner.invoke(app, ["user", "create", "HYG", "erp", "--password", SECRET, "--api"], env=env),  # duplicate
        runner.invoke(app, ["user", "create", "HYG", "short", "--password", "abc"], env=env),
    ]
    assert [result.exit_code for result in outputs] == [0, 0, 0, 1, 1]
    responses = [
        app_client.get("/api/Company", headers=basic("erp", WRONG, "HYG")),
        app_client.get("/api/Company", headers=basic("nobody", WRONG, "HYG")),
        app_client.get("/api/Company", headers=basic("erp", WRONG, "NODOMAIN")),
        app_client.post(
            "/api/$batch",
            content=orjson.dumps({"requests": [{"id": "1", "method": "GET", "url": "Company"}]}),
            headers={**basic("erp", WRONG, "HYG"), "Content-Type": "application/json"},
        ),
    ]
    assert [response.status_code for response in responses] == [401, 401, 401, 401]
    good = basic("erp", SECRET, "HYG")
    responses += [
        app_client.get("/api/User", headers=good),
        app_client.get("/api/User?$select=*", headers=good),
        app_client.get("/api/$metadata", headers=good),
        app_client.get("/api/nosuchset", headers=good),
    ]
    assert [response.status_code for response in responses[4:]] == [200, 200, 200, 404]
    assert [user["username"] for user in responses[4].json()["value"]] == ["tech"]
    assert "password" not in responses[4].text.lower()
    outputs.append(runner.invoke(app, ["user", "rotate-password", "HYG", "erp", "--password", ROTATED], env=env))
    outputs.append(runner.invoke(app, ["user", "revoke", "HYG", "erp"], env=env))
    responses.append(app_client.get("/api/Company", headers=basic("erp", ROTATED, "HYG")))
    assert responses[-1].status_code == 401
    captured = capsys.readouterr()
    for secret in (SECRET, WRONG, ROTATED):
        assert secret not in caplog.text
        assert secret not in captured.out + captured.err
        for result in outputs:
            assert secret not in result.output
        for response in responses:
            assert secret not in _shown(response)
