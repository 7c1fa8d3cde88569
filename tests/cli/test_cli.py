"""The command line, including the README's first command run as a real server process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from odyssee.cli.main import app

runner = CliRunner()


def test_tenant_and_user_creation(database_url: str) -> None:
    env = {"ODYSSEE_DATABASE_URL": database_url}
    created = runner.invoke(app, ["tenant", "create", "ACME"], env=env)
    assert created.exit_code == 0, created.output
    assert "tenant ACME created" in created.output
    again = runner.invoke(app, ["tenant", "create", "ACME"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output
    user = runner.invoke(app, ["user", "create", "ACME", "APIUser", "--password", "123456", "--api"], env=env)
    assert user.exit_code == 0, user.output
    missing = runner.invoke(app, ["user", "create", "NOPE", "x", "--password", "123456"], env=env)
    assert missing.exit_code == 1 and "odyssee tenant create NOPE" in missing.output


def test_bad_arguments_exit_non_zero(tmp_path: Path) -> None:
    assert runner.invoke(app, ["tenant", "create"]).exit_code == 2
    assert runner.invoke(app, ["serve", "--port", "99999"]).exit_code == 2
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2
    bad_url = runner.invoke(app, ["db", "upgrade", "--database-url", "nosuchdb://x"])
    assert bad_url.exit_code == 1 and "invalid database URL" in bad_url.output
    db = tmp_path / "fresh.db"
    fresh = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{db}"])
    assert fresh.exit_code == 0 and "revision 0004" in fresh.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_demo_answers_the_documented_curl(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "ODYSSEE_DATABASE_URL": f"sqlite:///{tmp_path / 'odyssee.db'}"}
    command = [sys.executable, "-m", "odyssee", "serve", "--demo", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/Company"
        headers = {"Authorization": "Basic QVBJVXNlcjoxMjM0NTZAVEVTVEFQSQ=="}
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, headers=headers, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start within 30 s"
                time.sleep(0.2)
        assert response.status_code == 200
        body = response.json()
        assert body["@odata.context"] == f"http://127.0.0.1:{port}/api/$metadata#Company"
        assert {row["code"] for row in body["value"]} == {"C001", "C002", "C003"}
        assert httpx.get(url, timeout=2).status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout:
            server.stdout.close()
    assert (tmp_path / "odyssee.db").exists()
