"""Which requests the API runs on the event loop itself, and which it sends to a worker thread.

A short read or write runs inline, on both engines, for reasons of their own:

* SQLite (db/inline.py says why): thread convoys on the GIL cost a 20-row page three quarters of
  its throughput; a single write spent about a third of its time handing off to a thread and
  winning the GIL back there (docs/performance.md).
* PostgreSQL: the unit of work runs in a greenlet on the loop over psycopg's asyncio connection
  (db/engine.py ``serve_loop``), so the domain's plain functions run unchanged and every wait on
  the network is an ``await`` during which the loop serves other requests. A worker thread paid
  a hand-off each way and won the GIL back from busy threads after every round trip: a GET by id
  answered ×1.45 as often on the loop, a 0-row poll ×1.3, a single POST ×1.2; a page of 20 to 100
  rows the same, within the noise (docs/performance.md, point 18 of the read path).

What keeps the event loop responsive:

* only GETs whose page can hold at most :data:`MAX_ROWS` rows (``Prefer: odata.maxpagesize`` and
  ``$top``); a bulk pull spends its time in Python, and that belongs on a thread;
* only writes whose body is at most :data:`MAX_BODY_BYTES` (a file upload decodes and stores
  megabytes), and not ``$batch`` (a thousand operations are a thousand writes);
* work that knows it is slow (hashing a password not in the cache) leaves the loop before it
  starts (db/inline.py ``require_thread``) and the unit runs again on a thread;
* SQLite only, as its statements run on the loop's thread: every statement runs under the inline
  budget (``ODYSSEE_INLINE_READ_MS``, for writes ``ODYSSEE_INLINE_WRITE_MS``): past it SQLite
  interrupts the statement, the transaction is rolled back and the whole request runs again on
  a worker thread, with the full statement timeout. A write also leaves the loop, before it
  starts, when another thread of this process holds the write lock (db/engine.py), and waits
  for another process's write lock at most the budget. A request whose statement ran past the
  budget, and whose run on the thread took longer than the budget again (so not a cold page
  cache), is remembered (method, path and query, for :data:`MEMORY_SECONDS`) and goes straight
  to a thread the next time, so a repeated slow request pays the budget once, not on every call.
  PostgreSQL needs none of this: a slow query is awaited, under the full statement timeout; the
  two settings still switch inline work off (``0``) on both engines.

Running a write twice is safe because the first try changed nothing: its transaction was rolled
back, and the rate limit was charged once (api/routes.py).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from starlette.requests import Request

from odyssee.api.negotiation import prefer, query_of

MAX_ROWS = 200
"""The largest page a read may ask for and still run inline."""
MAX_BODY_BYTES = 64 * 1024
"""The largest body a write may send and still run inline."""
MEMORY_SECONDS = 60.0
"""How long a slow request is remembered as slow: long enough to spare a dashboard, short enough to
notice that an index was added."""
_MEMORY_SIZE = 1024


class InlinePolicy:
    """The policy of the module docstring, with its memory of recently slow requests."""

    def __init__(self, read_ms: int, write_ms: int) -> None:
        self.read_ms = read_ms
        self.write_ms = write_ms
        self._slow: OrderedDict[str, float] = OrderedDict()

    def budget_ms(self, *, write: bool) -> int:
        """The statement budget of an inline read or write (0: never inline)."""
        return self.write_ms if write else self.read_ms

    def key(self, request: Request, page_size: int, *, write: bool) -> str | None:
        """The request's memory key when it may run inline, else ``None`` (``page_size``: the
        server's default page)."""
        if not self.budget_ms(write=write):
            return None
        # The scope's path, not request.url: Starlette builds a URL object anew for every request.
        scope = request.scope
        key = f"{scope['method']} {scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"
        if key in self._slow:
            if self._slow[key] > time.monotonic():
                return None
            del self._slow[key]
        too_large = _body_bound(request) > MAX_BODY_BYTES if write else _page_bound(request, page_size) > MAX_ROWS
        return None if too_large else key

    def slow(self, key: str) -> None:
        """Remember that this request needs a thread."""
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
    top = query_of(request).get("$top")
    if top is not None:
        bound = min(bound, int(top)) if _plain_number(top) else MAX_ROWS + 1
    return bound


def _body_bound(request: Request) -> int:
    """The body's size as its ``Content-Length`` says (the body is read, and bounded, by then);
    a body without one (chunked) counts as large."""
    length = request.headers.get("content-length")
    if length is None:
        return 0 if request.method == "DELETE" else MAX_BODY_BYTES + 1
    return int(length) if _plain_number(length) else MAX_BODY_BYTES + 1


def _plain_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is true, and int() refuses it
