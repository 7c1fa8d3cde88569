"""Password hashing (argon2id) with a small cache of recent successful verifications.

Basic auth sends the password on every request, and argon2 is slow on purpose (tens of ms).
A verified (credential, stored hash, password digest) triple is remembered for a while, so a
busy integration pays the hashing cost once; changing the password changes the stored hash
and invalidates the entry.
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


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(credential_id: int, stored_hash: str, password: str) -> bool:
    digest = hashlib.sha256(password.encode()).hexdigest()
    entry = (credential_id, stored_hash, digest)
    now = time.monotonic()
    with _lock:
        expires = _cache.get(entry)
        if expires is not None and expires > now:
            _cache.move_to_end(entry)
            return True
    require_thread()  # tens of ms of hashing: never on the event loop (db/inline.py)
    try:
        _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    with _lock:
        _cache[entry] = now + _CACHE_SECONDS
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return True
