"""Protocol hygiene of the FTP door (DESIGN §8): no FTP bounce (PORT/EPRT only to the client's own
address, never to a privileged port, while PORT to it works), no passive connection theft (data
connections only from the control connection's address; one reset before the server took it never
leaves a transfer waiting), the SFTP door's bans and session counts (one guard for both doors,
shared through Redis), connections still logging in per address, failed attempts per connection,
the login and idle timeouts, and a client flooding commands cut off.

127.0.0.2 is loopback too: a "foreign" address that never leaves the machine.
"""

from __future__ import annotations

import asyncio
import ftplib
import hashlib
import select
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import cast

import asyncssh
import pytest
from django.conf import settings as django_settings
from pytest_django import Settings

from albums.models import Upload
from jobs import services
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import ftps, get, plain_ftp, put, refusal, tls_context
from tests.helpers import connect, sftp_login_attempt, wait_for
from tests.images import jpeg
from tree.models import TreeFile
from tree.operations import Entry, Tree

ALBUM = "/job00001/Class 1"
FOREIGN = "127.0.0.2"


def _until_closed(sock: socket.socket, timeout: float = 20) -> bytes:
    """Everything the server sends until it closes the connection (a hang fails on the timeout)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@contextmanager
def _trap(address: str) -> Iterator[socket.socket]:
    """A listening socket that must never see a connection."""
    with closing(socket.socket()) as listener:
        listener.bind((address, 0))
        listener.listen()
        yield listener


def _connected_to(listener: socket.socket, wait: float = 1.5) -> bool:
    readable, _, _ = select.select([listener], [], [], wait)
    return bool(readable)


# --- no FTP bounce ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["PORT", "EPRT"])
def test_port_to_another_address_is_refused_and_nothing_connects_there(ftp_server, camera, album, command: str) -> None:
    with _trap(FOREIGN) as trap, plain_ftp(ftp_server, "camera") as ftp:
        port = trap.getsockname()[1]
        target = f"127,0,0,2,{port // 256},{port % 256}" if command == "PORT" else f"|1|{FOREIGN}|{port}|"
        error = refusal(ftp.sendcmd, f"{command} {target}")
        assert str(error) == f"501 Data connections go only to your own address, not {FOREIGN}."
        # The upload that would have used it has no data connection, and is told so at once.
        error = refusal(ftp.sendcmd, f"STOR {ALBUM}/bounce.jpg")
        assert str(error).startswith("425 "), error
        assert not _connected_to(trap)
        # The same session still works with a data connection of its own.
        put(ftp, f"{ALBUM}/own.jpg", jpeg())
    assert list(Upload.objects.values_list("filename", flat=True)) == ["own.jpg"]


@pytest.mark.parametrize("door", ["ftp", "ftps"])
def test_port_to_the_clients_own_address_serves_uploads_listings_and_downloads_again_and_again(
    ftp_server, ftp_user, camera, album, door: str
) -> None:
    pictures = [jpeg(size=(640, 480), colour=(60 * i, 20, 90)) for i in range(3)]
    session = ftps(ftp_server) if door == "ftps" else plain_ftp(ftp_server, "camera")
    with session as ftp:
        ftp.set_pasv(False)  # PORT (EPRT) to 127.0.0.1, the control connection's own address
        for i, data in enumerate(pictures):
            assert put(ftp, f"{ALBUM}/active-{i}.jpg", data).startswith("226")
            assert f"active-{i}.jpg" in ftp.nlst(ALBUM)
            lines: list[str] = []
            ftp.retrlines(f"LIST {ALBUM}", lines.append)
            assert any(line.endswith(f" active-{i}.jpg") for line in lines)
            assert get(ftp, f"{ALBUM}/active-{i}.jpg") == data
    assert Upload.objects.count() == len(pictures)


@pytest.mark.parametrize(("command", "port"), [("PORT 127,0,0,1,0,80", 80), ("EPRT |1|127.0.0.1|21|", 21)])
def test_port_to_a_privileged_port_is_refused(ftp_server, camera, album, command: str, port: int) -> None:
    with plain_ftp(ftp_server, "camera") as ftp:
        error = refusal(ftp.sendcmd, command)
        assert str(error) == f"501 PORT to the privileged port {port} refused."
        assert str(refusal(ftp.sendcmd, f"STOR {ALBUM}/a.jpg")).startswith("425 ")
    assert not TreeFile.objects.exists()


# --- no passive connection theft ----------------------------------------------------------------


def _open_passive(ftp: ftplib.FTP, command: str) -> tuple[str, int]:
    reply = ftp.sendcmd(command)
    if command == "PASV":
        return ftplib.parse227(reply)
    assert ftp.sock is not None
    return ftplib.parse229(reply, ftp.sock.getpeername())


@pytest.mark.parametrize(("door", "command"), [("ftp", "PASV"), ("ftp", "EPSV"), ("ftps", "EPSV")])
def test_a_passive_data_connection_from_another_address_is_dropped_and_never_used(
    ftp_server, ftp_user, camera, album, door: str, command: str
) -> None:
    data = jpeg(size=(800, 600))
    session = ftps(ftp_server) if door == "ftps" else plain_ftp(ftp_server, "camera")
    with session as ftp:
        ftp.voidcmd("TYPE I")
        host, port = _open_passive(ftp, command)
        with closing(socket.socket()) as thief:
            thief.bind((FOREIGN, 0))
            thief.settimeout(10)
            thief.connect((host, port))
            # pyftpdlib (permit_foreign_addresses = False) closes it and says so on the control connection.
            error = refusal(ftp.getresp)
            assert (
                str(error) == f"425 Rejected data connection from foreign address {FOREIGN}:{thief.getsockname()[1]}."
            )
            assert _until_closed(thief) == b""
        # The port still waits for the client itself, and the transfer goes over that connection.
        conn = socket.create_connection((host, port), timeout=10)
        assert ftp.sendcmd(f"STOR {ALBUM}/snap.jpg")[:3] in ("125", "150")
        if door == "ftps":
            conn = cast(ftplib.FTP_TLS, ftp).context.wrap_socket(conn, server_hostname=ftp.host)
        conn.sendall(data)
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()
        conn.close()
        assert ftp.voidresp().startswith("226")
    assert Upload.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _final_reply(ftp: ftplib.FTP) -> str:
    """The reply that ends a command (past any 1xx preliminary one)."""
    while True:
        reply = ftp.getline()
        if reply[:1] != "1" and reply[3:4] != "-":
            return reply


def test_a_passive_data_connection_reset_before_the_server_took_it_never_leaves_the_transfer_waiting(
    ftp_server, camera, album, monkeypatch
) -> None:
    # The session's thread is busy for a moment, so the data connection is reset before it is accepted.
    real_stat = Tree.stat

    def slow_stat(self: Tree, path: str) -> Entry:
        if path.endswith("slow.jpg"):
            time.sleep(1)
        return real_stat(self, path)

    monkeypatch.setattr(Tree, "stat", slow_stat)
    with plain_ftp(ftp_server, "camera") as ftp:
        assert ftp.sock is not None
        put(ftp, f"{ALBUM}/slow.jpg", jpeg())
        ftp.voidcmd("TYPE I")
        host, port = _open_passive(ftp, "PASV")
        ftp.sock.sendall(f"SIZE {ALBUM}/slow.jpg\r\nSTOR {ALBUM}/lost.jpg\r\n".encode())
        _reset(socket.create_connection((host, port), timeout=10))
        assert _final_reply(ftp).startswith("213 ")
        # Whether the STOR came before the dead connection was seen or after: an answer, at once.
        assert _final_reply(ftp)[:4] in ("425 ", "426 ")
        put(ftp, f"{ALBUM}/after.jpg", jpeg(colour=(9, 9, 9)))  # and the session goes on
    assert sorted(Upload.objects.values_list("filename", flat=True)) == ["after.jpg", "slow.jpg"]


# --- one guard for both doors -------------------------------------------------------------------


@pytest.fixture
def strict_bans(settings: Settings) -> None:
    if not django_settings.LOGIN_REDIS_URL:
        pytest.skip("bans shared between the doors live in Redis: no Redis configured (set REDIS_URL)")
    settings.LOGIN_BAN_USER_FAILURES = 3
    settings.LOGIN_BAN_ADDRESS_FAILURES = 6
    settings.LOGIN_BAN_SECONDS = 600


def _ftps_login(server: RunningFTPServer, username: str, password: str) -> str:
    """One explicit FTPS login on a connection of its own: the reply to PASS (230 or the refusal)."""
    client = ftplib.FTP_TLS(context=tls_context(), encoding="utf-8")
    client.connect(server.host, server.port, timeout=30)
    try:
        client.auth()
        return client.login(username, password)
    except ftplib.Error as exc:
        return str(exc)
    finally:
        try:
            client.quit()
        except (ftplib.Error, OSError, EOFError):
            client.close()


def _sftp_login(server: RunningServer, username: str, password: str) -> Exception | None:
    """One SFTP login (asyncssh): None when it worked, else what the client got."""
    return asyncio.run(asyncio.wait_for(sftp_login_attempt(server.port, username, password), 60))


def test_failed_ftps_logins_ban_that_user_on_sftp_too(
    strict_bans, ftp_server, sftp_server, ftp_user, account, planned_job
) -> None:
    services.ftp_user_create(account=account, username="assistant", password=PASSWORD)
    for _ in range(3):
        assert _ftps_login(ftp_server, "photographer", "old password") == "530 Login incorrect."
    refused = _sftp_login(sftp_server, "photographer", PASSWORD)
    assert isinstance(refused, asyncssh.DisconnectError)
    assert refused.reason == "Too many failed logins for 'photographer' from your address. Try again in 10 minutes."
    assert _ftps_login(ftp_server, "photographer", PASSWORD) == (
        "530 Too many failed logins for 'photographer' from your address. Try again in 10 minutes."
    )
    assert _sftp_login(sftp_server, "assistant", PASSWORD) is None  # a ban of the pair, not of the address


def test_failed_sftp_logins_ban_that_user_on_ftps_too(
    strict_bans, ftp_server, sftp_server, ftp_user, account, planned_job
) -> None:
    services.ftp_user_create(account=account, username="assistant", password=PASSWORD)
    for _ in range(3):
        assert isinstance(_sftp_login(sftp_server, "photographer", "old password"), asyncssh.PermissionDenied)
    assert _ftps_login(ftp_server, "photographer", PASSWORD) == (
        "530 Too many failed logins for 'photographer' from your address. Try again in 10 minutes."
    )
    assert _ftps_login(ftp_server, "assistant", PASSWORD).startswith("230 ")


def test_sessions_per_user_count_across_both_doors(settings, ftp_server, sftp_server, ftp_user, planned_job) -> None:
    if not django_settings.LOGIN_REDIS_URL:
        pytest.skip("sessions shared between the doors are counted in Redis: no Redis configured (set REDIS_URL)")
    settings.LOGIN_MAX_SESSIONS_PER_USER = 1

    async def while_sftp_is_open() -> str:
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn, conn.start_sftp_client():
            return await asyncio.to_thread(_ftps_login, ftp_server, "photographer", PASSWORD)

    assert asyncio.run(asyncio.wait_for(while_sftp_is_open(), 60)) == (
        "530 photographer already has 1 connections open, the most allowed at once. Close one."
    )
    # Once the SFTP session ends, its place is free again.
    wait_for(lambda: _ftps_login(ftp_server, "photographer", PASSWORD).startswith("230 "), timeout=20)


# --- limits of the FTP door itself ---------------------------------------------------------------


def _connect(server: RunningFTPServer) -> ftplib.FTP_TLS:
    client = ftplib.FTP_TLS(context=tls_context(), encoding="utf-8")
    client.connect(server.host, server.port, timeout=30)
    return client


def test_sessions_per_user_are_limited_and_the_next_one_is_told_why(settings, ftp_server, ftp_user) -> None:
    settings.LOGIN_MAX_SESSIONS_PER_USER = 2
    with ftps(ftp_server):
        second = _connect(ftp_server)
        second.login("photographer", PASSWORD)
        assert _ftps_login(ftp_server, "photographer", PASSWORD) == (
            "530 photographer already has 2 connections open, the most allowed at once. Close one."
        )
        second.quit()
        wait_for(lambda: _ftps_login(ftp_server, "photographer", PASSWORD).startswith("230 "), timeout=20)


def test_connections_still_logging_in_are_limited_per_address(settings, ftp_server, ftp_user) -> None:
    settings.LOGIN_MAX_UNAUTH_PER_ADDRESS = 2
    first, second = _connect(ftp_server), _connect(ftp_server)
    try:
        with socket.create_connection((ftp_server.host, ftp_server.port), timeout=30) as third:
            assert _until_closed(third) == (
                b"421 Too many connections from your address are logging in at once; try again in a moment.\r\n"
            )
        # One that logs in no longer counts as logging in: there is room for another.
        first.auth()
        first.login("photographer", PASSWORD)
        fourth = _connect(ftp_server)
        assert (fourth.welcome or "").startswith("220")
        fourth.close()
    finally:
        first.close()
        second.close()


def test_too_many_failed_attempts_on_one_connection_close_it(settings, ftp_server, ftp_user) -> None:
    settings.LOGIN_MAX_AUTH_TRIES = 3
    settings.LOGIN_BAN_USER_FAILURES = 100  # this is about the connection, not a ban
    client = _connect(ftp_server)
    client.auth()
    replies = [str(refusal(client.login, "photographer", "wrong password")) for _ in range(2)]
    assert replies == ["530 Login incorrect."] * 2
    last = refusal(client.login, "photographer", "wrong password")
    assert str(last) == "530 Login incorrect. Too many failed attempts on this connection; disconnecting."
    with pytest.raises((EOFError, OSError)):
        client.login("photographer", PASSWORD)  # closed: no fourth attempt, not even the right one
    client.close()


def test_a_client_that_never_logs_in_gets_421_at_the_login_timeout(settings, ftp_server) -> None:
    settings.FTPD_LOGIN_TIMEOUT = 1
    with socket.create_connection((ftp_server.host, ftp_server.port), timeout=30) as sock:
        received = _until_closed(sock)
    assert received.startswith(b"220 ")
    assert received.endswith(b"\r\n421 Not logged in in time; disconnecting.\r\n")


def test_commands_do_not_put_off_the_login_timeout(settings, ftp_server) -> None:
    settings.FTPD_LOGIN_TIMEOUT = 2
    with socket.create_connection((ftp_server.host, ftp_server.port), timeout=30) as sock:
        file = sock.makefile("rb")
        assert file.readline().startswith(b"220 ")
        deadline = time.monotonic() + 20
        replies: list[bytes] = []
        while time.monotonic() < deadline:
            sock.sendall(b"NOOP\r\n")  # busy, but never logging in
            reply = file.readline()
            replies.append(reply)
            if not reply or reply.startswith(b"421"):
                break
            time.sleep(0.3)
    assert replies[-1] == b"421 Not logged in in time; disconnecting.\r\n"
    assert replies[0].startswith(b"200")


@pytest.mark.parametrize("port", ["implicit", "explicit"])
def test_a_client_that_never_finishes_the_tls_handshake_is_dropped_at_the_login_timeout(
    settings, ftp_server, port: str
) -> None:
    settings.FTPD_LOGIN_TIMEOUT = 1
    address = (ftp_server.host, ftp_server.implicit_port if port == "implicit" else ftp_server.port)
    with socket.create_connection(address, timeout=30) as sock:
        if port == "explicit":
            file = sock.makefile("rb")
            assert file.readline().startswith(b"220 ")
            sock.sendall(b"AUTH TLS\r\n")
            assert file.readline().startswith(b"234 ")
        # It never sends its TLS hello: no reply can reach it, the server just closes.
        assert _until_closed(sock) == b""


def test_an_idle_session_gets_421_and_is_closed(settings, ftp_server, camera, album) -> None:
    settings.FTPD_IDLE_TIMEOUT = 1
    with plain_ftp(ftp_server, "camera") as ftp:
        error = _wait_for_reply(ftp)
    assert error == "421 Disconnected after 1 seconds without activity."


def test_the_idle_timeout_holds_after_a_transfer_too(settings, ftp_server, camera, album) -> None:
    settings.FTPD_IDLE_TIMEOUT = 2
    with plain_ftp(ftp_server, "camera") as ftp:
        put(ftp, f"{ALBUM}/a.jpg", jpeg())
        ftp.nlst(ALBUM)
        error = _wait_for_reply(ftp)
    assert error == "421 Disconnected after 2 seconds without activity."


def _wait_for_reply(ftp: ftplib.FTP) -> str:
    """The next thing the server says without being asked (within the socket's timeout)."""
    try:
        return ftp.getresp()
    except ftplib.Error as exc:
        return str(exc)


# --- a flood of commands -------------------------------------------------------------------------


def _flood(sock: socket.socket, line: bytes, count: int) -> list[bytes]:
    file = sock.makefile("rb")
    greeting = file.readline()
    while greeting[3:4] == b"-":
        greeting = file.readline()
    sock.sendall(line * count)
    return _until_closed(sock).splitlines()


@pytest.mark.parametrize("line", [b"NOOP\r\n", b"XYZZY\r\n", b"LIST\r\n", b"PASS\r\n"])
def test_a_client_flooding_commands_before_logging_in_gets_421_and_is_disconnected(
    settings, ftp_server, line: bytes
) -> None:
    settings.FTPD_MAX_COMMANDS_PER_SECOND = 10
    with socket.create_connection((ftp_server.host, ftp_server.port), timeout=30) as sock:
        replies = _flood(sock, line, 50)
    # Known or not, valid or not, every command counts: ten are answered, the eleventh ends it.
    assert len(replies) == 11, replies
    assert replies[-1] == b"421 Too many commands at once; disconnecting."
    assert not any(r.startswith(b"421") for r in replies[:-1])


def test_a_logged_in_client_flooding_commands_is_cut_off_but_a_steady_one_is_not(
    settings, ftp_server, camera, album
) -> None:
    settings.FTPD_MAX_COMMANDS_PER_SECOND = 10
    with plain_ftp(ftp_server, "camera") as ftp:
        assert ftp.sock is not None and ftp.file is not None
        time.sleep(1.1)  # the login's own commands are out of the window
        for _ in range(3):
            ftp.sock.sendall(b"NOOP\r\n" * 8)  # within the limit, again and again
            assert [ftp.getresp() for _ in range(8)] == ["200 I successfully did nothing'."] * 8
            time.sleep(1.1)
        ftp.sock.sendall(b"NOOP\r\n" * 30)
        replies = [_wait_for_reply(ftp) for _ in range(11)]
        assert replies[-1] == "421 Too many commands at once; disconnecting."
        assert ftp.file.readline() == ""  # and the connection is closed
        with pytest.raises((EOFError, OSError)):
            ftp.voidcmd("NOOP")


def test_a_camera_uploading_fast_is_never_taken_for_a_flood(
    settings, ftp_server, camera, album, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PASV, TYPE and STOR per file: only PASV counts. With the flood clock held still, the whole
    session falls in one second: USER, PASS, four PASV and the listing's PASV pass a limit of eight,
    where counting every command (seventeen) would have cut the camera off."""
    from ftpd import handler

    monkeypatch.setattr(handler, "flood_clock", lambda: 1000.0)
    settings.FTPD_MAX_COMMANDS_PER_SECOND = 8
    with plain_ftp(ftp_server, "camera") as ftp:
        for n in range(4):
            put(ftp, f"/job00001/Class 1/fast{n}.jpg", jpeg(size=(40, 30)))
        assert sorted(ftp.nlst("/job00001/Class 1"))[:4] == [f"fast{n}.jpg" for n in range(4)]
