"""The login guard every door shares (tree.guard): bans that spare a school's shared NAT, expiry,
Redis failing open, and session counts that hold across server processes through Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings

from tree import guard as guards
from tree.guard import BanPolicy, ConnectionCounter, LoginGuard, MemoryBanStore, RedisBanStore, RedisSessionStore


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _redis_url() -> str:
    if not django_settings.LOGIN_REDIS_URL:
        pytest.skip("Redis-backed guard: no Redis configured (set REDIS_URL)")
    return str(django_settings.LOGIN_REDIS_URL)


def _drop_keys(prefix: str) -> None:
    redis = guards.redis_client(_redis_url())
    for key in redis.scan_iter(match=f"{prefix}*"):
        redis.delete(key)
    redis.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"guard-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    if django_settings.LOGIN_REDIS_URL:
        _drop_keys(prefix)


@pytest.fixture(params=["memory", "redis"])
def guard(request: pytest.FixtureRequest, prefix: str) -> Iterator[LoginGuard]:
    policy = BanPolicy(window=60, user_failures=3, address_failures=5, duration=900)
    store = MemoryBanStore() if request.param == "memory" else RedisBanStore(_redis_url(), prefix)
    guard = LoginGuard(store, policy)
    yield guard
    guard.close()


def test_the_guard_bans_a_pair_without_counting_its_banned_attempts_against_the_address(guard) -> None:
    for _ in range(3):
        guard.failed("10.0.0.1", "camera")
    pair = guard.refusal("10.0.0.1", "camera")
    # The camera keeps trying; the server refuses it before counting anything.
    for _ in range(50):
        if not guard.refusal("10.0.0.1", "camera"):
            guard.failed("10.0.0.1", "camera")
    assert "Too many failed logins for 'camera'" in pair and "15 minutes" in pair
    assert guard.refusal("10.0.0.1", "anna") == ""  # the rest of the school's NAT
    assert guard.refusal("10.0.0.2", "camera") == ""


def test_the_guard_bans_an_address_that_fails_with_many_names(guard) -> None:
    for i in range(5):
        guard.failed("10.0.0.9", f"user{i}")
    assert guard.refusal("10.0.0.9", "anna").startswith("Too many failed logins from your address")
    assert guard.refusal("10.0.0.8", "anna") == ""


def test_a_success_forgets_the_failures_of_that_pair(guard) -> None:
    for _ in range(2):
        guard.failed("10.0.0.1", "anna")
    guard.succeeded("10.0.0.1", "anna")
    for _ in range(2):
        guard.failed("10.0.0.1", "anna")
    assert guard.refusal("10.0.0.1", "anna") == ""


def test_the_guard_is_safe_to_use_from_many_threads_at_once(guard) -> None:
    # The FTP door calls it from one thread per connection.
    threads = [threading.Thread(target=guard.failed, args=("10.0.0.7", f"user{i}")) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert guard.refusal("10.0.0.7", "someone").startswith("Too many failed logins from your address")


def test_memory_bans_and_failures_expire() -> None:
    clock = FakeClock()
    guard = LoginGuard(MemoryBanStore(clock), BanPolicy(window=60, user_failures=2, address_failures=100, duration=300))
    guard.failed("10.0.0.1", "anna")
    clock.now += 61  # the first failure leaves the window
    guard.failed("10.0.0.1", "anna")
    assert guard.refusal("10.0.0.1", "anna") == ""
    guard.failed("10.0.0.1", "anna")
    assert guard.refusal("10.0.0.1", "anna")
    clock.now += 301
    assert guard.refusal("10.0.0.1", "anna") == ""


def test_an_unreachable_redis_lets_logins_through(caplog: pytest.LogCaptureFixture) -> None:
    guard = LoginGuard(RedisBanStore("redis://127.0.0.1:1/0", "x:"), BanPolicy(60, 1, 1, 60))
    guard.failed("10.0.0.1", "anna")
    assert guard.refusal("10.0.0.1", "anna") == ""
    assert "ban store unavailable" in caplog.text
    guard.close()


# --- connection counts ------------------------------------------------------------------------------


def test_connections_still_logging_in_are_limited_per_address(settings: Settings) -> None:
    settings.LOGIN_MAX_UNAUTH_PER_ADDRESS = 2
    counter = ConnectionCounter()
    assert counter.open_unauthenticated("10.0.0.1") and counter.open_unauthenticated("10.0.0.1")
    assert not counter.open_unauthenticated("10.0.0.1")
    assert counter.open_unauthenticated("10.0.0.2")
    counter.close_unauthenticated("10.0.0.1")
    assert counter.open_unauthenticated("10.0.0.1")


def test_sessions_per_ftp_user_are_limited_in_one_process(settings: Settings) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 2
    counter = ConnectionCounter()
    first, second = counter.open_session(7), counter.open_session(7)
    assert first and second and counter.open_session(7) is None
    assert counter.open_session(8)  # another FTP user
    counter.close_session(7, first)
    assert counter.sessions(7) == 1 and counter.open_session(7)


def test_sessions_per_ftp_user_are_counted_across_server_processes_through_redis(
    settings: Settings, prefix: str
) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 3
    # Two server processes (an SFTP and an FTP node, say) sharing one Redis.
    sftp_node = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    ftp_node = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    try:
        tokens = [sftp_node.open_session(7), sftp_node.open_session(7), ftp_node.open_session(7)]
        assert all(tokens)
        assert ftp_node.open_session(7) is None and sftp_node.open_session(7) is None
        assert ftp_node.sessions(7) == sftp_node.sessions(7) == 3
        assert tokens[0] is not None
        sftp_node.close_session(7, tokens[0])
        assert ftp_node.open_session(7)
    finally:
        sftp_node.shutdown()
        ftp_node.shutdown()


def test_the_sessions_of_a_crashed_server_stop_counting_when_their_lease_runs_out(
    settings: Settings, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 1
    clock = FakeClock()
    monkeypatch.setattr(guards.time, "time", clock)
    crashed = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    assert crashed.open_session(7)  # then the process dies: nothing closes or renews it
    survivor = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    try:
        assert survivor.open_session(7) is None
        clock.now += guards.SESSION_LEASE + 1
        assert survivor.open_session(7)
    finally:
        crashed.shutdown()
        survivor.shutdown()


def test_a_live_servers_sessions_keep_counting_past_the_first_lease(
    settings: Settings, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 1
    clock = FakeClock()
    monkeypatch.setattr(guards.time, "time", clock)
    live = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    other = ConnectionCounter(RedisSessionStore(_redis_url(), prefix))
    try:
        assert live.open_session(7)
        clock.now += guards.SESSION_LEASE - 5
        live.renew_leases()
        clock.now += 10  # past the first lease
        assert other.open_session(7) is None
    finally:
        live.shutdown()
        other.shutdown()


def test_sessions_are_counted_in_the_process_when_redis_is_unreachable(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 1
    counter = ConnectionCounter(RedisSessionStore("redis://127.0.0.1:1/0", "x:"))
    token = counter.open_session(7)
    assert token and counter.open_session(7) is None
    assert "session store unavailable" in caplog.text
    counter.shutdown()


def test_expired_bans_and_old_failures_are_forgotten() -> None:
    clock = FakeClock()
    store = MemoryBanStore(clock)
    guard = LoginGuard(store, BanPolicy(window=60, user_failures=1, address_failures=100, duration=300))
    guard.failed("10.0.0.1", "anna")
    assert guard.refusal("10.0.0.1", "anna")
    clock.now += 301
    guard.expire()
    assert store.expire(60) == 0  # the first expiry took them all
    assert not store._bans and not store._failures
