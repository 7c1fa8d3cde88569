"""Password hashing (argon2id) with a small cache of recent successful verifications.

Basic auth sends the password on every request, and argon2 is slow on purpose (tens of ms).
A verified (credential, stored hash, password digest) triple is remembered for a while, so a
busy integration pays the hashing cost once; changing the password changes the stored hash
and invalidates the entry.

Once means once: an integration that opens sixteen connections to a server just started sends
sixteen first requests with the same credentials at once. They would hash the same password on
every worker thread together, each taking as long as all of them (two cores), so the first
answers took most of a second; the first one hashes and the others wait for it and find it
remembered (:data:`_hashing`). A wrong password is never remembered: each try is hashed (and
counted by the login throttle, api/throttle.py).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from odyssee.db.inline import require_thread

_HASHER = PasswordHasher()
_CACHE_SIZE = 1024
_CACHE_SECONDS = 300.0
_cache: OrderedDict[tuple[int, str, str], float] = OrderedDict()
_lock = threading.Lock()
_hashing: dict[tuple[int, str, str], threading.Lock] = {}
"""The (credential, stored hash, password digest) triples being hashed now, each with the lock its
hashing holds: a second verification of the same triple waits for the first's result."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(credential_id: int, stored_hash: str, password: str) -> bool:
    digest = hashlib.sha256(password.encode()).hexdigest()
    entry = (credential_id, stored_hash, digest)
    if _remembered(entry):
        return True
    require_thread()  # tens of ms of hashing: never on the event loop (db/inline.py)
    with _lock:
        turn = _hashing.setdefault(entry, threading.Lock())
    try:
        with turn:
            if _remembered(entry):  # hashed while this one waited for its turn
                return True
            try:
                _HASHER.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False
            with _lock:
                _cache[entry] = time.monotonic() + _CACHE_SECONDS
                while len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
            return True
    finally:
        with _lock:
            if _hashing.get(entry) is turn:
                del _hashing[entry]


def _remembered(entry: tuple[int, str, str]) -> bool:
    with _lock:
        expires = _cache.get(entry)
        if expires is not None and expires > time.monotonic():
            _cache.move_to_end(entry)
            return True
    return False
