"""The only place where the SFTP server touches Django: sync functions run off the event loop.

``run`` sends database and blocking file work to a thread pool (``close_old_connections`` around
each call, as healthchecks' smtpd does); password hashing gets a pool of its own so twenty
logins at once never hold up the file writes of sessions already in.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import asyncssh
from asgiref.sync import sync_to_async
from django.db import close_old_connections

from albums import services as album_services
from albums.models import Album
from albums.services import FilePath
from jobs import selectors, services
from jobs.models import FTPUser, PhotoJob, SSHKey

T = TypeVar("T")

_io_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sftpd-io")
_auth_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sftpd-auth")


def _with_connections(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a sync function (ORM, service, blocking file I/O) in the I/O pool."""
    call = partial(_with_connections, fn, *args, **kwargs)
    return await sync_to_async(call, thread_sensitive=False, executor=_io_pool)()


async def run_auth(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a password or key check in the authentication pool."""
    call = partial(_with_connections, fn, *args, **kwargs)
    return await sync_to_async(call, thread_sensitive=False, executor=_auth_pool)()


# --- the database calls of the SFTP server -------------------------------------------------------
# Each is a plain sync function with an async twin the server awaits.


@dataclass(frozen=True)
class Principal:
    """Who is logged in on a connection."""

    ftp_user: FTPUser
    username: str
    account_id: int
    method: str  # "password" or "publickey"
    key: SSHKey | None = None  # the key that logged in (publickey)


def _principal(user: FTPUser, method: str, key: SSHKey | None = None) -> Principal:
    return Principal(ftp_user=user, username=user.username, account_id=user.account_id, method=method, key=key)


def _authenticate_password(username: str, password: str) -> Principal | None:
    user = services.ftp_user_authenticate_password(username=username, password=password)
    return _principal(user, "password") if user else None


def _acceptable(key: asyncssh.SSHKey) -> bool:
    """The key types ``ssh_key_add`` accepts, checked again in case a row was written another way."""
    algorithm = key.get_algorithm()
    if algorithm not in services.ACCEPTED_KEY_TYPES:
        return False
    return algorithm != "ssh-rsa" or key.pyca_key.key_size >= services.MIN_RSA_BITS  # type: ignore[attr-defined]


def _authorized_key(username: str, key: asyncssh.SSHKey) -> Principal | None:
    if not _acceptable(key):
        return None
    for stored in selectors.ftp_user_keys(username=username):
        try:
            if asyncssh.import_public_key(stored.public_key).public_data == key.public_data:
                user = FTPUser.objects.get(pk=stored.ftp_user_id)
                return _principal(user, "publickey", stored)
        except (asyncssh.KeyImportError, ValueError):
            continue  # a key the database holds but asyncssh cannot read never matches
    return None


def _record_login(principal: Principal, address: str | None) -> None:
    services.ftp_user_record_login(ftp_user=principal.ftp_user, address=address, key=principal.key)


def _planned_jobs(account_id: int) -> list[PhotoJob]:
    return list(selectors.planned_jobs(account_id=account_id))


def _find_job(account_id: int, name: str) -> PhotoJob | None:
    return selectors.planned_jobs(account_id=account_id).filter(internal_name=name).first()


def _albums_of(job: PhotoJob) -> list[Album]:
    return list(Album.objects.filter(job=job))


def _lookup(account_id: int, job_name: str, album_name: str | None) -> tuple[PhotoJob | None, Album | None]:
    """The planned job and (when asked) its album a path names, in one trip to the I/O pool."""
    job = _find_job(account_id, job_name)
    if job is None or album_name is None:
        return job, None
    album = Album.objects.filter(job=job, name__iexact=album_name).first()
    if album is not None:
        album.job = job  # spares a query whenever the path is used
    return job, album


async def authenticate_password(username: str, password: str) -> Principal | None:
    return await run_auth(_authenticate_password, username, password)


async def authorized_key(username: str, key: asyncssh.SSHKey) -> Principal | None:
    return await run_auth(_authorized_key, username, key)


async def record_login(principal: Principal, address: str | None) -> None:
    await run(_record_login, principal, address)


async def planned_jobs(account_id: int) -> list[PhotoJob]:
    return await run(_planned_jobs, account_id)


async def find_job(account_id: int, name: str) -> PhotoJob | None:
    return await run(_find_job, account_id, name)


async def lookup(account_id: int, job_name: str, album_name: str | None) -> tuple[PhotoJob | None, Album | None]:
    return await run(_lookup, account_id, job_name, album_name)


async def albums_of(job: PhotoJob) -> list[Album]:
    return await run(_albums_of, job)


async def album_create(job: PhotoJob, name: str, principal: Principal) -> Album:
    return await run(album_services.album_create, job=job, name=name, ftp_user=principal.ftp_user)


async def album_rename(album: Album, name: str) -> Album:
    return await run(album_services.album_rename, album=album, name=name)


async def album_delete(album: Album) -> None:
    await run(album_services.album_delete, album=album)


async def file_closed(where: FilePath, **kwargs: Any) -> None:
    await run(album_services.sftp_file_closed, where=where, **kwargs)


async def file_renamed(old: FilePath, new: FilePath, **kwargs: Any) -> None:
    await run(album_services.sftp_file_renamed, old=old, new=new, **kwargs)


async def file_removed(where: FilePath) -> None:
    await run(album_services.sftp_file_removed, where=where)
