"""Authentication and sessions: who may log in, for how long, and that a session can only ever be SFTP.

``PortalSSHServer`` (one per connection) checks passwords (Django's hasher) and public keys (the FTP
user's keys) off the event loop through ``sftpd.bridge``. Every login must pass a check: ``begin_auth``
always answers True, because answering False would let a client in with no credentials at all, and
``auth_completed`` refuses a login that no check vouched for. Unknown users, inactive users and wrong
passwords fail alike, each after one password hash.

Limits (``tree.guard``, shared with every door; settings ``LOGIN_*`` and ``SFTPD_*``): bans after
repeated failures, failed attempts per connection, unauthenticated connections per address, sessions
per FTP user, channels per connection, an idle timeout (no SFTP request for ``SFTPD_IDLE_TIMEOUT``
seconds) on top of asyncssh's login timeout and keepalive. Whoever is turned away is told why in
the SSH disconnect message, which FileZilla, WinSCP and OpenSSH show.

Sessions accept only the ``sftp`` subsystem: no shell, exec, SCP or pty; asyncssh's defaults refuse
port, agent and X11 forwarding. One log line per connection says how it went.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import asyncssh
from asyncssh.channel import SSHChannel
from asyncssh.stream import SSHReader, SSHServerStreamSession, SSHWriter
from django.conf import settings
from django.utils.translation import gettext, ngettext

from albums import notices
from albums.models import Door
from sftpd import algorithms, bridge
from sftpd.protocol import PortalSFTPHandler
from sftpd.vfs import PortalSFTPServer
from tree import live, refusals
from tree import principal as principals
from tree.guard import ConnectionCounter, LoginGuard
from tree.principal import Client, Principal

logger = logging.getLogger("sftpd.session")

SFTP_VERSION = 3  # every photographer client and camera speaks v3; WinSCP downgrades from v6 to it
MAX_CHANNELS = 10  # SFTP sessions on one connection, as OpenSSH's MaxSessions


@dataclass
class SessionStats:
    started: float = field(default_factory=time.monotonic)
    files: int = 0
    bytes: int = 0
    partial: int = 0  # uploads cut off by a dropped connection (kept for a resume, or discarded)
    open_uploads: int = 0  # written files not finished yet: partial too if the connection ends now
    channels: int = 0


def _duration(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return gettext("{minutes} minutes").format(minutes=int(seconds // 60))
    return ngettext("{seconds:g} second", "{seconds:g} seconds", int(seconds)).format(seconds=seconds)


def _field(value: object) -> str:
    text = str(value)
    return f'"{text}"' if not text or any(c in text for c in ' "=') else text


def log_fields(**fields: object) -> str:
    """``key=value`` pairs, quoted where needed: one line a log search can take apart."""
    return " ".join(f"{key}={_field(value)}" for key, value in fields.items())


def _sftp_server(chan: SSHChannel[bytes]) -> PortalSFTPServer:
    return PortalSFTPServer(cast(asyncssh.SSHServerChannel[bytes], chan))  # a session channel of this server


class PortalSession(SSHServerStreamSession):
    """A session channel that runs the SFTP subsystem and nothing else."""

    def __init__(self, stats: SessionStats, touch: Callable[[], None]) -> None:
        super().__init__(None, _sftp_server, SFTP_VERSION, allow_scp=False)
        self._stats = stats
        self._touch = touch

    def shell_requested(self) -> bool:
        return False

    def exec_requested(self, command: str) -> bool:
        return False  # rclone probes with md5sum/sha1sum/echo: a prompt refusal, and it carries on

    def pty_requested(self, *args: object) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return subsystem == "sftp"

    def session_started(self) -> None:
        assert self._chan is not None and self._conn is not None
        if self._chan.get_subsystem() != "sftp":
            self._chan.close()
            return
        reader = SSHReader[bytes](self, self._chan)
        writer = SSHWriter[bytes](self, self._chan)
        server = self._init_sftp_server()
        handler = PortalSFTPHandler(server, reader, writer, SFTP_VERSION, touch=self._touch)
        self._conn.create_task(handler.run(), reader.logger)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stats.channels -= 1
        super().connection_lost(exc)


class PortalSSHServer(asyncssh.SSHServer):
    """One instance per connection; ``guard`` and ``counter`` are shared by the listener's connections."""

    def __init__(self, guard: LoginGuard, counter: ConnectionCounter) -> None:
        self._guard = guard
        self._counter = counter
        self._conn: asyncssh.SSHServerConnection | None = None
        self._address = "-"
        self._candidate: Principal | None = None
        self._principal: Principal | None = None
        self._session_token: str | None = None  # this connection's place among its user's sessions
        self._session_user = 0
        self._stats = SessionStats()
        self._username = ""
        self._failures = 0
        self._outcome = ""  # set when the server ends the connection on purpose
        self._counted_unauthenticated = False
        self._last_activity = time.monotonic()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._live_token: str | None = None  # this session's row among the sessions open now (tree.live)
        self._lost = False
        self._opening: asyncio.Future[str | None] | None = None  # held: the loop keeps only weak references

    # --- connection ---------------------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self._address = peer[0] if peer else "-"
        conn.set_extra_info(portal_stats=self._stats)
        self._banner_before_success(conn)
        if not self._counter.open_unauthenticated(self._address):
            self._end(
                "too many connections",
                asyncssh.DISC_TOO_MANY_CONNECTIONS,
                gettext("Too many connections from your address are logging in at once; try again in a moment."),
            )
            return
        self._counted_unauthenticated = True

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._counted_unauthenticated:
            self._counter.close_unauthenticated(self._address)
            self._counted_unauthenticated = False
        self._release_session()
        self._lost = True
        if self._live_token is not None:
            bridge.submit(live.registry().close, self._live_token)
            self._live_token = None
        p = self._principal
        logger.info(
            "session end %s",
            log_fields(
                user=p.username if p else self._username or "-",
                address=self._address,
                auth=p.method if p else "-",
                duration=f"{time.monotonic() - self._stats.started:.1f}s",
                files=self._stats.files,
                bytes=self._stats.bytes,
                # asyncssh abandons what was still open after this hook runs: those count already.
                partial=self._stats.partial + self._stats.open_uploads,
                outcome=self._describe(exc),
                cipher=self._conn.get_extra_info("recv_cipher") if self._conn else "-",
                mac=self._conn.get_extra_info("recv_mac") if self._conn else "-",
                client=self._conn.get_extra_info("client_version") if self._conn else "-",
            ),
        )

    def _describe(self, exc: Exception | None) -> str:
        if self._outcome:
            return self._outcome
        if self._principal is None:
            return "login failed" if self._failures else "not logged in"
        if exc is None or (isinstance(exc, asyncssh.ConnectionLost) and "keepalive" not in str(exc)):
            return "ok"
        if "keepalive" in str(exc):
            return "keepalive timeout"
        return f"error: {exc}"

    def _end(self, outcome: str, code: int, reason: str) -> None:
        """Close the connection on purpose, telling the client why.

        The disconnect message goes out before the channels close, as asyncssh itself does for a
        ``DisconnectError``: ``SSHServerConnection.disconnect`` closes the channels first, and
        OpenSSH-based clients then leave without showing the reason.
        """
        self._outcome = self._outcome or outcome
        conn = self._conn
        if conn is not None:
            conn._send_disconnect(code, reason, asyncssh.DEFAULT_LANG)
            conn._force_close(None)

    # --- authentication -----------------------------------------------------------------------

    async def begin_auth(self, username: str) -> bool:
        self._username = username
        refusal = await bridge.run(self._guard.refusal, self._address, username)
        if refusal:
            self._end("banned", asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, refusal)
        return True  # always demand credentials: False would log the client in with none

    def password_auth_supported(self) -> bool:
        return True

    async def validate_password(self, username: str, password: str) -> bool:
        refusal = await bridge.run(self._guard.refusal, self._address, username)
        if refusal:  # banned by an earlier attempt on this connection
            self._end("banned", asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, refusal)
            return False
        try:
            principal = await bridge.authenticate_password(username, password)
        except Exception:
            self._unavailable()
            return False
        if principal is None:
            await bridge.run(self._guard.failed, self._address, username)
            self._failed("password", username)
            return False
        return await self._accept(principal)

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # Called for the client's probe and again for the signed request; asyncssh checks the
        # signature afterwards, so the login counts only in auth_completed. A key that does not fit
        # counts against this connection's attempts but not towards a ban: people with several keys
        # in their agent are not attackers, and keys cannot be guessed.
        try:
            principal = await bridge.authorized_key(username, key)
        except Exception:
            self._unavailable()
            return False
        if principal is None:
            self._failed("publickey", username)
            return False
        return await self._accept(principal)

    def _banner_before_success(self, conn: asyncssh.SSHServerConnection) -> None:
        """Send this FTP user's rejections of the last day (DESIGN §12) as the authentication banner.

        SSH shows a banner only before the login succeeds, and a key login is proven only when asyncssh
        has checked its signature, after ``validate_public_key``: so the banner goes out from asyncssh's
        ``send_userauth_success`` (``sftpd.compat``), just before the success message, for the
        principal that logged in. FileZilla, WinSCP and OpenSSH show it.
        """
        succeed = conn.send_userauth_success

        async def send_userauth_success() -> None:
            principal = self._candidate
            if principal is not None and principal.username == self._username.lower():
                try:
                    text = await bridge.run(notices.banner_text, ftp_user=principal.ftp_user)
                    if text:
                        conn.send_auth_banner(text)
                except Exception:  # a courtesy: the login goes on without it
                    logger.warning("could not list the rejections of %s", principal.username, exc_info=True)
            await succeed()

        setattr(conn, "send_userauth_success", send_userauth_success)  # an instance's method: mypy refuses "="

    def _unavailable(self) -> None:
        """The database (or anything behind the login check) failed: say so, not a traceback."""
        logger.exception("login check failed %s", log_fields(user=self._username, address=self._address))
        self._end(
            "login check failed",
            asyncssh.DISC_SERVICE_NOT_AVAILABLE,
            gettext("The server cannot check logins right now. Please try again in a few minutes."),
        )

    async def _accept(self, principal: Principal) -> bool:
        """Take valid credentials, unless the user already has all the sessions allowed.

        The session is counted here, before the login succeeds, so the client shows the reason
        rather than a login followed by a closed connection, and the count is taken in one step
        with the check (two logins at once cannot both take the last place). A key is checked
        twice (the client's probe, then its signature): the place taken at the probe is kept.
        """
        user_id = principal.ftp_user.pk
        if self._session_token is None or self._session_user != user_id:
            self._release_session()  # held for another user name tried earlier on this connection
            token = await bridge.run(self._counter.open_session, user_id)
            if token is None:
                self._refuse_session(principal)
                return False
            self._session_token, self._session_user = token, user_id
        self._candidate = principal
        return True

    def _release_session(self) -> None:
        if self._session_token is not None:
            # Not awaited (connection_lost is synchronous): the count may live in Redis, off the loop.
            bridge.submit(self._counter.close_session, self._session_user, self._session_token)
            self._session_token = None

    def _refuse_session(self, principal: Principal) -> None:
        limit = settings.LOGIN_MAX_SESSIONS_PER_USER
        with refusals.speaking(refusals.language_of(principal.ftp_user)):
            reason = gettext(
                "{user} already has {limit} connections open, the most allowed at once. Close one and try again."
            ).format(user=principal.username, limit=limit)
        self._end("too many sessions", asyncssh.DISC_TOO_MANY_CONNECTIONS, reason)

    def _failed(self, method: str, username: str) -> None:
        self._failures += 1
        logger.info("login failed %s", log_fields(user=username, address=self._address, method=method))
        if self._failures >= settings.LOGIN_MAX_AUTH_TRIES:
            self._end(
                "too many failed attempts",
                asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE,
                gettext("Too many failed login attempts on this connection."),
            )

    async def auth_completed(self) -> None:
        assert self._conn is not None
        principal = self._candidate
        if principal is None or principal.username != self._username.lower():
            # Never reached by a client asyncssh let through properly; refuse rather than trust it.
            self._end("refused", asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, gettext("Login failed."))
            return
        if self._counted_unauthenticated:
            self._counter.close_unauthenticated(self._address)
            self._counted_unauthenticated = False
        # Everything a session needs is set before the first await: the client may open its
        # channel as soon as it has the success message, while this coroutine still runs.
        self._principal = principal
        algorithms.upgrade(self._conn)
        client = Client(principal=principal, door=Door.SFTP, address=None if self._address == "-" else self._address)
        self._conn.set_extra_info(portal_client=client)
        self.touch()
        self._schedule_idle_check(settings.SFTPD_IDLE_TIMEOUT)
        await bridge.run(self._guard.succeeded, self._address, principal.username)
        try:
            # Shielded: a client that is done before this write (one quick listing) must not cancel it.
            await asyncio.shield(bridge.run(principals.record_login, client))
        except Exception:  # the last-login columns are a courtesy; the session itself goes on
            logger.warning("could not record login of %s", principal.username, exc_info=True)
        await self._list_session(client)

    async def _list_session(self, client: Client) -> None:
        """Show the session on the studio's page, and let the studio end it from there (``tree.live``)."""
        loop = asyncio.get_running_loop()

        def disconnect() -> None:  # called from the registry's heartbeat thread
            with refusals.speaking(refusals.language_of(client.ftp_user)):
                reason = gettext("The studio ended this session.")
            loop.call_soon_threadsafe(self._end, "disconnected by the studio", asyncssh.DISC_BY_APPLICATION, reason)

        def settle(done: asyncio.Future[str | None]) -> None:
            # A callback, not code after the await: asyncssh may drop (not cancel) the task of a
            # client that left at once, and the row must be unlisted all the same.
            token = None if done.cancelled() or done.exception() is not None else done.result()
            if token is not None and self._lost:  # the client left while the row was written
                bridge.submit(live.registry().close, token)
            elif token is not None:
                self._live_token = token

        self._opening = asyncio.ensure_future(
            bridge.run(
                live.registry().open,
                client,
                disconnect=disconnect,
                bytes=lambda: self._stats.bytes,
                alive=lambda: not self._lost,
            )
        )
        self._opening.add_done_callback(settle)
        await asyncio.shield(self._opening)

    # --- sessions -----------------------------------------------------------------------------

    def session_requested(self) -> PortalSession | bool:
        if self._principal is None or self._stats.channels >= MAX_CHANNELS:
            return False
        self._stats.channels += 1
        return PortalSession(self._stats, self.touch)

    # --- idle timeout -------------------------------------------------------------------------

    def touch(self) -> None:
        self._last_activity = time.monotonic()

    def _schedule_idle_check(self, delay: float) -> None:
        if settings.SFTPD_IDLE_TIMEOUT > 0 and self._conn is not None:
            self._idle_timer = asyncio.get_running_loop().call_later(max(delay, 0.05), self._check_idle)

    def _check_idle(self) -> None:
        timeout = settings.SFTPD_IDLE_TIMEOUT
        remaining = self._last_activity + timeout - time.monotonic()
        if remaining > 0:
            self._schedule_idle_check(remaining)
            return
        with refusals.speaking(refusals.language_of(self._candidate.ftp_user if self._candidate else None)):
            reason = gettext("Disconnected after {duration} without activity.").format(duration=_duration(timeout))
        self._end("idle timeout", asyncssh.DISC_BY_APPLICATION, reason)
