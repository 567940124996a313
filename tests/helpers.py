"""Small tools the tests share: recording uploads, real SFTP clients, waiting (images are in ``tests.images``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import asyncssh
import pytest

# What ``asyncssh.connect`` returns: awaitable for the connection, and usable with ``async with``.
# asyncssh exports no public name for it.
from asyncssh.misc import _ACMWrapper
from django.db.models.fields.files import FieldFile

from albums import storage
from albums.models import Album, Door, Upload
from albums.services import FilePath, ReceivedFile, file_finished
from jobs.models import FTPUser

T = TypeVar("T")


def write_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def file_name(field: FieldFile) -> str:
    """The storage name of a file the code has stored (django-stubs types ``FieldFile.name`` as optional)."""
    assert field.name is not None, "no file stored"
    return field.name


def register_upload(
    album: Album, filename: str, data: bytes, *, folder: str = "", ftp_user: FTPUser | None = None
) -> Upload:
    """Record a finished file as a door does (``albums.services.file_finished``), from bytes.

    Only the upload log: the file is not listed in the tree (``tree.operations`` does both).
    """
    stored = storage.save_bytes(storage.upload_name(account_id=album.job.account_id, filename=filename), data)
    received = ReceivedFile(
        stored_name=stored,
        size=len(data),
        sha256="",
        ftp_user=ftp_user,
        door=Door.SFTP,
        client_address="127.0.0.1",
        source_path=f"/{album.job.internal_name}/{album.name}/{folder + '/' if folder else ''}{filename}",
    )
    return file_finished(where=FilePath(album=album, folder=folder, filename=filename), received=received)


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 30.0,
    interval: float = 0.1,
    describe: Callable[[], str] | None = None,
) -> T:
    """Poll until ``predicate()`` is truthy; fail the test with a clear message on timeout.

    A falsy value is never returned, so a predicate's ``None`` (``.first()`` finding nothing) is not either.
    ``describe`` adds what helps to understand a timeout (a child process's log, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s" + (f"\n{describe()}" if describe else ""))
        time.sleep(interval)


SSH_OPTIONS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "BatchMode=no",  # sftp -b turns BatchMode on, which would forbid the askpass password
    "-o", "PubkeyAuthentication=no",
    "-o", "PreferredAuthentications=password",
    "-o", "NumberOfPasswordPrompts=1",
]  # fmt: skip


def require_program(program: str, package: str) -> str:
    """The path of a client program a test needs; skip without it, but fail in CI, which installs it."""
    path = shutil.which(program)
    if path is None:
        reason = f"{program} is not installed (Debian package {package}; .ci/run installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run_client(
    args: list[str], *, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run a command-line SSH/SFTP client the way a script would: no terminal, bounded in time.

    Without a controlling terminal OpenSSH reads the password through SSH_ASKPASS (see ``askpass``).
    """
    return subprocess.run(
        args,
        input=input,
        stdin=subprocess.DEVNULL if input is None else None,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        start_new_session=True,
    )


def openssh_sftp(
    port: int, username: str, commands: str, env: dict[str, str], *, extra: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run OpenSSH's ``sftp`` in batch mode against the test server (password from SSH_ASKPASS)."""
    return run_client(
        ["sftp", *SSH_OPTIONS, *(extra or []), "-P", str(port), "-b", "-", f"{username}@127.0.0.1"],
        input=commands,
        env=env,
    )


def connect(
    port: int, username: str, password: str | None = None, **kwargs: object
) -> _ACMWrapper[asyncssh.SSHClientConnection]:
    """An asyncssh client connection coroutine to the test server."""
    return asyncssh.connect(
        "127.0.0.1",
        port,
        username=username,
        password=password,
        known_hosts=None,
        client_keys=kwargs.pop("client_keys", None),
        agent_path=None,
        **kwargs,
    )


async def sftp_login_attempt(port: int, username: str, password: str) -> Exception | None:
    """One SFTP login; None when it worked, else the exception the client got."""
    try:
        async with connect(port, username, password) as conn:
            await conn.start_sftp_client()
    except (asyncssh.PermissionDenied, asyncssh.DisconnectError, ConnectionError) as exc:
        return exc
    return None


def database_url_for_children() -> str:
    """A DATABASE_URL that points a child process at the test database this session uses."""
    from django.db import connection

    db = connection.settings_dict
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
