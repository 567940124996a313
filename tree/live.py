"""Sessions open now at every door, as the web shows them, and ending one from the web.

Each server process (every SFTP process that shares the port, the FTP door) keeps its open sessions
in one ``Registry`` (``registry()``) and mirrors each as a row (``tree.models.LiveSession``) that the
web process reads: user, address, door, since when, bytes. A door calls ``open`` once its login
succeeded and ``close`` when the session ends; nothing runs per file or per write.

A heartbeat thread runs in a server process while it holds sessions: every ``HEARTBEAT`` seconds it
reads the disconnect requests on its rows and hands each to the door's callback (so a "disconnect"
on the web takes effect within a few seconds), and every ``RENEW_EVERY`` beats it renews the
sessions' leases and writes their byte counts (read from the door's own counters). A server that
crashed renews nothing: its rows are hidden once their lease (``LEASE`` seconds) runs out, and the
next heartbeat of any server deletes them.

The registry is a courtesy, as the last-login columns are: if the database fails, the session goes
on unlisted and the failure is logged.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import close_old_connections, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import event_record
from jobs.models import Account
from tree.models import LiveSession
from tree.principal import Client

logger = logging.getLogger("tree.live")

HEARTBEAT = 2.0  # seconds between looks for disconnect requests
RENEW_EVERY = 5  # heartbeats between lease renewals and byte counts (10 s)
LEASE = 45  # seconds a row stays listed without a renewal


@dataclass
class _Session:
    disconnect: Callable[[], None]  # asks the door to end the session; called from the heartbeat thread
    bytes: Callable[[], int]  # the bytes the session has moved so far, read on the heartbeat
    alive: Callable[[], bool]  # False once the door's connection is gone (a safety net for a missed close)
    disconnecting: bool = False


class Registry:
    """The open sessions of this server process and their rows."""

    def __init__(self, *, heartbeat: bool = True) -> None:
        self._heartbeat = heartbeat  # False: the caller runs ``beat`` itself (tests)
        self.pid = os.getpid()
        self.server = f"{socket.gethostname()}:{self.pid}:{uuid.uuid4().hex[:6]}"
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._beats = 0

    def open(
        self,
        client: Client,
        *,
        disconnect: Callable[[], None],
        bytes: Callable[[], int],
        alive: Callable[[], bool] = lambda: True,
    ) -> str | None:
        """List a session that just logged in; its token for ``close`` (None when it could not be listed)."""
        token = uuid.uuid4().hex
        now = timezone.now()
        try:
            LiveSession.objects.create(
                token=token,
                server=self.server,
                account_id=client.account_id,
                ftp_user_id=client.ftp_user.pk,
                username=client.username,
                door=str(client.door),
                address=client.address or "",
                started_at=now,
                expires_at=now + timedelta(seconds=LEASE),
            )
        except Exception:
            logger.warning("could not list the session of %s", client.username, exc_info=True)
            return None
        with self._lock:
            self._sessions[token] = _Session(disconnect, bytes, alive)
            if self._thread is None and self._heartbeat:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._run, args=(self._stop,), name="live-sessions", daemon=True)
                self._thread.start()
        return token

    def close(self, token: str) -> None:
        """The session ended: drop its row."""
        with self._lock:
            self._sessions.pop(token, None)
        try:
            LiveSession.objects.filter(token=token).delete()
        except Exception:  # its lease runs out by itself
            logger.warning("could not unlist a session", exc_info=True)

    def beat(self) -> None:
        """One heartbeat: carry out disconnect requests; every few beats, renew leases and byte counts."""
        self._beats += 1
        with self._lock:
            local = dict(self._sessions)
        for token in [t for t, session in local.items() if not session.alive()]:
            logger.warning("a session ended without being unlisted; unlisting it now")
            self.close(token)
            del local[token]
        requested = LiveSession.objects.filter(server=self.server, disconnect_requested_at__isnull=False)
        for token in requested.values_list("token", flat=True):
            session = local.get(token)
            if session is not None and not session.disconnecting:
                session.disconnecting = True
                try:
                    session.disconnect()
                except Exception:
                    logger.warning("could not disconnect a session", exc_info=True)
        if self._beats % RENEW_EVERY:
            return
        now = timezone.now()
        for token, session in local.items():
            LiveSession.objects.filter(token=token).update(
                expires_at=now + timedelta(seconds=LEASE), bytes=session.bytes()
            )
        LiveSession.objects.filter(expires_at__lt=now).delete()  # of servers that died

    def shutdown(self, timeout: float = 10.0) -> None:
        """The server stops: unlist every session it still holds and end the heartbeat.

        A server that stops without this leaves its rows to their lease; a test server calls it, so
        no heartbeat of one test touches the database while the next one empties it.
        """
        with self._lock:
            tokens = list(self._sessions)
            self._sessions.clear()
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None:
            thread.join(timeout)
        for token in tokens:
            self.close(token)

    def _run(self, stopped: threading.Event) -> None:
        while not stopped.wait(HEARTBEAT):
            with self._lock:
                if stopped.is_set():
                    break
                if not self._sessions:
                    self._thread = None
                    break
            try:
                close_old_connections()
                self.beat()
            except Exception:
                logger.warning("live sessions heartbeat failed", exc_info=True)
        connections.close_all()


_registry: Registry | None = None
_registry_lock = threading.Lock()


def registry() -> Registry:
    """This process's registry (a forked server process makes its own)."""
    global _registry
    with _registry_lock:
        if _registry is None or _registry.pid != os.getpid():
            _registry = Registry()
        return _registry


# --- for the web ----------------------------------------------------------------------------------


def sessions_of(*, account: Account) -> QuerySet[LiveSession]:
    """The account's sessions open now (rows of crashed servers whose lease ran out are not)."""
    return LiveSession.objects.filter(account=account, expires_at__gt=timezone.now()).order_by("started_at")


def session_disconnect(*, session: LiveSession) -> None:
    """Ask the server holding ``session`` to end it (done within ``HEARTBEAT`` seconds)."""
    with transaction.atomic():
        LiveSession.objects.filter(pk=session.pk, disconnect_requested_at__isnull=True).update(
            disconnect_requested_at=timezone.now()
        )
        event_record(
            action="session.disconnect",
            account=session.account,
            target=session.ftp_user,
            detail={"username": session.username, "address": session.address, "door": session.door},
        )


def sessions_disconnect_user(*, ftp_user_id: int) -> int:
    """Ask every server to end this FTP user's sessions (when it is deleted); returns how many."""
    return LiveSession.objects.filter(ftp_user_id=ftp_user_id, disconnect_requested_at__isnull=True).update(
        disconnect_requested_at=timezone.now()
    )
