"""Soak: concurrent writer processes against two API processes; a poller following the seed's recipe
misses nothing (docs/change-feed.md).

Bounded: ``ODYSSEE_SOAK_SECONDS`` of writing (default 6, as in CI; 20 for the full run), loopback
only. Writers create single rows, create 20 rows in one ``$batch`` transaction (many rows in the
same millisecond), update rows, and hold some transactions open for 1-2 s before committing
(``X-Odyssee-Debug-Hold``, enabled only on these servers). The poller polls
``JobType?$filter=modified_dateutc gt '<W>'&$orderby=modified_dateutc asc`` every 100 ms and saves
W after every row, as the seed says. At the end every committed write must have been seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential, create_tenant
from tests.conftest import basic, free_port, wait_until_serving

SECONDS = float(os.environ.get("ODYSSEE_SOAK_SECONDS", "6"))
WRITERS = 4

WRITER = r"""
import json, random, sys, time, httpx
bases, auth, seconds, seed = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
done, mine, errors = [], [], 0
deadline = time.monotonic() + seconds
clients = [httpx.Client(base_url=base, headers=auth, timeout=30) for base in bases]
while time.monotonic() < deadline:
    client = rng.choice(clients)
    roll = rng.random()
    if roll < 0.15:  # many rows in one transaction, hence in one millisecond
        requests = [{"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "JobType",
                     "body": {"name": f"w{seed}-b{len(done)}-{i}"}} for i in range(20)]
        response = client.post("/api/$batch", json={"requests": requests})
        if response.status_code != 200:
            errors += 1
            continue
        for part in response.json()["responses"]:
            done.append((part["body"]["id"], part["body"]["modified_dateutc"]))
            mine.append(part["body"]["id"])
        continue
    headers = {"X-Odyssee-Debug-Hold": str(rng.choice([1, 1.5, 2]))} if roll < 0.25 else {}
    if mine and roll > 0.6:
        response = client.patch(f"/api/JobType({rng.choice(mine)})", json={"name": f"u{time.time()}"},
                                headers=headers | {"Prefer": "return=representation"})
    else:
        response = client.post("/api/JobType", json={"name": f"w{seed}-{len(done)}"}, headers=headers)
    if response.status_code not in (200, 201):
        errors += 1
        continue
    row = response.json()
    done.append((row["id"], row["modified_dateutc"]))
    mine.append(row["id"])
print(json.dumps({"done": done, "errors": errors}))
"""


@pytest.fixture
def servers(database: Database, database_url: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    """Two ``odyssee serve`` processes over the same database (several API processes, as in production)."""
    with database.transaction(write=True) as session:
        create_tenant(session, "SOAK")
        create_credential(session, "SOAK", "api", "pw-soak", api=True)
    auth = basic("api", "pw-soak", "SOAK")
    env = {**os.environ, "ODYSSEE_DEBUG_HOLD": "1"}
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "odyssee",
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--log-level",
                "warning",
                "--no-worker",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for base in bases:
            wait_until_serving(f"{base}/api/JobType", auth)
        yield bases, auth
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def test_a_seed_recipe_poller_misses_no_committed_change(servers: tuple[list[str], dict[str, str]]) -> None:
    bases, auth = servers
    seen: list[tuple[str, str]] = []
    stop = threading.Event()
    polls = 0

    def poll() -> None:
        nonlocal polls
        watermark = "2015-07-14T13:08:00.000Z"
        with httpx.Client(base_url=bases[0], headers=auth, timeout=30) as client:
            while True:
                finishing = stop.is_set()
                while True:  # drain, saving the watermark after every row
                    url = (
                        f"/api/JobType?$filter=modified_dateutc gt '{watermark}'&$orderby=modified_dateutc asc&$top=50"
                    )
                    response = client.get(url)
                    assert response.status_code == 200, response.text
                    rows = response.json()["value"]
                    polls += 1
                    for row in rows:
                        seen.append((row["id"], row["modified_dateutc"]))
                        watermark = row["modified_dateutc"]
                    if not rows:
                        break
                if finishing:
                    return
                time.sleep(0.1)

    poller = threading.Thread(target=poll)
    poller.start()
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, json.dumps(bases), json.dumps(auth), str(SECONDS), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(WRITERS)
    ]
    results = [json.loads(writer.communicate(timeout=SECONDS + 120)[0]) for writer in writers]
    stop.set()
    poller.join(timeout=60)
    assert not poller.is_alive()

    committed = [tuple(pair) for result in results for pair in result["done"]]
    errors = sum(result["errors"] for result in results)
    latest_seen: dict[str, str] = {}
    for entity_id, stamp in seen:
        latest_seen[entity_id] = max(stamp, latest_seen.get(entity_id, ""))
    missed = [(entity_id, stamp) for entity_id, stamp in committed if latest_seen.get(entity_id, "") < stamp]
    duplicates = len(seen) - len(set(seen))
    print(
        f"\nsoak: {SECONDS:.0f} s, {WRITERS} writers, 2 API processes: {len(committed)} committed writes, "
        f"{len(seen)} rows polled in {polls} polls, {duplicates} duplicates, {len(missed)} missed, {errors} errors"
    )
    assert errors == 0
    assert len(committed) > 50, "the soak wrote too little to mean anything"
    assert missed == []
    assert duplicates == 0
    assert len({stamp for _, stamp in seen}) == len(seen), "stamps are unique"
