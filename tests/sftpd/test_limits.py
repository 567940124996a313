"""Abuse limits through the real SFTP server: bans after failed logins (without locking out a school's
shared NAT), failed attempts per connection, login and idle timeouts, keepalive, connection and
session counts, file size, write offsets and open handles. The guard on its own is tested in
tests/tree/test_guard.py."""

from __future__ import annotations

import asyncio
import logging
import socket
import subprocess
from pathlib import Path
from typing import TypeVar, cast

import asyncssh
import pytest
from asyncssh.packet import SSHPacket
from django.conf import settings as django_settings
from pytest_django import Settings

from albums.models import Upload
from jobs import services
from tests.conftest import PASSWORD
from tests.helpers import SSH_OPTIONS, connect, wait_for
from tests.helpers import sftp_login_attempt as _attempt
from tests.sftpd.conftest import refusal, run, sftp_session

ALBUM = "/job00001/Class 1"
T = TypeVar("T")


# --- bans through the real server ---------------------------------------------------------------


@pytest.fixture
def strict_bans(settings: Settings) -> None:
    settings.LOGIN_BAN_USER_FAILURES = 3
    settings.LOGIN_BAN_ADDRESS_FAILURES = 6
    settings.LOGIN_BAN_SECONDS = 600


def test_a_misconfigured_camera_behind_a_shared_nat_bans_only_itself(
    strict_bans, sftp_server, ftp_user, account, planned_job
) -> None:
    services.ftp_user_create(account=account, username="camera", password=PASSWORD)

    async def scenario() -> tuple[list[Exception | None], Exception | None, Exception | None]:
        wrong = [await _attempt(sftp_server.port, "camera", "old password") for _ in range(12)]
        right_but_banned = await _attempt(sftp_server.port, "camera", PASSWORD)
        colleague = await _attempt(sftp_server.port, "photographer", PASSWORD)
        return wrong, right_but_banned, colleague

    wrong, right_but_banned, colleague = run(scenario)
    assert all(isinstance(e, asyncssh.PermissionDenied | asyncssh.DisconnectError) for e in wrong)
    assert isinstance(right_but_banned, asyncssh.DisconnectError)
    assert "Too many failed logins for 'camera'" in right_but_banned.reason
    assert colleague is None  # the other photographers behind the same address still get in


def test_an_address_failing_with_many_names_is_banned_as_a_whole(
    strict_bans, sftp_server, ftp_user, planned_job
) -> None:
    async def scenario() -> Exception | None:
        for i in range(6):
            await _attempt(sftp_server.port, f"guess{i}", "password1")
        return await _attempt(sftp_server.port, "photographer", PASSWORD)

    error = run(scenario)
    assert isinstance(error, asyncssh.DisconnectError)
    assert "Too many failed logins from your address" in error.reason


def test_a_ban_ends_after_its_time(strict_bans, settings, sftp_server, ftp_user, planned_job) -> None:
    settings.LOGIN_BAN_SECONDS = 1

    async def scenario() -> None:
        for _ in range(3):
            await _attempt(sftp_server.port, "photographer", "wrong password")
        assert isinstance(await _attempt(sftp_server.port, "photographer", PASSWORD), asyncssh.DisconnectError)

    run(scenario)
    wait_for(lambda: run(_attempt, sftp_server.port, "photographer", PASSWORD) is None, timeout=30, interval=0.5)


class _StubbornClient(asyncssh.SSHClient):
    """Tries a wrong password again and again on one connection."""

    tries = 0

    def password_auth_requested(self) -> str:
        type(self).tries += 1
        return "wrong password"


def test_a_connection_is_closed_after_too_many_failed_attempts(settings, sftp_server, ftp_user) -> None:
    settings.LOGIN_MAX_AUTH_TRIES = 3

    async def scenario() -> Exception:
        try:
            async with connect(sftp_server.port, "photographer", client_factory=_StubbornClient):
                pass
        except (asyncssh.DisconnectError, asyncssh.PermissionDenied) as exc:
            return exc
        raise AssertionError("logged in")

    error = run(scenario)
    assert isinstance(error, asyncssh.DisconnectError)
    assert error.reason == "Too many failed login attempts on this connection."
    assert _StubbornClient.tries == 3


# --- timeouts -----------------------------------------------------------------------------------


@pytest.fixture
def quick_timeouts(settings: Settings) -> None:
    """Set before the listener starts: asyncssh takes these when the server is created."""
    settings.SFTPD_LOGIN_TIMEOUT = 1
    settings.SFTPD_KEEPALIVE = 1
    settings.SFTPD_KEEPALIVE_COUNT = 1


def test_a_client_that_never_logs_in_is_dropped_at_the_login_timeout(quick_timeouts, sftp_server) -> None:
    with socket.create_connection((sftp_server.host, sftp_server.port), timeout=30) as sock:
        assert sock.recv(256).startswith(b"SSH-2.0-PhotoPortal")
        sock.sendall(b"SSH-2.0-Silent\r\n")
        received = b""
        while chunk := sock.recv(65536):  # the server's KEXINIT, then the close
            received += chunk
    assert received  # ended by the server (a hang would fail on the socket timeout)


def test_an_idle_session_is_disconnected_with_a_reason(
    settings, sftp_server, ftp_user, planned_job, askpass, caplog
) -> None:
    settings.SFTPD_IDLE_TIMEOUT = 1
    caplog.set_level(logging.INFO, logger="sftpd.session")
    options = [o.replace("LogLevel=ERROR", "LogLevel=INFO") for o in SSH_OPTIONS]
    # An OpenSSH sftp session where nothing happens: the server ends it and says why.
    with subprocess.Popen(
        ["ssh", *options, "-p", str(sftp_server.port), "-s", "photographer@127.0.0.1", "sftp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=askpass,
        start_new_session=True,
    ) as client:
        try:
            client.wait(timeout=60)
        finally:
            client.kill()
        stderr = client.stderr.read().decode() if client.stderr else ""
    assert "Disconnected after 1 second without activity." in stderr
    wait_for(lambda: any('outcome="idle timeout"' in r.getMessage() for r in caplog.records), timeout=10)


def test_a_client_that_stops_answering_keepalives_is_dropped_and_others_stay(
    quick_timeouts, settings, sftp_server, ftp_user, planned_job, caplog
) -> None:
    settings.SFTPD_IDLE_TIMEOUT = 0  # only the keepalive may end these connections
    caplog.set_level(logging.INFO, logger="sftpd.session")

    async def scenario() -> list[str]:
        async with sftp_session(sftp_server.port) as healthy:
            frozen = await connect(sftp_server.port, "photographer", PASSWORD)
            await frozen.start_sftp_client()
            assert frozen._transport is not None  # set once connected
            frozen._transport.pause_reading()  # a client whose network went silent
            await asyncio.to_thread(
                wait_for, lambda: any("keepalive timeout" in r.getMessage() for r in caplog.records), 30
            )
            listing = list(await healthy.listdir("/"))  # answered its keepalives: still connected
            frozen.abort()
            return listing

    assert run(scenario) == ["job00001"]


# --- connection and session counts ----------------------------------------------------------------


def test_sessions_per_ftp_user_are_limited(settings, sftp_server, ftp_user, planned_job) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 2

    async def scenario() -> Exception | None:
        async with sftp_session(sftp_server.port), sftp_session(sftp_server.port):
            return await _attempt(sftp_server.port, "photographer", PASSWORD)

    third = run(scenario)
    assert isinstance(third, asyncssh.DisconnectError)
    assert "photographer already has 2 connections open, the most allowed at once. Close one" in third.reason
    # Once the server has seen the two close, there is room again.
    wait_for(lambda: run(_attempt, sftp_server.port, "photographer", PASSWORD) is None, timeout=30, interval=0.2)


def test_unauthenticated_connections_per_address_are_limited(
    settings, sftp_server, ftp_user, planned_job, caplog
) -> None:
    settings.LOGIN_MAX_UNAUTH_PER_ADDRESS = 2
    caplog.set_level(logging.INFO, logger="sftpd.session")
    waiting = [socket.create_connection((sftp_server.host, sftp_server.port), timeout=30) for _ in range(2)]
    try:
        for sock in waiting:
            assert sock.recv(64).startswith(b"SSH-2.0-")
        error = run(_attempt, sftp_server.port, "photographer", PASSWORD)
    finally:
        for sock in waiting:
            sock.close()
    # Turned away before the key exchange, where no message can reach the client: a closed connection.
    assert isinstance(error, asyncssh.DisconnectError | ConnectionError)
    wait_for(lambda: any('outcome="too many connections"' in r.getMessage() for r in caplog.records), timeout=10)
    wait_for(lambda: run(_attempt, sftp_server.port, "photographer", PASSWORD) is None, timeout=30, interval=0.2)


# --- files and handles --------------------------------------------------------------------------


def _nothing_kept() -> bool:
    staging = Path(django_settings.TREE_ROOT) / ".staging"
    return not any(p.is_file() for p in staging.rglob("*"))


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(settings, sftp_server, ftp_user, album) -> None:
    settings.TREE_MAX_FILE_BYTES = 1024 * 1024

    async def scenario() -> tuple[asyncssh.SFTPError, asyncssh.SFTPError, list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/huge.jpg", "wb")
            await f.write(b"x" * (1024 * 1024))
            too_far = await refusal(f.write(b"x", 1024 * 1024))
            close = await refusal(f.close())
            return too_far, close, list(await sftp.listdir(ALBUM))

    too_far, close, listing = run(scenario)
    assert too_far.reason == "Upload refused: files larger than 1 MB are not accepted."
    assert close.reason == too_far.reason
    assert "huge.jpg" not in listing
    assert not Upload.objects.exists()
    assert _nothing_kept()


def test_write_offsets_are_bounded(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[asyncssh.SFTPError, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/sparse.jpg", "wb")
            far = await refusal(f.write(b"x", 2**62))
            return far, await refusal(f.close())

    far, close = run(scenario)
    assert far.reason.startswith("Upload refused: files larger than")
    assert close.reason == far.reason
    assert not Upload.objects.exists()
    assert _nothing_kept()


def test_open_handles_per_session_are_bounded(settings, sftp_server, ftp_user, album) -> None:
    settings.SFTPD_MAX_HANDLES = 3

    async def scenario() -> tuple[asyncssh.SFTPError, asyncssh.SFTPError, int]:
        async with sftp_session(sftp_server.port) as sftp:
            files = [await sftp.open(f"{ALBUM}/{i}.jpg", "wb") for i in range(3)]
            too_many = await refusal(sftp.open(f"{ALBUM}/4.jpg", "wb"))
            no_dir = await refusal(sftp.listdir(ALBUM))
            await files[0].close()
            async with sftp.open(f"{ALBUM}/4.jpg", "wb") as f:
                await f.write(b"x")
            packet = await sftp._handler._make_request(b"limits@openssh.com")
            # asyncssh leaves the decoding of an extended reply to the caller: it is the raw packet.
            limits = asyncssh.sftp.SFTPLimits.decode(cast(SSHPacket, packet))
            for f in files[1:]:
                await f.close()
            return too_many, no_dir, limits.max_open_handles

    too_many, no_dir, advertised = run(scenario)
    assert too_many.reason == "Too many files and folders open at once (at most 3); close some first."
    assert no_dir.reason == too_many.reason
    assert advertised == 3
