"""Shared pieces of the FTP door's tests: logged-in ftplib clients (FTPS and, where allowed, plain FTP)
and ``camera``, an FTP user the studio allowed plain FTP."""

from __future__ import annotations

import ftplib
import io
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from jobs import services
from jobs.models import Account, FTPUser
from tests.conftest import PASSWORD, RunningFTPServer


@pytest.fixture(autouse=True)
def _own_ban_state(settings) -> None:
    settings.LOGIN_REDIS_PREFIX = f"ftpd-test-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
def camera(account: Account) -> FTPUser:
    """A camera the studio allowed plain FTP (most of them speak nothing else)."""
    user = services.ftp_user_create(account=account, username="camera", password=PASSWORD)
    return services.ftp_user_set_plain_ftp(ftp_user=user, allowed=True)


def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a self-signed certificate (its fingerprint is tested on its own)
    return context


@contextmanager
def _quitting(client: ftplib.FTP) -> Iterator[None]:
    """QUIT at the end, or just close when the server already did (a timeout, a limit)."""
    try:
        yield
    finally:
        try:
            client.quit()
        except (ftplib.Error, OSError, EOFError):
            client.close()


@contextmanager
def ftps(
    server: RunningFTPServer, username: str = "photographer", password: str = PASSWORD, *, protect: bool = True
) -> Iterator[ftplib.FTP_TLS]:
    """A logged-in explicit FTPS client (AUTH TLS, then PROT P unless ``protect`` is False)."""
    client = ftplib.FTP_TLS(context=tls_context(), encoding="utf-8")
    client.connect(server.host, server.port, timeout=30)
    client.auth()
    client.login(username, password)
    if protect:
        client.prot_p()
    with _quitting(client):
        yield client


@contextmanager
def plain_ftp(server: RunningFTPServer, username: str, password: str = PASSWORD) -> Iterator[ftplib.FTP]:
    client = ftplib.FTP(encoding="utf-8")
    client.connect(server.host, server.port, timeout=30)
    client.login(username, password)
    with _quitting(client):
        yield client


def put(client: ftplib.FTP, path: str, data: bytes) -> str:
    return client.storbinary(f"STOR {path}", io.BytesIO(data))


def get(client: ftplib.FTP, path: str) -> bytes:
    out = io.BytesIO()
    client.retrbinary(f"RETR {path}", out.write)
    return out.getvalue()


def refusal(call, *args: object) -> ftplib.Error:
    """The FTP error reply a command is answered with (failing the test if it succeeds)."""
    try:
        call(*args)
    except ftplib.Error as exc:
        return exc
    raise AssertionError("the command succeeded but should have been refused")
