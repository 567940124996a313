"""Shared pieces of the SFTP server tests: a logged-in asyncssh client, raw SFTP requests.

Every test gets its own Redis key prefix for ban state (when Redis is configured), so one test's
failed logins never ban another's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncssh
import pytest
from django.db import connections
from pytest_django import Settings

from tests.conftest import PASSWORD
from tests.helpers import connect

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _own_ban_state(settings: Settings) -> None:
    settings.LOGIN_REDIS_PREFIX = f"sftpd-test-{uuid.uuid4().hex[:8]}:"


@asynccontextmanager
async def sftp_session(
    port: int, username: str = "photographer", password: str | None = PASSWORD, **kwargs: Any
) -> AsyncIterator[asyncssh.SFTPClient]:
    """A logged-in asyncssh SFTP client."""
    sftp_version = kwargs.pop("sftp_version", 3)
    async with (
        connect(port, username, password, **kwargs) as conn,
        conn.start_sftp_client(sftp_version=sftp_version) as sftp,
    ):
        yield sftp


def run(coro_fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run a coroutine function from a sync test, with a hard limit so nothing can hang."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(*args, **kwargs), 120)

    return asyncio.run(bounded())


async def refusal(awaitable: Awaitable[object]) -> asyncssh.SFTPError:
    """The SFTP error a request is answered with (failing the test if it succeeds)."""
    try:
        await awaitable
    except asyncssh.SFTPError as exc:
        return exc
    raise AssertionError("the request succeeded but should have been refused")


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run database code from inside a test's event loop, in a thread that closes its connection
    afterwards (a connection left open would keep PostgreSQL from dropping the test database)."""

    def call() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(call)


async def request(sftp: asyncssh.SFTPClient, pkttype: int | bytes, *args: bytes) -> Any:
    """Send one raw SFTP request through asyncssh's client handler and return the parsed reply."""
    handler = sftp._handler  # the only way to send exactly the bytes a client sends
    return await handler._make_request(pkttype, *args)
