"""Abuse limits of the SFTP server: failed-login bans and connection counts.

``LoginGuard`` counts failed password logins per (source address, username) and per source address
over a sliding window and bans the pair, or the whole address, for a while once a count is reached.
Attempts a ban refuses are not counted again: one camera with a wrong password behind a school's
NAT bans only its own (address, username) pair and never adds up to a ban of the address, so the
other photographers behind that NAT keep working. Only an address that fails with many different
user names (password spraying) is banned as a whole.

Ban state lives in Redis when ``SFTPD_REDIS_URL`` is set, so every SFTP server process shares it;
otherwise in this process. If Redis is unreachable the guard lets logins through (and says so in
the log): a broken Redis must not lock every photographer out.

``ConnectionCounter`` limits unauthenticated connections per address and sessions per FTP user.
It counts in this process only: each SFTP server process enforces its own limits.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

logger = logging.getLogger("sftpd.guard")


@dataclass(frozen=True)
class BanPolicy:
    window: int  # seconds failures are remembered
    user_failures: int  # per (address, username) before that pair is banned
    address_failures: int  # per address before the whole address is banned
    duration: int  # seconds a ban lasts

    @classmethod
    def from_settings(cls) -> BanPolicy:
        return cls(
            window=settings.SFTPD_BAN_WINDOW,
            user_failures=settings.SFTPD_BAN_USER_FAILURES,
            address_failures=settings.SFTPD_BAN_ADDRESS_FAILURES,
            duration=settings.SFTPD_BAN_SECONDS,
        )


class BanStore(Protocol):
    async def banned(self, key: str) -> bool: ...

    async def add_failure(self, key: str, window: int) -> int:
        """Record one failure and return how many happened within ``window`` seconds."""
        ...

    async def ban(self, key: str, seconds: int) -> None: ...

    async def forget(self, key: str) -> None:
        """Drop the failures counted for ``key`` (after a successful login)."""
        ...


class MemoryBanStore:
    """Ban state of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._bans: dict[str, float] = {}

    async def banned(self, key: str) -> bool:
        until = self._bans.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._bans[key]
            return False
        return True

    async def add_failure(self, key: str, window: int) -> int:
        now = self._clock()
        failures = self._failures[key]
        failures.append(now)
        while failures and failures[0] <= now - window:
            failures.popleft()
        self._prune(now, window)
        return len(failures)

    async def ban(self, key: str, seconds: int) -> None:
        self._bans[key] = self._clock() + seconds

    async def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self, now: float, window: int) -> None:
        # Keep memory bounded under a flood of distinct names: drop counters that have gone quiet.
        if len(self._failures) > 10_000:
            for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - window]:
                del self._failures[key]


class RedisBanStore:
    """Ban state shared by every SFTP server process through Redis (sorted sets and expiring keys)."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    async def banned(self, key: str) -> bool:
        return bool(await self._redis.exists(f"{self._prefix}ban:{key}"))

    async def add_failure(self, key: str, window: int) -> int:
        name = f"{self._prefix}fail:{key}"
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, "-inf", now - window)
            pipe.zadd(name, {uuid.uuid4().hex: now})
            pipe.zcard(name)
            pipe.expire(name, window)
            results = await pipe.execute()
        return int(results[2])

    async def ban(self, key: str, seconds: int) -> None:
        await self._redis.set(f"{self._prefix}ban:{key}", 1, ex=seconds)

    async def forget(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}fail:{key}")

    async def close(self) -> None:
        await self._redis.aclose()


def _wait(seconds: int) -> str:
    if seconds >= 120:
        return f"{-(-seconds // 60)} minutes"
    return f"{seconds} seconds"


def _pair(address: str, username: str) -> str:
    return f"user:{address}:{username.lower()}"


def _address(address: str) -> str:
    return f"addr:{address}"


class LoginGuard:
    """Decides whether a login attempt may be tried, and bans after repeated failures."""

    def __init__(self, store: BanStore, policy: BanPolicy | None = None) -> None:
        self.store = store
        self._policy = policy

    @property
    def policy(self) -> BanPolicy:
        return self._policy or BanPolicy.from_settings()

    async def refusal(self, address: str, username: str) -> str:
        """Why logins for ``username`` from ``address`` are refused now ("" when they are not)."""
        wait = _wait(self.policy.duration)
        try:
            if await self.store.banned(_address(address)):
                return f"Too many failed logins from your address. Try again in {wait}."
            if await self.store.banned(_pair(address, username)):
                return f"Too many failed logins for {username!r} from your address. Try again in {wait}."
        except Exception:  # Redis down: fail open, loudly
            logger.warning("ban store unavailable; not checking bans", exc_info=True)
        return ""

    async def failed(self, address: str, username: str) -> None:
        policy = self.policy
        try:
            pair_failures = await self.store.add_failure(_pair(address, username), policy.window)
            if pair_failures >= policy.user_failures:
                await self.store.ban(_pair(address, username), policy.duration)
                logger.warning(
                    "login ban address=%s user=%s failures=%d seconds=%d",
                    address,
                    username,
                    pair_failures,
                    policy.duration,
                )
            address_failures = await self.store.add_failure(_address(address), policy.window)
            if address_failures >= policy.address_failures:
                await self.store.ban(_address(address), policy.duration)
                logger.warning(
                    "login ban address=%s user=* failures=%d seconds=%d", address, address_failures, policy.duration
                )
        except Exception:
            logger.warning("ban store unavailable; failed login not counted", exc_info=True)

    async def succeeded(self, address: str, username: str) -> None:
        try:
            await self.store.forget(_pair(address, username))
        except Exception:
            logger.warning("ban store unavailable", exc_info=True)


def make_guard() -> LoginGuard:
    """The guard for a listener: Redis-backed when configured."""
    if settings.SFTPD_REDIS_URL:
        return LoginGuard(RedisBanStore(settings.SFTPD_REDIS_URL, settings.SFTPD_REDIS_PREFIX))
    return LoginGuard(MemoryBanStore())


class ConnectionCounter:
    """Unauthenticated connections per address and logged-in sessions per FTP user, in this process."""

    def __init__(self) -> None:
        self.unauthenticated: dict[str, int] = defaultdict(int)
        self.sessions: dict[int, int] = defaultdict(int)

    def open_unauthenticated(self, address: str) -> bool:
        """Count a new connection; False (and not counted) when the address has too many."""
        if self.unauthenticated[address] >= settings.SFTPD_MAX_UNAUTH_PER_ADDRESS:
            return False
        self.unauthenticated[address] += 1
        return True

    def close_unauthenticated(self, address: str) -> None:
        self.unauthenticated[address] -= 1
        if self.unauthenticated[address] <= 0:
            del self.unauthenticated[address]

    def sessions_full(self, ftp_user_id: int) -> bool:
        return self.sessions.get(ftp_user_id, 0) >= settings.SFTPD_MAX_SESSIONS_PER_USER

    def open_session(self, ftp_user_id: int) -> bool:
        if self.sessions_full(ftp_user_id):
            return False
        self.sessions[ftp_user_id] += 1
        return True

    def close_session(self, ftp_user_id: int) -> None:
        self.sessions[ftp_user_id] -= 1
        if self.sessions[ftp_user_id] <= 0:
            del self.sessions[ftp_user_id]
