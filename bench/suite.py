"""The benchmark table of issue 9: our API against the floor, per case, with wrk on loopback.

    bench/run [--engine sqlite|postgresql|both] [--scale 100000] [--seconds 5] [--connections 16]

For each engine: bulk-load the data set (bench/load.py), start ``odyssee serve`` (one process)
and the floor (bench/floor.py: the same SQL, same driver, orjson, no framework), drive both with
wrk, and print req/s, p50 and p99 per case and our req/s as a ratio of the floor's: the floor
running the API's whole SQL (transaction, login, query), and the query alone. Writes have no floor.
Every run is bounded: ``--seconds`` per case.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from harness import AUTH, free_port
from load import load

from odyssee.db.engine import Database
from odyssee.domain.demo import DOMAIN
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from odyssee.model.values import format_datetime

HERE = Path(__file__).parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/odyssee_bench"


@dataclass
class Figure:
    rps: float
    p50_ms: float
    p99_ms: float


@contextmanager
def _process(command: list[str], env: dict[str, str], probe: str, headers: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(probe, headers=headers, timeout=5).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[:4]} did not start")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def _ms(text: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if found is None:  # "-nan": no request finished in the time given
        return float("nan")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, seconds: float, connections: int, headers: dict[str, str], script: Path | None = None) -> Figure:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "--timeout", "30s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # Anchored: the thread-stats table ends its lines with a percentage too ("… 71.50%").
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw errors on {url}:\n{output}")
    return Figure(rps, p50, p99)


def _facts(database_url: str) -> dict[str, str]:
    """Ids and stamps the cases need: a company id, the delta watermarks for 0, 20 and 100 rows."""
    database = Database(database_url)
    with database.transaction(write=False) as session:
        tenant = find_tenant(session, DOMAIN)
        assert tenant is not None
        company = registry().by_table("company").table
        jobs = registry().by_table("jobs").table
        approvals = registry().by_table("job_approval").table
        facts = {"company": str(session.execute(sa.select(company.c.id).where(company.c.tenant_id == tenant.id)
                                                .order_by(company.c.id).limit(1)).scalar_one())}  # fmt: skip
        newest = session.execute(
            sa.select(sa.func.max(approvals.c.modified_dateutc)).where(approvals.c.tenant_id == tenant.id)
        ).scalar_one()
        facts["since0"] = format_datetime(newest)
        for rows in (20, 100):
            stamp = session.execute(
                sa.select(jobs.c.modified_dateutc).where(jobs.c.tenant_id == tenant.id)
                .order_by(jobs.c.modified_dateutc.desc()).offset(rows).limit(1)
            ).scalar_one()  # fmt: skip
            facts[f"since{rows}"] = format_datetime(stamp)
    database.dispose()
    return facts


def _batch_seconds(base: str) -> float:
    timings = []
    with httpx.Client(base_url=base, headers=AUTH, timeout=120) as client:
        for attempt in range(3):
            requests = [{"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "JobType",
                         "headers": {"Prefer": "return=minimal"}, "body": {"name": f"B{attempt}-{i}"}}
                        for i in range(1000)]  # fmt: skip
            started = time.perf_counter()
            response = client.post("/api/$batch", json={"requests": requests})
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:500]
    return statistics.median(timings)


def _figures(mine: Figure, rows: int) -> str:
    return f"{mine.rps:>9.0f}{mine.p50_ms:>9.1f}{mine.p99_ms:>9.1f}{mine.rps * max(rows, 1):>10.0f}"


def _floors(floor_url: str, ours: float, seconds: float, clients: int) -> str:
    """The floor's req/s and our ratio to it: first with the API's SQL around the query (its
    transaction and login, bench/floor.py ``unit``), the issue's ratio; then the query alone."""
    columns = ""
    for url in (f"{floor_url}&unit=1", floor_url):
        base = wrk(url, seconds, clients, {})
        columns += f"{base.rps:>13.0f}{ours / base.rps if base.rps else float('nan'):>7.2f}"
    return columns


def run_engine(database_url: str, scale: int, seconds: float, connections: int) -> None:
    loaded = load(database_url, scale)
    facts = _facts(database_url)
    # The rate limits (docs/limits.md) would cap the load generator, not measure the server.
    unlimited = {"ODYSSEE_RATE_USER": "1000000,1000000", "ODYSSEE_RATE_TENANT": "1000000,1000000"}
    env = {**os.environ, "ODYSSEE_DATABASE_URL": database_url, **unlimited}
    ours, floor = free_port(), free_port()
    api = f"http://127.0.0.1:{ours}/api"
    low = f"http://127.0.0.1:{floor}"
    serve = [sys.executable, "-m", "odyssee", "serve", "--port", str(ours), "--no-worker", "--log-level", "warning"]
    bare = [sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "floor:app", "--port", str(floor),
            "--log-level", "warning"]  # fmt: skip
    page = {"Prefer": "odata.maxpagesize=100"}
    cases = [
        ("GET by id", f"{api}/Company({facts['company']})", {}, f"{low}/byid?table=company&id={facts['company']}", 1),
        ("delta poll, 0 rows", f"{api}/JobApproval?$filter=modified_dateutc%20gt%20'{facts['since0']}'"
         "&$orderby=modified_dateutc", {}, f"{low}/delta?table=job_approval&since={facts['since0']}&limit=20", 0),
        ("delta poll, 20 rows", f"{api}/Jobs?$filter=modified_dateutc%20gt%20'{facts['since20']}'"
         "&$orderby=modified_dateutc", {}, f"{low}/delta?table=jobs&since={facts['since20']}&limit=20", 20),
        ("delta poll, 100 rows", f"{api}/Jobs?$filter=modified_dateutc%20gt%20'{facts['since100']}'"
         "&$orderby=modified_dateutc", page, f"{low}/delta?table=jobs&since={facts['since100']}&limit=100", 100),
        ("Company?$top=100", f"{api}/Company?$top=100", page, f"{low}/page?table=company&limit=100", 100),
        ("5000-row page", f"{api}/Jobs", {"Prefer": "odata.maxpagesize=5000"}, f"{low}/page?table=jobs&limit=5000",
         5000),
    ]  # fmt: skip
    engine = database_url.split(":")[0].split("+")[0]
    print(f"\n{engine}: {loaded['jobs']} jobs (data {'loaded' if loaded['loaded'] else 'reused'}), "
          f"one API process, wrk -c{connections}, {seconds:.0f} s per case")  # fmt: skip
    print(f"{'':<54}{'floor, same SQL':>20}{'floor, query alone':>20}")
    print(f"{'case':<24}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'rows/s':>10}{'req/s':>13}{'ratio':>7}"
          f"{'req/s':>13}{'ratio':>7}")  # fmt: skip
    with _process(bare, env, f"{low}/page?table=company&limit=1", {}), \
         _process(serve, env, f"{api}/Company", AUTH):  # fmt: skip
        for label, url, headers, floor_url, rows in cases:
            clients = 2 if rows >= 1000 else connections  # big pages: a few at a time, as a bulk puller does
            wrk(url, 2, clients, AUTH | headers)  # warm-up
            mine = wrk(url, seconds, clients, AUTH | headers)
            print(f"{label:<24}{_figures(mine, rows)}{_floors(floor_url, mine.rps, seconds, clients)}")
        # The same poll, but every request's $filter text is new (a no-op term with a counter): the
        # parsed-query and statement cache (odata/options.py) never hits, as for a poller whose
        # watermark moves on every poll.
        since = facts["since20"]
        lua = (
            "counter = 0\nrequest = function()\n  counter = counter + 1\n"
            f"  return wrk.format(nil, \"/api/Jobs?$filter=modified_dateutc%20gt%20'{since}'\""
            ' .. "%20and%20id2%20ne%20-" .. counter .. "&$orderby=modified_dateutc")\nend\n'
        )
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua)
        fresh = wrk(f"{api}/Jobs", seconds, connections, AUTH, Path(script.name))
        floors = _floors(f"{low}/delta?table=jobs&since={since}&limit=20", fresh.rps, seconds, connections)
        print(f"{'delta 20, new query':<24}{_figures(fresh, 20)}{floors}")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write('wrk.method = "POST"\nwrk.body = \'{"name": "bench"}\'\n'
                         'wrk.headers["Content-Type"] = "application/json"\n'
                         'wrk.headers["Prefer"] = "return=minimal"\n')  # fmt: skip
        post = wrk(f"{api}/JobType", seconds, connections, AUTH, Path(script.name))
        none = f"{'-':>13}{'-':>7}" * 2  # writes have no floor
        print(f"{'single POST':<24}{post.rps:>9.0f}{post.p50_ms:>9.1f}{post.p99_ms:>9.1f}{'':>10}{none}")
        batch = _batch_seconds(api.removesuffix("/api"))
        print(f"{'$batch of 1000 creates':<24}{batch:>8.2f}s{'':>18}{1000 / batch:>10.0f}{none}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--sqlite-path", default=None, help="Reuse a loaded SQLite file (default: a temp file).")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (bench/run installs it when run as root)")
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            path = args.sqlite_path or f"{folder}/bench.db"
            run_engine(f"sqlite:///{path}", args.scale, args.seconds, args.connections)
    if args.engine in ("postgresql", "both"):
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            if not connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = 'odyssee_bench'")).first():
                connection.exec_driver_sql("CREATE DATABASE odyssee_bench")
        admin.dispose()
        run_engine(os.environ.get("ODYSSEE_BENCH_PG_URL", PG_BENCH), args.scale, args.seconds, args.connections)


if __name__ == "__main__":
    main()
