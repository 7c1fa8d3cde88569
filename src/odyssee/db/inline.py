"""Short read transactions on the calling thread, with a way out for anything that turns out long.

Python's ``sqlite3`` releases the GIL around every step of a statement, that is for every row.
When many worker threads run reads at once, each thread that gave the GIL up for a step has to
win it back from threads busy in Python, and waits for the interpreter's switch interval (5 ms)
to do so: the threads convoy. Measured with wrk and 16 clients on this project's 2-core machine, a
20-row page went from 590 req/s on the event loop to 130 req/s on anyio's 40 worker threads, for
the very same code (bench/floor.py, docs/performance.md). The API therefore runs a SQLite read
*inline*, on the event loop's thread, where the GIL is uncontended.

Inline work must stay short, or every other client of the process waits. So it is optimistic:
the transaction runs with a small statement budget (SQLite's progress handler interrupts a
statement past it, see db/engine.py), and code that knows it is about to be slow (hashing a
password that is not in the cache) calls :func:`require_thread`. Either way :class:`Offload` (or
the budget's :class:`~odyssee.model.errors.QueryTimeout`) unwinds and rolls back the read-only
transaction, and the caller runs the whole unit again on a worker thread with the full timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_INLINE: ContextVar[bool] = ContextVar("odyssee_inline", default=False)


class Offload(Exception):
    """The unit of work running inline needs a worker thread: roll back and run it there."""


def is_inline() -> bool:
    """Whether the current unit of work runs on the event loop's thread (see the module docstring)."""
    return _INLINE.get()


def require_thread() -> None:
    """Call before work that may take long (CPU-bound hashing, waiting): leaves the event loop."""
    if _INLINE.get():
        raise Offload


@contextmanager
def inline() -> Iterator[None]:
    """Mark the block as running inline, so that :func:`require_thread` offloads it."""
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)
