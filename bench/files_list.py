"""Does listing files stay fast when the files are big? Bounded figures against `odyssee serve --demo`.

    uv run python bench/files_list.py [--database-url URL] [--files 300] [--kib 256] [--requests 1000]

Creates ``--files`` DbFile rows of 16 bytes each, measures the seed's approval-file query (a
20-row page with ``$select=id,id_in_table,file_name``) and a plain 20-row listing, then makes
every file ``--kib`` KiB (PATCH) and measures again. File bytes live in the blob store, not in
``db_file``, so the two runs should be alike: the script prints the ratio big/small per case.
It also times downloading one big file. Loopback only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import base64
import tempfile

import httpx
from harness import AUTH, demo_server, run

SEED_QUERY = (
    "/api/DbFile?$select=id,id_in_table,file_name&$filter=modified_dateutc gt '2015-07-14T13:08:00'"
    " and db_table_name eq 'jobs'&$orderby=modified_dateutc asc"
)
LISTING = "/api/DbFile?$orderby=name"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--kib", type=int, default=256)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    small = base64.b64encode(b"x" * 16).decode()
    big = base64.b64encode(b"y" * (args.kib * 1024)).decode()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        with demo_server(url) as base, httpx.Client(base_url=base, headers=AUTH, timeout=60) as client:
            minimal = {"Prefer": "return=minimal"}
            ids = []
            for i in range(args.files):
                body = {"name": f"F{i:05}", "db_table_name": "jobs", "file_content": small}
                ids.append(client.post("/api/DbFile", json=body, headers=minimal).json()["id"])
            print(f"engine: {url.split(':')[0]}  files: {args.files}")
            figures = {}
            for label, path in (("seed query, $select, 20 rows", SEED_QUERY), ("plain listing, 20 rows", LISTING)):
                figures[label] = run(f"{label} (16 B files)", args.clients, args.requests, args.seconds,
                                     lambda c, i, path=path: c.get(path), base)  # fmt: skip
            for file_id in ids:
                response = client.patch(f"/api/DbFile({file_id})", json={"file_content": big}, headers=minimal)
                assert response.status_code in (200, 204), response.text
            for label, path in (("seed query, $select, 20 rows", SEED_QUERY), ("plain listing, 20 rows", LISTING)):
                rate = run(f"{label} ({args.kib} KiB files)", args.clients, args.requests, args.seconds,
                           lambda c, i, path=path: c.get(path), base)  # fmt: skip
                print(f"{'':<38} ratio big/small files: {rate / figures[label]:.2f}")
            run(f"GET DbFile(id)/$value ({args.kib} KiB)", args.clients, args.requests // 4, args.seconds,
                lambda c, i: c.get(f"/api/DbFile({ids[i % len(ids)]})/$value"), base)  # fmt: skip


if __name__ == "__main__":
    main()
