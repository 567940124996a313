"""The only place where the SFTP server touches Django: sync functions run off the event loop.

``run`` sends database and blocking file work (the tree's operations, the login guard) to a thread
pool, with ``close_old_connections`` around each call as healthchecks' smtpd does; password hashing
gets a pool of its own, at a lower CPU priority, so twenty logins at once never hold up the file
writes of sessions already in. The SSH key check lives here too: it is the one login rule that
needs asyncssh.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import asyncssh
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from jobs import selectors, services
from jobs.models import FTPUser
from tree import principal
from tree.principal import Principal

T = TypeVar("T")

IO_THREADS = 8
_io_pool = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="sftpd-io")
AUTH_NICENESS = 10  # password hashes yield the CPU to the transfers of sessions already in


def _yield_to_transfers() -> None:
    """Lower this thread's CPU priority (Linux: a thread is a task of its own for setpriority)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), AUTH_NICENESS)


_auth_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sftpd-auth", initializer=_yield_to_transfers)


def _with_connections(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a sync function (ORM, service, tree operation, blocking file I/O) in the I/O pool."""
    call = partial(_with_connections, fn, *args, **kwargs)
    return await sync_to_async(call, thread_sensitive=False, executor=_io_pool)()


def submit(fn: Callable[..., Any], *args: Any) -> None:
    """Run a sync function in the I/O pool without waiting for it (from a synchronous asyncssh hook)."""
    # A pool thread does not inherit context variables: the caller's (the audit's actor) goes along.
    _io_pool.submit(contextvars.copy_context().run, _with_connections, fn, *args)


def drain(timeout: float = 30.0) -> bool:
    """Wait until everything handed to the I/O pool so far has finished (False on timeout).

    Every pool thread is made to wait at one barrier: the queue is first in, first out, so once all
    of them are there no earlier work is queued or running. A stopping server (a test's) calls it so
    that no session's last database write lands after it is gone.
    """
    barrier = threading.Barrier(IO_THREADS + 1, timeout=timeout)

    def meet() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    for _ in range(IO_THREADS):
        _io_pool.submit(meet)
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        return False
    return True


async def run_auth(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a password or key check in the authentication pool."""
    call = partial(_with_connections, fn, *args, **kwargs)
    return await sync_to_async(call, thread_sensitive=False, executor=_auth_pool)()


def _acceptable(key: asyncssh.SSHKey) -> bool:
    """The key types ``ssh_key_add`` accepts, checked again in case a row was written another way."""
    algorithm = key.get_algorithm()
    if algorithm not in services.ACCEPTED_KEY_TYPES:
        return False
    return algorithm != "ssh-rsa" or services.rsa_key_bits(key) >= services.MIN_RSA_BITS


def _authorized_key(username: str, key: asyncssh.SSHKey) -> Principal | None:
    if not _acceptable(key):
        return None
    for stored in selectors.ftp_user_keys(username=username):
        try:
            if asyncssh.import_public_key(stored.public_key).public_data == key.public_data:
                user = FTPUser.objects.select_related("account").get(pk=stored.ftp_user_id)
                return Principal(ftp_user=user, method="publickey", key=stored)
        except (asyncssh.KeyImportError, ValueError):
            continue  # a key the database holds but asyncssh cannot read never matches
    return None


async def authenticate_password(username: str, password: str) -> Principal | None:
    return await run_auth(principal.authenticate_password, username, password)


async def authorized_key(username: str, key: asyncssh.SSHKey) -> Principal | None:
    return await run_auth(_authorized_key, username, key)
