"""Password hashing: the Argon2id hasher, and the short-lived record of FTP credentials just verified.

- ``Argon2idHasher`` is first in ``PASSWORD_HASHERS``: Argon2id at OWASP's minimum (Password Storage
  Cheat Sheet: m=19 MiB, t=2, p=1), about a tenth of the CPU of Django's default PBKDF2 (1M
  iterations) per check. FTP users and web users (the admin) share the list, so both hash with it;
  the PBKDF2 hashers stay after it so hashes made before still verify, and Django rehashes them on
  the next successful login (``check_password``'s setter; the admin's login does the same).
- ``VerifiedCredentials`` remembers, for ``LOGIN_VERIFIED_TTL`` seconds, that a (user name,
  password, stored hash) was verified, so the several connections FileZilla or WinSCP open cost one
  check. It keeps only an HMAC-SHA256 of the three under a key made at random in each process: no
  password, nothing usable elsewhere, and a new password or a rehash changes the stored hash and so
  misses by itself. Only successes are kept; concurrent checks of the same three wait for the first
  rather than each computing the hash. ``jobs.services.ftp_user_authenticate_password`` is its one
  user and still reads the user (active or not) from the database on every login.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.contrib.auth.hashers import Argon2PasswordHasher

VERIFIED_MAX = 10_000  # credentials remembered per process; the least recently used goes first


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum; hashes keep Django's ``argon2$argon2id$...`` form."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    # One lane: on a small server the cores serve other logins and transfers, not one hash.
    parallelism = 1


class VerifiedCredentials:
    """HMACs of (user name, password, stored hash) verified lately, with when; thread-safe, LRU-bounded."""

    def __init__(self, max_size: int = VERIFIED_MAX) -> None:
        self._key = secrets.token_bytes(32)
        self._max_size = max_size
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # digest -> time.monotonic() of the check
        self._lock = threading.Lock()
        self._flights: dict[bytes, tuple[threading.Lock, int]] = {}  # digest -> (its lock, waiters)

    def _digest(self, username: str, password: str, encoded: str) -> bytes:
        message = b"\0".join(part.encode("utf-8", "surrogatepass") for part in (username, password, encoded))
        # NUL cannot end up in a user name or a stored hash, so the three parts stay apart.
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def _fresh(self, digest: bytes, ttl: float) -> bool:
        with self._lock:
            at = self._seen.get(digest)
            if at is None:
                return False
            if time.monotonic() - at >= ttl:
                del self._seen[digest]
                return False
            self._seen.move_to_end(digest)
            return True

    def remember(self, *, username: str, password: str, encoded: str, ttl: float) -> None:
        """Record a success (for a hash just written, so the next connection finds it); not when ``ttl`` <= 0."""
        if ttl > 0:
            self._remember(self._digest(username, password, encoded))

    def _remember(self, digest: bytes) -> None:
        with self._lock:
            self._seen[digest] = time.monotonic()
            self._seen.move_to_end(digest)
            while len(self._seen) > self._max_size:
                self._seen.popitem(last=False)

    @contextmanager
    def _flight(self, digest: bytes) -> Iterator[None]:
        """One check at a time per digest; the lock goes when its last waiter leaves."""
        with self._lock:
            lock, waiters = self._flights.get(digest, (threading.Lock(), 0))
            self._flights[digest] = (lock, waiters + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, waiters = self._flights[digest]
                if waiters == 1:
                    del self._flights[digest]
                else:
                    self._flights[digest] = (lock, waiters - 1)

    def check(self, *, username: str, password: str, encoded: str, ttl: float, verify: Callable[[], bool]) -> bool:
        """Whether ``verify()`` holds for these three: from the record if it did within ``ttl`` seconds.

        ``ttl`` <= 0 always verifies and records nothing.
        """
        if ttl <= 0:
            return verify()
        digest = self._digest(username, password, encoded)
        if self._fresh(digest, ttl):
            return True
        with self._flight(digest):
            if self._fresh(digest, ttl):  # verified by the check this one waited for
                return True
            if not verify():
                return False
            self._remember(digest)
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)


verified_credentials = VerifiedCredentials()
