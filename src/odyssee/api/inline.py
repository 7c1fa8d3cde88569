"""Which reads the API runs on the event loop itself, and which it sends to a worker thread.

On SQLite a short read runs inline (db/inline.py says why: thread convoys on the GIL cost a
20-row page three quarters of its throughput). What keeps the event loop responsive:

* only GETs whose page can hold at most :data:`MAX_ROWS` rows (``Prefer: odata.maxpagesize`` and
  ``$top``); a bulk pull spends its time in Python, and that belongs on a thread;
* every statement runs under the inline budget (``ODYSSEE_INLINE_READ_MS``): past it SQLite
  interrupts the statement, the read-only transaction is rolled back and the whole read runs
  again on a worker thread, with the full statement timeout;
* a read whose statement ran past the budget, and whose run on the thread took longer than the
  budget again (so not a cold page cache), is remembered (path and query, for
  :data:`MEMORY_SECONDS`) and goes straight to a thread the next time, so a repeated slow query
  pays the budget once, not on every call.

PostgreSQL reads always run on a thread: psycopg waits on the network, and that wait must not
hold the event loop.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.requests import Request

from odyssee.api.negotiation import prefer
from odyssee.db.engine import Database

MAX_ROWS = 200
"""The largest page a read may ask for and still run inline."""
MEMORY_SECONDS = 60.0
"""How long a slow read is remembered as slow: long enough to spare a dashboard, short enough to
notice that an index was added."""
_MEMORY_SIZE = 1024


class InlineReads:
    """The policy of the module docstring, with its memory of recently slow reads."""

    def __init__(self, budget_ms: int) -> None:
        self.budget_ms = budget_ms
        self._slow: OrderedDict[str, float] = OrderedDict()

    def key(self, request: Request, database: Database, page_size: int) -> str | None:
        """The read's memory key when it may run inline, else ``None`` (``page_size``: the server's default page)."""
        if not self.budget_ms or database.dialect != "sqlite":
            return None
        # The scope's path, not request.url: Starlette builds a URL object anew for every request.
        key = f"{request.scope['path']}?{request.scope.get('query_string', b'').decode('latin-1')}"
        if key in self._slow:
            if self._slow[key] > time.monotonic():
                return None
            del self._slow[key]
        if _page_bound(request, page_size) > MAX_ROWS:
            return None
        return key

    def slow(self, key: str) -> None:
        """Remember that this read needs a thread."""
        self._slow[key] = time.monotonic() + MEMORY_SECONDS
        self._slow.move_to_end(key)
        while len(self._slow) > _MEMORY_SIZE:
            self._slow.popitem(last=False)


def _page_bound(request: Request, page_size: int) -> int:
    """The most rows the read's page may hold, as far as the request says; unparsable values count
    as large (the read then runs on a thread and reports the error from there)."""
    bound = page_size
    wanted = prefer(request.headers).get("odata.maxpagesize")
    if wanted is not None:
        bound = int(wanted) if _plain_number(wanted) else MAX_ROWS + 1
    top = request.query_params.get("$top")
    if top is not None:
        bound = min(bound, int(top)) if _plain_number(top) else MAX_ROWS + 1
    return bound


def _plain_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is true, and int() refuses it
