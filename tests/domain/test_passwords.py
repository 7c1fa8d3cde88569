"""Password verification hashes a password once, even when many requests bring it at once."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from argon2 import PasswordHasher

from odyssee.domain import passwords

_IDS = itertools.count(10_000_000)


class _CountingHasher(PasswordHasher):
    """argon2 itself, counting the verifications it does (each one tens of ms of hashing)."""

    def __init__(self) -> None:
        super().__init__()
        self.verifications = 0
        self._count = threading.Lock()

    def verify(self, hash: Any, password: Any) -> bool:
        with self._count:
            self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> _CountingHasher:
    counting = _CountingHasher()
    monkeypatch.setattr(passwords, "_HASHER", counting)
    return counting


def _all_at_once(credential_id: int, stored: str, password: str, clients: int = 8) -> list[bool]:
    start = threading.Barrier(clients)

    def verify() -> bool:
        start.wait(timeout=10)
        return passwords.verify_password(credential_id, stored, password)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda _: verify(), range(clients)))


def test_first_requests_arriving_together_hash_the_password_once(hasher: _CountingHasher) -> None:
    stored = passwords.hash_password("s3cret-together")
    assert _all_at_once(next(_IDS), stored, "s3cret-together") == [True] * 8
    assert hasher.verifications == 1, "the others waited for the first hashing and found it remembered"
    assert passwords._hashing == {}, "nothing is left behind once the hashing is done"


def test_a_wrong_password_is_hashed_on_every_try_and_never_remembered(hasher: _CountingHasher) -> None:
    stored = passwords.hash_password("right-one")
    credential = next(_IDS)
    assert _all_at_once(credential, stored, "wrong-one") == [False] * 8
    assert hasher.verifications == 8
    assert passwords.verify_password(credential, stored, "wrong-one") is False
    assert hasher.verifications == 9
    assert passwords.verify_password(credential, stored, "right-one") is True


def test_other_passwords_and_credentials_do_not_wait_for_each_other(hasher: _CountingHasher) -> None:
    stored = passwords.hash_password("shared")
    first, second = next(_IDS), next(_IDS)
    assert passwords.verify_password(first, stored, "shared") is True
    assert passwords.verify_password(second, stored, "shared") is True
    assert hasher.verifications == 2, "a verification is remembered for its own credential only"
    assert passwords.verify_password(first, stored, "shared") is True
    assert hasher.verifications == 2
