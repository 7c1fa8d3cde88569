"""What every benchmark shares: a demo server on loopback and a bounded, threaded request loop."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx

AUTH = {"Authorization": "Basic QVBJVXNlcjoxMjM0NTZAVEVTVEFQSQ=="}
"""The demo tenant's API user (APIUser:123456@TESTAPI)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(
    label: str, clients: int, total: int, seconds: float, call: Callable[[httpx.Client, int], httpx.Response], base: str
) -> float:
    """Run ``call`` ``total`` times (or for ``seconds``) from ``clients`` threads; print and return req/s."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(total))
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
            while time.monotonic() < deadline:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                started = time.perf_counter()
                response = call(client, index)
                elapsed = time.perf_counter() - started
                assert response.status_code < 300, response.text
                with lock:
                    latencies.append(elapsed)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"{label:<38} {len(latencies) / wall:8.0f} req/s  p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"  p99 {p99 * 1000:6.1f} ms  ({len(latencies)} requests, {clients} clients)"
    )
    return len(latencies) / wall


@contextlib.contextmanager
def demo_server(database_url: str) -> Iterator[str]:
    """``odyssee serve --demo`` on a free loopback port; yields its base URL, stops it on exit."""
    port = free_port()
    env = {**os.environ, "ODYSSEE_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "odyssee", "serve", "--demo", "--port", str(port), "--log-level", "warning"]
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as server:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/Company", headers=AUTH, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    server.terminate()
                    raise SystemExit("server did not start") from None
                time.sleep(0.2)
        try:
            yield base
        finally:
            server.terminate()
