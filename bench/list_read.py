"""Bounded read/write figures for the generic controller against a real `odyssee serve --demo`.

    uv run python bench/list_read.py [--database-url URL] [--requests 2000] [--seconds 30] [--clients 8]

Starts the server on a free 127.0.0.1 port, then measures (1) the seed's delta list query
(`JobApproval?$filter=modified_dateutc gt '…'`, 20-row pages of Company, a 3-way `$expand`), (2)
single-entity POSTs, with N concurrent clients, and (3) one `$batch` change set of 1000 creates.
Prints requests/s and p50/p99 latency. Loopback only; every
loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import httpx
from harness import AUTH, demo_server, run


def batch_change_set(base: str, size: int = 1000, rounds: int = 3) -> None:
    """One $batch atomicity group of ``size`` creates, ``rounds`` times: the median wall time."""
    timings = []
    with httpx.Client(base_url=base, headers=AUTH, timeout=120) as client:
        for attempt in range(rounds):
            requests = [
                {"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "JobType",
                 "headers": {"Prefer": "return=minimal"}, "body": {"name": f"B{attempt}-{i}"}}
                for i in range(size)
            ]  # fmt: skip
            started = time.perf_counter()
            response = client.post("/api/$batch", json={"requests": requests})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200 and all(r["status"] == 201 for r in response.json()["responses"])
    median = statistics.median(timings)
    label = f"$batch change set of {size} creates"
    print(f"{label:<38} {median:8.2f} s median  ({size / median:.0f} rows/s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        with demo_server(url) as base:
            with httpx.Client(base_url=base, headers=AUTH) as client:
                for i in range(40):
                    client.post("/api/Company", json={"name": f"Bench {i}"}, headers={"Prefer": "return=minimal"})
            print(f"engine: {url.split(':')[0]}")
            delta = (
                "/api/JobApproval?$filter=modified_dateutc gt '2015-07-14T13:08:00.000Z' and is_daily_approval eq false"
            )
            run("GET JobApproval delta query", args.clients, args.requests, args.seconds,
                lambda c, i: c.get(delta), base)  # fmt: skip
            run("GET Company (20-row page)", args.clients, args.requests, args.seconds,
                lambda c, i: c.get("/api/Company"), base)  # fmt: skip
            expand = "/api/Jobs?$expand=company,project,job_status&$select=name"
            run("GET Jobs $expand (3 navigations)", args.clients, args.requests, args.seconds,
                lambda c, i: c.get(expand), base)  # fmt: skip
            minimal = {"Prefer": "return=minimal"}
            run("POST JobType (return=minimal)", args.clients, args.requests // 2, args.seconds,
                lambda c, i: c.post("/api/JobType", json={"name": f"T{i}"}, headers=minimal), base)  # fmt: skip
            batch_change_set(base)


if __name__ == "__main__":
    main()
