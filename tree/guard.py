"""The login guard every door shares: failed-login bans and connection counts.

``LoginGuard`` counts failed password logins per (source address, username) and per source address
over a sliding window and bans the pair, or the whole address, for a while once a count is reached.
Attempts a ban refuses are not counted again: one camera with a wrong password behind a school's
NAT bans only its own (address, username) pair and never adds up to a ban of the address, so the
other photographers behind that NAT keep working. Only an address that fails with many different
user names (password spraying) is banned as a whole.

``ConnectionCounter`` limits connections still logging in per address (in this process: it protects
this process's sockets and memory from a flood) and open sessions per FTP user (across every door
and server process when Redis is configured: "20 connections per FTP user" is what a studio is
told, whichever server a load balancer picks). A session holds a lease in Redis that this process
renews while it lives, so the sessions of a crashed server stop counting once their lease runs out.

Everything here is synchronous and thread-safe: a threaded server (FTP) calls it directly, the
asyncio one (SFTP) through its bridge. Ban and session state live in Redis when
``LOGIN_REDIS_URL`` is set; else failures and session counts are this process's and the bans are
rows in the database (``DatabaseBanStore``), so the web process can list and lift them in both
modes (``bans_in_force``, ``lift``). If Redis is unreachable the guard lets logins
through and counts sessions in this process only (and says so in the log): a broken Redis must not
lock every photographer out. Nor slow them down: each Redis call has a short timeout
(``LOGIN_REDIS_TIMEOUT``, 0.25 s), and after one fails the guard does not ask Redis again for
``BREAKER_PAUSE`` seconds, so a frozen Redis costs one login at most one timeout and the rest nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

logger = logging.getLogger("tree.guard")

# Seconds a session's entry in Redis lives without renewal; renewed every third of that.
SESSION_LEASE = 90
# Seconds the guard leaves Redis alone after a call failed (timed out, refused).
BREAKER_PAUSE = 10.0


class RedisSkipped(Exception):
    """Redis failed a moment ago; the guard did not ask it this time."""


class Breaker:
    """Stops asking a Redis that just failed, for a while, so a frozen one does not slow every login."""

    def __init__(self, pause: float = BREAKER_PAUSE) -> None:
        self.pause = pause
        self._until = 0.0

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < self._until:
            raise RedisSkipped("Redis failed moments ago")
        try:
            return fn(*args, **kwargs)
        except Exception:
            self._until = time.monotonic() + self.pause
            logger.warning("Redis unavailable; the login guard goes on without it for %gs", self.pause, exc_info=True)
            raise


@dataclass(frozen=True)
class BanPolicy:
    window: int  # seconds failures are remembered
    user_failures: int  # per (address, username) before that pair is banned
    address_failures: int  # per address before the whole address is banned
    duration: int  # seconds a ban lasts

    @classmethod
    def from_settings(cls) -> BanPolicy:
        return cls(
            window=settings.LOGIN_BAN_WINDOW,
            user_failures=settings.LOGIN_BAN_USER_FAILURES,
            address_failures=settings.LOGIN_BAN_ADDRESS_FAILURES,
            duration=settings.LOGIN_BAN_SECONDS,
        )


class BanStore(Protocol):
    def banned(self, key: str) -> bool: ...

    def add_failure(self, key: str, window: int) -> int:
        """Record one failure and return how many happened within ``window`` seconds."""
        ...

    def ban(self, key: str, seconds: int) -> None: ...

    def forget(self, key: str) -> None:
        """Drop the failures counted for ``key`` (after a successful login)."""
        ...


class MemoryBanStore:
    """Ban state of one process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._bans: dict[str, float] = {}

    def banned(self, key: str) -> bool:
        with self._lock:
            until = self._bans.get(key)
            if until is None:
                return False
            if until <= self._clock():
                del self._bans[key]
                return False
            return True

    def add_failure(self, key: str, window: int) -> int:
        with self._lock:
            now = self._clock()
            failures = self._failures[key]
            failures.append(now)
            while failures and failures[0] <= now - window:
                failures.popleft()
            self._prune(now, window)
            return len(failures)

    def ban(self, key: str, seconds: int) -> None:
        with self._lock:
            self._bans[key] = self._clock() + seconds

    def forget(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def expire(self, window: int) -> int:
        """Drop bans that ran out and failures older than ``window``; returns how many entries went."""
        with self._lock:
            now = self._clock()
            bans = [key for key, until in self._bans.items() if until <= now]
            for key in bans:
                del self._bans[key]
            quiet = [key for key, times in self._failures.items() if not times or times[-1] <= now - window]
            for key in quiet:
                del self._failures[key]
            return len(bans) + len(quiet)

    def _prune(self, now: float, window: int) -> None:
        # Keep memory bounded under a flood of distinct names: drop counters that have gone quiet.
        if len(self._failures) > 10_000:
            for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - window]:
                del self._failures[key]


class DatabaseBanStore:
    """Failures counted in this process, bans as rows in the database: the store without Redis.

    A flood of wrong passwords writes nothing (failures are counted in memory, as ``MemoryBanStore``
    does); only a ban, one per many failures, is a row (``tree.models.LoginBan``), which the web
    process lists and lifts. A ban this process placed whose row is gone was lifted: its failures are
    forgotten then too, so the next wrong password starts a fresh count (as a lift in Redis deletes
    the failures with the ban). A check is one indexed read per key; database trouble raises, and
    the guard fails open as with Redis (a login needs the database anyway).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._memory = MemoryBanStore(clock)
        self._lock = threading.Lock()
        self._placed: set[str] = set()  # bans this process placed, to notice a lift

    def banned(self, key: str) -> bool:
        from tree.models import LoginBan

        until = LoginBan.objects.filter(key=key).values_list("until", flat=True).first()
        if until is not None:
            return bool(until > timezone.now())
        with self._lock:
            lifted = key in self._placed
            self._placed.discard(key)
        if lifted:
            self._memory.forget(key)
        return False

    def add_failure(self, key: str, window: int) -> int:
        return self._memory.add_failure(key, window)

    def ban(self, key: str, seconds: int) -> None:
        from tree.models import LoginBan

        LoginBan.objects.update_or_create(key=key, defaults={"until": timezone.now() + timedelta(seconds=seconds)})
        with self._lock:
            self._placed.add(key)

    def forget(self, key: str) -> None:
        self._memory.forget(key)

    def expire(self, window: int) -> int:
        """Drop old failures and the rows of bans that ran out (any process's: they are over)."""
        from tree.models import LoginBan

        gone, _ = LoginBan.objects.filter(until__lte=timezone.now()).delete()
        return self._memory.expire(window) + gone


def redis_client(url: str) -> Any:
    from redis import Redis

    timeout = float(settings.LOGIN_REDIS_TIMEOUT)
    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


class RedisBanStore:
    """Ban state shared by every server process through Redis (sorted sets and expiring keys)."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis_client(url)
        self._breaker = Breaker()
        self.prefix = prefix

    def banned(self, key: str) -> bool:
        return bool(self._breaker.call(self._redis.exists, f"{self.prefix}ban:{key}"))

    def add_failure(self, key: str, window: int) -> int:
        name = f"{self.prefix}fail:{key}"
        now = time.time()
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(name, "-inf", now - window)
        pipe.zadd(name, {uuid.uuid4().hex: now})
        pipe.zcard(name)
        pipe.expire(name, window)
        return int(self._breaker.call(pipe.execute)[2])

    def ban(self, key: str, seconds: int) -> None:
        self._breaker.call(self._redis.set, f"{self.prefix}ban:{key}", 1, ex=seconds)

    def forget(self, key: str) -> None:
        self._breaker.call(self._redis.delete, f"{self.prefix}fail:{key}")

    def close(self) -> None:
        self._redis.close()


def _wait(seconds: int) -> str:
    if seconds >= 120:
        return gettext("{minutes} minutes").format(minutes=-(-seconds // 60))
    return gettext("{seconds} seconds").format(seconds=seconds)


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

    def refusal(self, address: str, username: str) -> str:
        """Why logins for ``username`` from ``address`` are refused now ("" when they are not)."""
        wait = _wait(self.policy.duration)
        try:
            if self.store.banned(_address(address)):
                return gettext("Too many failed logins from your address. Try again in {wait}.").format(wait=wait)
            if self.store.banned(_pair(address, username)):
                return gettext(
                    "Too many failed logins for {username!r} from your address. Try again in {wait}."
                ).format(username=username, wait=wait)
        except RedisSkipped:
            pass
        except Exception:  # Redis down: fail open, loudly
            logger.warning("ban store unavailable; not checking bans", exc_info=True)
        return ""

    def failed(self, address: str, username: str) -> None:
        policy = self.policy
        try:
            pair_failures = self.store.add_failure(_pair(address, username), policy.window)
            if pair_failures >= policy.user_failures:
                self.store.ban(_pair(address, username), policy.duration)
                logger.warning(
                    "login ban address=%s user=%s failures=%d seconds=%d",
                    address,
                    username,
                    pair_failures,
                    policy.duration,
                )
            address_failures = self.store.add_failure(_address(address), policy.window)
            if address_failures >= policy.address_failures:
                self.store.ban(_address(address), policy.duration)
                logger.warning(
                    "login ban address=%s user=* failures=%d seconds=%d", address, address_failures, policy.duration
                )
        except RedisSkipped:
            pass
        except Exception:
            logger.warning("ban store unavailable; failed login not counted", exc_info=True)

    def succeeded(self, address: str, username: str) -> None:
        try:
            self.store.forget(_pair(address, username))
        except Exception:
            logger.warning("ban store unavailable", exc_info=True)

    def expire(self) -> None:
        """Forget expired bans and old failures (Redis expires its keys by itself)."""
        expire = getattr(self.store, "expire", None)
        if expire is not None:
            expire(self.policy.window)

    def close(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            close()


# --- connection counts --------------------------------------------------------------------------

# Count the live leases of one FTP user and take one if there is room, in one step.
_OPEN_SESSION = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisSessionStore:
    """Open sessions per FTP user, shared through Redis: a sorted set of leases scored by expiry."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis_client(url)
        self._open = self._redis.register_script(_OPEN_SESSION)
        self._breaker = Breaker()
        self.prefix = prefix

    def _key(self, ftp_user_id: int) -> str:
        return f"{self.prefix}sessions:{ftp_user_id}"

    def count(self, ftp_user_id: int) -> int:
        return int(self._breaker.call(self._redis.zcount, self._key(ftp_user_id), time.time(), "+inf"))

    def open(self, ftp_user_id: int, token: str, limit: int) -> bool:
        now = time.time()
        args = [now, now + SESSION_LEASE, limit, token, SESSION_LEASE]
        return bool(self._breaker.call(self._open, keys=[self._key(ftp_user_id)], args=args))

    def renew(self, sessions: dict[str, int]) -> None:
        # Not through the breaker: renewals run in their own thread, never in a login's way.
        until = time.time() + SESSION_LEASE
        pipe = self._redis.pipeline(transaction=False)
        for token, ftp_user_id in sessions.items():
            pipe.zadd(self._key(ftp_user_id), {token: until}, xx=True)
            pipe.expire(self._key(ftp_user_id), SESSION_LEASE)
        pipe.execute()

    def close(self, ftp_user_id: int, token: str) -> None:
        self._breaker.call(self._redis.zrem, self._key(ftp_user_id), token)

    def shutdown(self) -> None:
        self._redis.close()


class ConnectionCounter:
    """Connections still logging in per address (this process) and open sessions per FTP user."""

    def __init__(self, sessions: RedisSessionStore | None = None) -> None:
        self._lock = threading.Lock()
        self.unauthenticated: dict[str, int] = defaultdict(int)
        self._local: dict[int, set[str]] = defaultdict(set)  # this process's sessions per FTP user
        self._shared = sessions
        self._renewer: threading.Thread | None = None
        self._stopped = threading.Event()

    # connections that have not logged in yet

    def open_unauthenticated(self, address: str) -> bool:
        """Count a new connection; False (and not counted) when the address has too many."""
        with self._lock:
            if self.unauthenticated[address] >= settings.LOGIN_MAX_UNAUTH_PER_ADDRESS:
                return False
            self.unauthenticated[address] += 1
            return True

    def close_unauthenticated(self, address: str) -> None:
        with self._lock:
            self.unauthenticated[address] -= 1
            if self.unauthenticated[address] <= 0:
                del self.unauthenticated[address]

    # sessions of logged-in FTP users

    def sessions(self, ftp_user_id: int) -> int:
        """Open sessions of this FTP user: everywhere when shared, else in this process."""
        if self._shared is not None:
            try:
                return self._shared.count(ftp_user_id)
            except RedisSkipped:
                pass
            except Exception:
                logger.warning("session store unavailable; counting this process only", exc_info=True)
        with self._lock:
            return len(self._local.get(ftp_user_id, ()))

    def open_session(self, ftp_user_id: int) -> str | None:
        """Take a session for this FTP user: its token, or None when all allowed are open."""
        limit = settings.LOGIN_MAX_SESSIONS_PER_USER
        token = uuid.uuid4().hex
        with self._lock:
            local = len(self._local.get(ftp_user_id, ()))
        if self._shared is not None:
            try:
                if not self._shared.open(ftp_user_id, token, limit):
                    return None
            except Exception as exc:
                if not isinstance(exc, RedisSkipped):
                    logger.warning("session store unavailable; counting this process only", exc_info=True)
                if local >= limit:
                    return None
        elif local >= limit:
            return None
        with self._lock:
            self._local[ftp_user_id].add(token)
        self._ensure_renewer()
        return token

    def close_session(self, ftp_user_id: int, token: str) -> None:
        with self._lock:
            tokens = self._local.get(ftp_user_id)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._local[ftp_user_id]
        if self._shared is not None:
            try:
                self._shared.close(ftp_user_id, token)
            except Exception:  # the lease runs out by itself
                logger.warning("session store unavailable; its lease will expire", exc_info=True)

    def _ensure_renewer(self) -> None:
        if self._shared is None or self._renewer is not None:
            return
        self._renewer = threading.Thread(target=self._renew_forever, name="session-leases", daemon=True)
        self._renewer.start()

    def _renew_forever(self) -> None:
        while not self._stopped.wait(SESSION_LEASE / 3):
            self.renew_leases()

    def renew_leases(self) -> None:
        """Keep this process's sessions counted in Redis (every third of a lease, by a thread)."""
        if self._shared is None:
            return
        with self._lock:
            live = {token: user for user, tokens in self._local.items() for token in tokens}
        if not live:
            return
        try:
            self._shared.renew(live)
        except Exception:
            logger.warning("could not renew session leases", exc_info=True)

    def shutdown(self) -> None:
        self._stopped.set()
        if self._shared is not None:
            self._shared.shutdown()


@dataclass(frozen=True)
class Ban:
    """A ban in force on a user name from one address (or on the whole address)."""

    address: str
    username: str  # "" for a ban of the whole address
    seconds_left: int

    @property
    def minutes_left(self) -> int:
        return -(-self.seconds_left // 60)


def _ban_of(key: str, seconds_left: int) -> Ban | None:
    """The ``Ban`` a guard key stands for (None for a key that is not a ban's)."""
    kind, _, rest = key.partition(":")
    if kind == "addr":
        return Ban(rest, "", seconds_left)
    if kind == "user" and ":" in rest:
        address, username = rest.rsplit(":", 1)
        return Ban(address, username, seconds_left)
    return None


def _key_of(ban: Ban) -> str:
    return _pair(ban.address, ban.username) if ban.username else _address(ban.address)


def all_bans() -> list[Ban]:
    """Every ban in force, from Redis (``LOGIN_REDIS_URL``) or else the database, longest first."""
    found: list[Ban] = []
    if settings.LOGIN_REDIS_URL:
        redis = redis_client(settings.LOGIN_REDIS_URL)
        prefix = f"{settings.LOGIN_REDIS_PREFIX}ban:"
        try:
            for raw in redis.scan_iter(match=f"{prefix}*", count=1000):
                ban = _ban_of(raw.decode()[len(prefix) :], max(int(redis.ttl(raw)), 0))
                if ban is not None and ban.seconds_left > 0:
                    found.append(ban)
        finally:
            redis.close()
    else:
        from tree.models import LoginBan

        now = timezone.now()
        for key, until in LoginBan.objects.filter(until__gt=now).values_list("key", "until"):
            ban = _ban_of(key, max(int((until - now).total_seconds()), 1))
            if ban is not None:
                found.append(ban)
    return sorted(found, key=lambda b: -b.seconds_left)


def bans_in_force(usernames: Collection[str], addresses: Collection[str] = ()) -> list[Ban]:
    """The bans in force on any of ``usernames`` (from any address) and on ``addresses`` as a whole.

    Read from Redis or the database, so the web process sees what every server process placed.
    """
    names = {name.lower() for name in usernames}
    wanted = set(addresses)
    return [b for b in all_bans() if (b.username and b.username in names) or (not b.username and b.address in wanted)]


def bans_of(username: str, addresses: Sequence[str] = ()) -> list[Ban]:
    """The bans in force on ``username`` (from any address) and on ``addresses`` as a whole."""
    return bans_in_force([username], addresses)


def lift(bans: Collection[Ban]) -> int:
    """Lift these bans and forget their failures (the ones still in force); returns how many."""
    if not bans:
        return 0
    keys = [_key_of(ban) for ban in bans]
    if settings.LOGIN_REDIS_URL:
        redis = redis_client(settings.LOGIN_REDIS_URL)
        prefix = settings.LOGIN_REDIS_PREFIX
        try:
            lifted = 0
            for key in keys:
                lifted += int(redis.delete(f"{prefix}ban:{key}"))
                redis.delete(f"{prefix}fail:{key}")
            return lifted
        finally:
            redis.close()
    from tree.models import LoginBan

    # The failures live in the server process, which forgets them when it sees the row gone.
    deleted, _ = LoginBan.objects.filter(key__in=keys).delete()
    return int(deleted)


def lift_bans(username: str, addresses: Sequence[str] = ()) -> int:
    """Lift the bans ``bans_of`` lists (and forget their failures); returns how many were lifted."""
    return lift(bans_of(username, addresses))


def make_guard() -> LoginGuard:
    """The ban guard for a server process: Redis-backed when configured, else bans in the database."""
    if settings.LOGIN_REDIS_URL:
        return LoginGuard(RedisBanStore(settings.LOGIN_REDIS_URL, settings.LOGIN_REDIS_PREFIX))
    return LoginGuard(DatabaseBanStore())


def make_counter() -> ConnectionCounter:
    """The connection counter for a server process: sessions shared through Redis when configured."""
    if settings.LOGIN_REDIS_URL:
        return ConnectionCounter(RedisSessionStore(settings.LOGIN_REDIS_URL, settings.LOGIN_REDIS_PREFIX))
    return ConnectionCounter()
