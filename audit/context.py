"""Who is acting right now: a context variable the adapters set and ``event_record`` reads.

The web middleware sets the logged-in staff user and the request's address, a door the FTP user and
the client's address, a management command the operator; a Celery task runs as the system. asyncio
tasks inherit the variable; a thread pool does not, so a door wraps the work it hands to a thread
in ``acting(...)`` itself.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from jobs.models import FTPUser


@dataclass(frozen=True)
class Actor:
    kind: str  # "staff" | "ftp_user" | "system"
    name: str
    user_id: int | None = None
    ftp_user_id: int | None = None
    address: str | None = None


SYSTEM = Actor(kind="system", name="system")

# An actor, or a function that tells it when an event is recorded (the web's: a request's user is
# looked up only by a request that writes, and a login during the request counts).
_current: ContextVar[Actor | Callable[[], Actor]] = ContextVar("audit_actor", default=SYSTEM)


def current() -> Actor:
    actor = _current.get()
    return actor if isinstance(actor, Actor) else actor()


@contextmanager
def acting(actor: Actor | Callable[[], Actor]) -> Iterator[None]:
    token = _current.set(actor)
    try:
        yield
    finally:
        _current.reset(token)


def enter(actor: Actor) -> None:
    """Act as ``actor`` for the rest of the current context: a door's session, whose thread (FTP) or
    asyncio task (SFTP, whose thread-pool calls go through ``sync_to_async``, which copies it) serves
    that one FTP user until it ends."""
    _current.set(actor)


def staff(user: AbstractBaseUser | AnonymousUser, address: str | None = None) -> Actor:
    if not getattr(user, "is_authenticated", False):
        return Actor(kind="system", name="anonymous", address=address)
    return Actor(kind="staff", name=user.get_username(), user_id=user.pk, address=address)


def ftp_user(user: FTPUser, address: str | None = None) -> Actor:
    return Actor(kind="ftp_user", name=user.username, ftp_user_id=user.pk, address=address)


def operator() -> Actor:
    """A management command: the system, named after the operating-system user who ran it."""
    try:
        who = getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        who = "unknown"
    return Actor(kind="system", name=f"manage.py ({who})")
