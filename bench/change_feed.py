"""Delay from commit to visibility: for a poller following the seed's recipe, and for a webhook.

    uv run python bench/change_feed.py [--database-url URL] [--seconds 15] [--rate 20]

Give PostgreSQL a database of its own (createdb odyssee_bench): the demo server migrates it.

Starts `odyssee serve --demo` (with its in-process worker on SQLite; on PostgreSQL also starts an
`odyssee worker`), a webhook subscriber on 127.0.0.1 and a writer that POSTs JobType rows at
``--rate`` per second. A poller polls `JobType?$filter=modified_dateutc gt '<W>'` every 100 ms.
For each row, delay = first seen (poll / webhook) - the writer's response (the commit happened
just before). Prints p50 and p99 of both. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from harness import AUTH, demo_server


def _percentiles(label: str, delays: list[float], expected: int) -> None:
    delays.sort()
    if not delays:
        print(f"{label:<28} nothing seen")
        return
    p99 = delays[max(int(len(delays) * 0.99) - 1, 0)]
    print(
        f"{label:<28} p50 {statistics.median(delays) * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"
        f"  max {delays[-1] * 1000:7.1f} ms  ({len(delays)}/{expected} rows)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()
    hooked: dict[str, float] = {}

    class Subscriber(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            now = time.monotonic()
            for event in body["events"]:
                hooked.setdefault(event["id"], now)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    subscriber = ThreadingHTTPServer(("127.0.0.1", 0), Subscriber)
    threading.Thread(target=subscriber.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        with demo_server(url) as base, httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
            worker = None
            if not url.startswith("sqlite"):
                worker = subprocess.Popen([sys.executable, "-m", "odyssee", "worker", "--database-url", url],
                                          env=dict(os.environ), stderr=subprocess.DEVNULL)  # fmt: skip
            hook = {"name": "bench", "url": f"http://127.0.0.1:{subscriber.server_address[1]}/",
                    "entities": "JobType", "events": "created", "secret": "bench"}  # fmt: skip
            assert client.post("/api/WebhookSubscription", json=hook).status_code == 201
            committed: dict[str, float] = {}
            polled: dict[str, float] = {}
            stop = threading.Event()

            def poll() -> None:
                watermark = "2015-07-14T13:08:00.000Z"
                with httpx.Client(base_url=base, headers=AUTH, timeout=30) as poller:
                    while not stop.is_set():
                        query = f"/api/JobType?$filter=modified_dateutc gt '{watermark}'&$orderby=modified_dateutc asc"
                        for row in poller.get(query).json()["value"]:
                            polled.setdefault(row["id"], time.monotonic())
                            watermark = row["modified_dateutc"]
                        stop.wait(0.1)

            warm = client.post("/api/JobType", json={"name": "warm-up"}).json()["id"]
            ready = time.monotonic() + 60
            while warm not in hooked and time.monotonic() < ready:  # the worker is up and delivering
                time.sleep(0.05)
            thread = threading.Thread(target=poll)
            thread.start()
            deadline = time.monotonic() + args.seconds
            index = 0
            while time.monotonic() < deadline:
                response = client.post("/api/JobType", json={"name": f"feed {index}"})
                committed[response.json()["id"]] = time.monotonic()
                index += 1
                time.sleep(1 / args.rate)
            time.sleep(3)
            stop.set()
            thread.join()
            if worker is not None:
                worker.terminate()
                worker.wait()
    subscriber.shutdown()
    print(f"engine: {url.split(':')[0]}  writes: {len(committed)} at {args.rate:.0f}/s")
    _percentiles("poll every 100 ms", [polled[k] - t for k, t in committed.items() if k in polled], len(committed))
    _percentiles("webhook", [hooked[k] - t for k, t in committed.items() if k in hooked], len(committed))


if __name__ == "__main__":
    main()
