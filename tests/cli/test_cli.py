"""The command line, including the README's first command run as a real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from odyssee.cli.main import app
from odyssee.db.migrate import alembic_config
from tests.conftest import basic, free_port, wait_until_serving

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
    for name, value in (("ODYSSEE_THREADS", "0"), ("ODYSSEE_STATEMENT_TIMEOUT_MS", "soon")):
        bad_setting = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
                                    env={name: value})  # fmt: skip
        assert bad_setting.exit_code == 1 and f"error: {name} must" in bad_setting.output, bad_setting.output
        assert bad_setting.exception is None or isinstance(bad_setting.exception, SystemExit), "one line, no traceback"
    assert not (tmp_path / "x.db").exists(), "nothing is created on a bad setting"
    db = tmp_path / "fresh.db"
    fresh = runner.invoke(app, ["db", "upgrade", "--database-url", f"sqlite:///{db}"])
    head = ScriptDirectory.from_config(alembic_config(f"sqlite:///{db}")).get_current_head()
    assert fresh.exit_code == 0 and f"revision {head}" in fresh.output


def test_serve_demo_answers_the_documented_curl(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ODYSSEE_DATABASE_URL": f"sqlite:///{tmp_path / 'odyssee.db'}"}
    command = [sys.executable, "-m", "odyssee", "serve", "--demo", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/Company"
        headers = {"Authorization": "Basic QVBJVXNlcjoxMjM0NTZAVEVTVEFQSQ=="}
        deadline = time.monotonic() + 90  # bounded; generous for a loaded 2-core CI machine
        while True:
            try:
                response = httpx.get(url, headers=headers, timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start within 90 s"
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


def _enqueue_missing_approval(database_url: str) -> None:
    """A task whose approval does not exist: any worker that runs it records the failure on it."""
    import uuid

    from odyssee.db.engine import Database
    from odyssee.domain.tenants import create_tenant
    from odyssee.worker.queue import APPROVAL_PDF, enqueue

    database = Database(database_url)
    try:
        with database.transaction(write=True) as session:
            tenant = create_tenant(session, "QUEUE")
            session.flush()
            enqueue(session, tenant.id, APPROVAL_PDF, {"approval_id": str(uuid.uuid4())}, max_attempts=1)
            enqueue(session, tenant.id, APPROVAL_PDF, {"approval_id": str(uuid.uuid4())})
    finally:
        database.dispose()


def test_queue_status_counts_tasks_per_status(database_url: str) -> None:
    env = {"ODYSSEE_DATABASE_URL": database_url}
    empty = runner.invoke(app, ["queue", "status"], env=env)
    assert empty.exit_code == 0, empty.output
    assert "queued   0" in empty.output and "oldest   -" in empty.output
    _enqueue_missing_approval(database_url)
    waiting = runner.invoke(app, ["queue", "status"], env=env)
    assert "queued   2" in waiting.output and "failed   0" in waiting.output
    assert "oldest   0s" in waiting.output or "oldest   1s" in waiting.output
    ran = runner.invoke(app, ["worker", "--once"], env=env)
    assert ran.exit_code == 0 and "2 task(s) run" in ran.output, ran.output
    after = runner.invoke(app, ["queue", "status"], env=env)
    # one task had a single attempt and failed for good; the other waits for its retry
    assert "queued   1" in after.output and "failed   1" in after.output and "done     0" in after.output


def test_serve_on_sqlite_runs_the_worker_in_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'odyssee.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    _enqueue_missing_approval(url)
    port = free_port()
    command = [sys.executable, "-m", "odyssee", "serve", "--port", str(port), "--database-url", url]
    server = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90  # bounded; generous for a loaded 2-core CI machine
        while True:
            status = runner.invoke(app, ["queue", "status", "--database-url", url]).output
            if "failed   1" in status:
                break
            assert server.poll() is None, "server exited"
            assert time.monotonic() < deadline, status
            time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _login_status(client: TestClient, username: str, password: str, domain: str) -> int:
    return client.get("/api/Company", headers=basic(username, password, domain)).status_code


def test_user_revoke_takes_effect_on_the_next_request(database_url: str, app_client: TestClient) -> None:
    env = {"ODYSSEE_DATABASE_URL": database_url}
    assert runner.invoke(app, ["tenant", "create", "ACME"], env=env).exit_code == 0
    created = runner.invoke(app, ["user", "create", "ACME", "erp", "--password", "pw-erp-1", "--api"], env=env)
    assert created.exit_code == 0, created.output
    assert _login_status(app_client, "erp", "pw-erp-1", "ACME") == 200  # now in the verification cache
    revoked = runner.invoke(app, ["user", "revoke", "acme", "ERP"], env=env)
    assert revoked.exit_code == 0 and "user erp@acme revoked" in revoked.output, revoked.output
    assert _login_status(app_client, "erp", "pw-erp-1", "ACME") == 401
    rotated = runner.invoke(app, ["user", "rotate-password", "ACME", "erp", "--password", "pw-erp-2"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert _login_status(app_client, "erp", "pw-erp-2", "ACME") == 401, "a new password does not undo a revocation"
    unknown = runner.invoke(app, ["user", "revoke", "ACME", "nobody"], env=env)
    assert unknown.exit_code == 1 and "no user 'nobody'" in unknown.output


def test_user_rotate_password_generates_one_and_the_old_stops_working(
    database_url: str, app_client: TestClient
) -> None:
    env = {"ODYSSEE_DATABASE_URL": database_url}
    assert runner.invoke(app, ["tenant", "create", "ACME"], env=env).exit_code == 0
    created = runner.invoke(app, ["user", "create", "ACME", "erp", "--password", "old-pw-1", "--api"], env=env)
    assert created.exit_code == 0, created.output
    assert _login_status(app_client, "erp", "old-pw-1", "ACME") == 200
    rotated = runner.invoke(app, ["user", "rotate-password", "ACME", "erp"], env=env)
    assert rotated.exit_code == 0, rotated.output
    new_password = rotated.output.split("(shown only now): ")[1].strip()
    assert len(new_password) >= 24 and rotated.output.count(new_password) == 1
    assert _login_status(app_client, "erp", "old-pw-1", "ACME") == 401
    assert _login_status(app_client, "erp", new_password, "ACME") == 200
    chosen = runner.invoke(app, ["user", "rotate-password", "ACME", "erp", "--password", "chosen-pw"], env=env)
    assert chosen.exit_code == 0 and "chosen-pw" not in chosen.output
    assert _login_status(app_client, "erp", new_password, "ACME") == 401
    assert _login_status(app_client, "erp", "chosen-pw", "ACME") == 200
    short = runner.invoke(app, ["user", "rotate-password", "ACME", "erp", "--password", "x"], env=env)
    assert short.exit_code == 1 and "at least 4 characters" in short.output
    assert _login_status(app_client, "erp", "chosen-pw", "ACME") == 200, "a refused rotation changes nothing"


def test_serve_with_two_workers_answers_from_two_processes(tmp_path: Path) -> None:
    """``serve --workers 2``: two API processes share the port; the SQLite worker runs once, in the supervisor."""
    url = f"sqlite:///{tmp_path / 'odyssee.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    assert runner.invoke(app, ["tenant", "create", "ACME", "--database-url", url]).exit_code == 0
    login = ["user", "create", "ACME", "api", "--password", "pw-w2", "--api", "--database-url", url]
    created = runner.invoke(app, login)
    assert created.exit_code == 0, created.output
    _enqueue_missing_approval(url)
    port = free_port()
    command = [sys.executable, "-m", "odyssee", "serve", "--workers", "2", "--port", str(port), "--database-url", url,
               "--log-level", "warning"]  # fmt: skip
    env = {**os.environ, "ODYSSEE_DEBUG_HOLD": "1"}  # responses name their process (X-Odyssee-Pid)
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    headers = basic("api", "pw-w2", "ACME")
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/api/Company", headers, seconds=90)
        pids: set[int] = set()
        deadline = time.monotonic() + 60
        for _ in range(400):  # a new connection each: the kernel spreads them over the listening processes
            response = httpx.get(f"http://127.0.0.1:{port}/api/Company", headers=headers, timeout=5)
            assert response.status_code == 200
            pids.add(int(response.headers["x-odyssee-pid"]))
            if len(pids) == 2 or time.monotonic() > deadline:
                break
        created_row = httpx.post(f"http://127.0.0.1:{port}/api/Company", headers=headers, json={"name": "W"}, timeout=5)
        assert created_row.status_code == 201
        assert len(pids) == 2 and server.pid not in pids
        deadline = time.monotonic() + 60  # the in-process worker ran the queued task
        while "failed   1" not in runner.invoke(app, ["queue", "status", "--database-url", url]).output:
            assert time.monotonic() < deadline, "the background worker did not run"
            time.sleep(0.3)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode == 0, output
    assert f"background worker in the supervising process (pid {server.pid})" in output
    assert "with 2 processes" in output
