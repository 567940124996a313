"""Password checks: Argon2id at OWASP's minimum, old PBKDF2 hashes rehashed on the next login, and the
short-lived record of verified credentials that lets a client's next connections skip the hash."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password
from django.db import connections

from jobs import passwords, services
from jobs.models import Account, FTPUser
from jobs.passwords import Argon2idHasher, verified_credentials
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import ftps
from tests.sftpd.conftest import run, sftp_session

ARGON2ID_PREFIX = "argon2$argon2id$v=19$m=19456,t=2,p=1$"


@pytest.fixture(autouse=True)
def _empty_record() -> Iterator[None]:
    verified_credentials.clear()
    yield
    verified_credentials.clear()


@pytest.fixture
def verifies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The algorithm of every hash computed to check a password, in order."""
    computed: list[str] = []
    lock = threading.Lock()
    for hasher in (Argon2idHasher, PBKDF2PasswordHasher):
        real = hasher.verify

        def counting(self: Any, password: str, encoded: str, real: Any = real) -> bool:
            with lock:
                computed.append(encoded.split("$")[0])
            return real(self, password, encoded)

        monkeypatch.setattr(hasher, "verify", counting)
    return computed


def _login(username: str = "photographer", password: str = PASSWORD) -> FTPUser | None:
    return services.ftp_user_authenticate_password(username=username, password=password)


def _stored(user: FTPUser) -> str:
    return FTPUser.objects.values_list("password", flat=True).get(pk=user.pk)


def _with_pbkdf2_hash(user: FTPUser) -> FTPUser:
    """The user as it was before Argon2id: its password hashed with Django's PBKDF2."""
    FTPUser.objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    user.refresh_from_db()
    return user


def _computed(into: list[str], name: str) -> bool:
    into.append(name)
    return True


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def test_a_new_password_is_stored_as_argon2id_at_owasps_minimum(ftp_user: FTPUser) -> None:
    assert ftp_user.password.startswith(ARGON2ID_PREFIX)
    assert PASSWORD not in ftp_user.password


def test_an_old_pbkdf2_hash_logs_in_and_is_rehashed_on_that_login(ftp_user: FTPUser, verifies: list[str]) -> None:
    _with_pbkdf2_hash(ftp_user)
    assert _login() == ftp_user
    assert _stored(ftp_user).startswith(ARGON2ID_PREFIX)
    verified_credentials.clear()
    assert _login() == ftp_user
    assert verifies == ["pbkdf2_sha256", "argon2"]


def test_the_login_after_a_rehash_needs_no_hash_either(ftp_user: FTPUser, verifies: list[str]) -> None:
    _with_pbkdf2_hash(ftp_user)
    assert _login() == ftp_user
    assert _login() == ftp_user  # the new hash was remembered as it was written
    assert verifies == ["pbkdf2_sha256"]


def test_a_wrong_password_is_neither_rehashed_nor_remembered(ftp_user: FTPUser, verifies: list[str]) -> None:
    old = _with_pbkdf2_hash(ftp_user).password
    assert _login(password="wrong password") is None
    assert _stored(ftp_user) == old
    assert len(verified_credentials) == 0
    assert _login(password="wrong password") is None
    assert verifies == ["pbkdf2_sha256", "pbkdf2_sha256"]


def test_a_second_login_within_the_ttl_computes_no_hash(ftp_user: FTPUser, verifies: list[str], monkeypatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(passwords, "time", clock)
    assert _login() == ftp_user
    clock.now += 299
    assert _login() == ftp_user
    assert verifies == ["argon2"]
    clock.now += 1  # 300 s after the check: a hit does not make the record last longer
    assert _login() == ftp_user
    assert verifies == ["argon2", "argon2"]


def test_a_ttl_of_zero_checks_every_login(settings, ftp_user: FTPUser, verifies: list[str]) -> None:
    settings.LOGIN_VERIFIED_TTL = 0
    assert _login() == ftp_user
    assert _login() == ftp_user
    assert verifies == ["argon2", "argon2"]
    assert len(verified_credentials) == 0


def test_a_password_change_invalidates_the_record(ftp_user: FTPUser, verifies: list[str]) -> None:
    assert _login() == ftp_user
    services.ftp_user_set_password(ftp_user=ftp_user, password="a new password")
    assert _login() is None
    assert _login(password="a new password") == ftp_user
    assert verifies == ["argon2", "argon2", "argon2"]


def test_a_deactivated_user_is_refused_even_with_a_remembered_password(ftp_user: FTPUser, verifies: list[str]) -> None:
    assert _login() == ftp_user
    services.ftp_user_set_active(ftp_user=ftp_user, is_active=False)
    assert _login() is None
    # Refused after a hash as any other refusal, so the answer's timing says nothing either.
    assert verifies == ["argon2", "argon2"]


def test_the_record_holds_no_password(ftp_user: FTPUser) -> None:
    assert _login() == ftp_user
    state = vars(verified_credentials)
    assert len(verified_credentials) == 1
    [(digest, at)] = state["_seen"].items()
    assert isinstance(digest, bytes) and len(digest) == 32 and isinstance(at, float)
    everything = repr(state).encode() + b"".join(state["_seen"])
    for secret in (PASSWORD, ftp_user.password, ftp_user.password.split("$")[-1]):
        assert secret.encode() not in everything


def test_the_record_forgets_the_least_recently_used_beyond_its_size() -> None:
    record = passwords.VerifiedCredentials(max_size=2)
    for name in ("a", "b", "c"):
        record.remember(username=name, password=PASSWORD, encoded="x", ttl=300)
    assert len(record) == 2
    computed: list[str] = []
    for name in ("c", "b", "a"):  # newest first: each miss would push an older one out
        assert record.check(
            username=name, password=PASSWORD, encoded="x", ttl=300, verify=partial(_computed, computed, name)
        )
    assert computed == ["a"]


def test_simultaneous_logins_with_the_same_password_compute_one_hash(
    transactional_db: None, account: Account, verifies: list[str]
) -> None:
    user = _with_pbkdf2_hash(services.ftp_user_create(account=account, username="photographer", password=PASSWORD))
    start = threading.Barrier(20)
    results: list[FTPUser | None] = []

    def login() -> None:
        try:
            start.wait()
            results.append(_login())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=login) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [user] * 20
    assert verifies == ["pbkdf2_sha256"]
    assert _stored(user).startswith(ARGON2ID_PREFIX)


def test_two_simultaneous_rehashes_leave_one_working_hash(
    transactional_db: None, settings, account: Account, verifies: list[str]
) -> None:
    settings.LOGIN_VERIFIED_TTL = 0  # no single flight: both compute, both try to rehash
    user = _with_pbkdf2_hash(services.ftp_user_create(account=account, username="photographer", password=PASSWORD))
    start = threading.Barrier(2)
    results: list[FTPUser | None] = []

    def login() -> None:
        try:
            start.wait()
            results.append(_login())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=login) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [user, user]
    assert _stored(user).startswith(ARGON2ID_PREFIX)
    assert _login() == user


def test_over_sftp_an_old_hash_is_rehashed_and_the_next_connections_need_no_hash(
    sftp_server: RunningServer, ftp_user: FTPUser, planned_job, verifies: list[str]
) -> None:
    _with_pbkdf2_hash(ftp_user)

    async def scenario() -> list[list[str]]:
        listings = []
        for _ in range(3):
            async with sftp_session(sftp_server.port) as sftp:
                listings.append(list(await sftp.listdir("/")))
        return listings

    assert run(scenario) == [["job00001"]] * 3
    assert verifies == ["pbkdf2_sha256"]
    assert _stored(ftp_user).startswith(ARGON2ID_PREFIX)


def test_over_ftps_the_next_connections_need_no_hash(
    ftp_server: RunningFTPServer, ftp_user: FTPUser, planned_job, verifies: list[str]
) -> None:
    for _ in range(3):
        with ftps(ftp_server) as client:
            assert client.nlst("/") == ["job00001"]
    assert verifies == ["argon2"]
