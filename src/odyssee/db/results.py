"""Results of repeated SQLite reads, kept while the database has not changed.

Pollers ask the same question again and again (``modified_dateutc gt X`` with the same watermark
until something new arrives), and every request asks the login query. While nothing has been
committed, the answer is the one given last time. SQLite tells exactly that: ``PRAGMA
data_version`` on a connection changes whenever any *other* connection (of this process or any
other) has committed since the connection last looked, and it reads the version of the snapshot
the statement runs in. So the connection that serves the event loop's reads (db/engine.py
``Database._loop_connection``, read-only: it never commits anything of its own, which the
version would not show) keeps its last results per statement and parameters, with the version
they were read at; a statement of the same transaction-snapshot version gets them back without
running, any other version empties the cache first.

Only SQLite (PostgreSQL has no such counter: a query that checks for changes costs a round trip,
about what the statement itself costs), only that connection, only statements whose values
are all bound (not ``now()``, db/direct.py ``volatile``), only results of at most
:data:`MAX_ROWS` rows, and at most :data:`MAX_ENTRIES` of them. A result is what the statement
would return in that snapshot: nothing a poller could see is ever older than a fresh read at the
same moment (docs/performance.md, point 17).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

MAX_ENTRIES = 256
"""Statements kept: a few hundred pollers' questions, and the logins."""
MAX_ROWS = 100
"""Larger results are not kept: they cost the database more than a cache saves (a 100-row page
of jobs is about 80 kB of JSON text, so the whole cache stays within about 20 MB)."""
KEY = "odyssee_results"
"""Where a connection's :class:`Results` live, in its DBAPI connection's ``info``."""

Row = tuple[Any, ...]


class Results:
    """One connection's kept results, all of one database version."""

    __slots__ = ("_entries", "_version")

    def __init__(self) -> None:
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, tuple[Row, ...]] = OrderedDict()

    def get(self, version: int, key: Hashable) -> list[Row] | None:
        """The rows kept for ``key`` at ``version``, or None; a new version forgets everything."""
        if version != self._version:
            self._version = version
            self._entries.clear()
            return None
        rows = self._entries.get(key)
        if rows is None:
            return None
        self._entries.move_to_end(key)
        return list(rows)

    def put(self, version: int, key: Hashable, rows: Sequence[Row]) -> None:
        """Keep ``rows`` as read at ``version``; the results of any other version are forgotten."""
        if len(rows) > MAX_ROWS:
            return
        if version != self._version:
            self._version = version
            self._entries.clear()
        self._entries[key] = tuple(rows)
        if len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
