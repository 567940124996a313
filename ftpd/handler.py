"""The FTP control connection: login, the TLS rules, and every tree command spoken in FTP.

pyftpdlib does the protocol: command parsing, replies, PASV/EPSV/PORT/EPRT data connections, AUTH
TLS, PBSZ/PROT, REST, FEAT, OPTS UTF8. Every command that touches the tree (CWD, LIST, NLST, MLSD,
MLST, MKD, RMD, DELE, RNFR/RNTO, SIZE, MDTM, MFMT, STOR, APPE, STOU, RETR) is answered by
``tree.operations.Tree``, and its refusals become replies in ``ftpd.replies``: no rule of DESIGN §3
is written here. Uploads end in ``ftpd.transfers``.

Logins: the same guard as SFTP (``tree.guard``: bans per address and user name across both doors,
sessions per FTP user, connections still logging in per address). No anonymous login. Over a
plain (not TLS) control connection only an FTP user the studio allowed plain FTP for may log in;
everybody else is told to use FTPS or SFTP. On a TLS control connection data connections must be
protected too (PROT P).

pyftpdlib's threaded server builds each handler in the accepting thread and then serves it in a
thread of its own; everything that belongs to a session (the greeting, its timers) starts here in
that thread (``add_channel``), so a greeting is sent exactly once and no timer fires in another
thread's loop. Protocol hygiene: PORT/EPRT only to the client's own address and passive data
connections only from it (pyftpdlib's ``permit_foreign_addresses = False``), privileged ports
refused, a login deadline, an idle timeout, and a client that floods commands is cut off.
"""

from __future__ import annotations

import calendar
import logging
import time
import uuid
from collections import deque
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import TLS_FTPHandler
from pyftpdlib.handlers.ftp.producers import BufferedIteratorProducer

from albums import notices
from albums.models import Door
from audit import context as audit_context
from ftpd import listing
from ftpd.replies import reply, syntax_error
from ftpd.transfers import ABORTED, BROKEN, DownloadFile, LateActiveDTP, SecureDTP, UploadFile
from jobs.exceptions import Conflict, NotAFolder, PortalError
from tree import live, refusals
from tree import principal as principals
from tree.guard import ConnectionCounter, LoginGuard
from tree.operations import Entry, Tree
from tree.principal import Client, Principal

logger = logging.getLogger("ftpd.session")

PLAIN_REFUSED = gettext_lazy(
    "This FTP user must connect with FTPS (FTP over TLS) or SFTP: plain FTP would send the password readable."
)
LOGIN_UNAVAILABLE = gettext_lazy("The server cannot check logins right now. Please try again in a few minutes.")
DATA_COMMANDS = {"LIST", "NLST", "MLSD", "RETR", "STOR", "APPE", "STOU"}
# Not counted towards the flood limit once logged in: a transfer waits for its data connection, so it limits
# itself, and TYPE comes with every file of many clients. A camera sending a file per PASV + STOR
# must never be cut off however fast it is (measured with lftp: 500 x 2 MiB in one session).
UNCOUNTED = DATA_COMMANDS | {"TYPE"}
flood_clock = time.monotonic  # the flood limit's clock (tests hold it still to count a burst exactly)
NO_DATA_CONNECTION = gettext_lazy("425 Open a data connection first: PASV or EPSV (or PORT to your own address).")
PROTECT_DATA = gettext_lazy("522 Protect the data connection too: send PROT P (the control connection is encrypted).")


class VirtualFS:
    """The part of pyftpdlib's AbstractedFS its protocol code uses, over the tree: paths are text.

    Paths are joined to the current folder but never normalised here: the tree follows ``.``/``..``
    where a client only looks around and refuses them where it changes something.
    """

    def __init__(self, root: str, cmd_channel: PortalFTPHandler) -> None:
        self.root = "/"
        self.cwd = "/"
        self.cmd_channel = cmd_channel

    @property
    def tree(self) -> Tree:
        return self.cmd_channel.tree

    def ftp2fs(self, ftppath: str) -> str:
        if ftppath.startswith("/"):
            return ftppath
        return f"{self.cwd.rstrip('/')}/{ftppath}"

    def fs2ftp(self, fspath: str) -> str:
        return fspath

    def validpath(self, path: str) -> bool:
        return True  # nothing outside the account's tree exists: the tree says so itself

    def realpath(self, path: str) -> str:
        return Tree.realpath(path)

    def getsize(self, path: str) -> int:
        return self.tree.stat(path).size

    def open(self, filename: str, mode: str) -> UploadFile | DownloadFile:
        """A file for pyftpdlib's STOR (``wb``), APPE (``ab``), REST+STOR (``r+b``) or RETR (``rb``)."""
        if mode.startswith("r") and "+" not in mode:
            return DownloadFile(self.tree.open_read(filename), filename)
        upload = self.tree.open_write(filename, truncate=mode.startswith("w"), append=mode.startswith("a"))
        return UploadFile(upload, filename)

    def mkstemp(self, suffix: str = "", prefix: str = "", dir: str | None = None, mode: str = "wb") -> UploadFile:
        """STOU: a new file with a name nobody has."""
        for _ in range(10):
            name = f"{(dir or self.cwd).rstrip('/')}/{prefix}{uuid.uuid4().hex[:12]}{suffix or '.jpg'}"
            try:
                return UploadFile(self.tree.open_write(name, exclusive=True), name)
            except Conflict:
                continue
        raise Conflict(gettext("No unique file name was found; try again."))

    def remove(self, path: str) -> None:
        self.tree.remove(path)


class PortalAuthorizer:
    """pyftpdlib asks its authorizer about logins; the portal's handler answers (``authenticate``)."""

    def validate_authentication(self, username: str, password: str, handler: PortalFTPHandler) -> None:
        handler.authenticate(username, password)

    def get_home_dir(self, username: str) -> str:
        return "/"

    def has_user(self, username: str) -> bool:
        return True

    def has_perm(self, username: str, perm: str, path: str | None = None) -> bool:
        return True  # the tree decides every request

    def get_perms(self, username: str) -> str:
        return "elradfmwMT"

    def get_msg_login(self, username: str) -> str:
        return gettext("Logged in. Open a job folder, then an album folder, and upload.")

    def get_msg_quit(self, username: str) -> str:
        return gettext("Goodbye.")

    def impersonate_user(self, username: str, password: str) -> None:
        pass

    def terminate_impersonation(self, username: str) -> None:
        pass


class PortalFTPHandler(TLS_FTPHandler):
    """One FTP or FTPS control connection (explicit TLS with AUTH TLS, or plain where allowed)."""

    username: str
    _rnfr: str | None
    data_channel: Any
    _idler: Any  # pyftpdlib's idle timer (a scheduled call), armed by ``_arm_idle_timer``
    _in_dtp_queue: Any  # pyftpdlib's transfer waiting for its data connection: (file, command) ...
    _out_dtp_queue: Any  # ... or (data, is_producer, file, command)
    # Set per listener by ``ftpd.server.handler_class``.
    guard: LoginGuard
    counter: ConnectionCounter
    implicit_tls = False

    authorizer = PortalAuthorizer()
    abstracted_fs = VirtualFS
    dtp_handler = SecureDTP  # TLS once the client sent PROT P, plain otherwise
    banner = "Photo portal FTP server ready."
    encoding = "utf8"
    unicode_errors = "surrogateescape"  # names that are not UTF-8 reach the tree, which refuses them
    permit_foreign_addresses = False  # no FTP bounce, no passive connection theft
    permit_privileged_ports = False
    use_sendfile = False
    auth_failed_timeout = 1
    timeout = 0  # pyftpdlib would arm it in the accepting thread; ``add_channel`` arms ours
    tls_control_required = False  # decided per user at login (plain FTP only where allowed)
    tls_data_required = False  # decided per connection: required when the control connection is TLS

    def __init__(self, conn: Any, server: Any, ioloop: Any = None) -> None:
        super().__init__(conn, server, ioloop=ioloop)
        self.client: Client | None = None
        self._tree: Tree | None = None
        self._counted_unauthenticated = False
        self._session_token: str | None = None
        self._session_user = 0
        self._started = time.monotonic()
        self._commands: deque[float] = deque()
        self._login_deadline: Any = None
        self.stats = {"files": 0, "bytes": 0, "partial": 0}
        self._greeted = False  # the session's own thread greets, in add_channel
        self._active_target: tuple[str, int] | None = None  # PORT/EPRT, connected at the transfer
        self._live_token: str | None = None  # this session's row among the sessions open now (tree.live)

    # --- the session starts in its own thread -----------------------------------------------

    def handle(self) -> None:
        """Called in the accepting thread: the greeting waits for the session's own thread."""

    def add_channel(self, map: Any = None, events: Any = None) -> None:
        super().add_channel(map, events)
        # Not while asyncore's constructor registers the socket in the accepting thread (the flag
        # does not exist yet), nor when pyftpdlib re-adds the channel after a failed login's delay.
        if getattr(self, "_greeted", True):
            return
        self._greeted = True
        if not self.counter.open_unauthenticated(self.remote_ip):
            self.respond(
                gettext("421 Too many connections from your address are logging in at once; try again in a moment.")
            )
            self.close_when_done()
            return
        self._counted_unauthenticated = True
        if self.implicit_tls:
            self.secure_connection(self.ssl_context)
        self._arm_idle_timer()
        self._login_deadline = self.ioloop.call_later(
            settings.FTPD_LOGIN_TIMEOUT, self._login_timed_out, _errback=self.handle_error
        )
        TLS_FTPHandler.handle(self)  # the 220 greeting, once

    def _arm_idle_timer(self) -> None:
        """(Re)start the idle timeout: at the start and after each transfer (pyftpdlib stops it during one)."""
        if self._idler is not None and not self._idler.cancelled:
            self._idler.cancel()
        self._idler = (
            self.ioloop.call_later(settings.FTPD_IDLE_TIMEOUT, self.handle_timeout, _errback=self.handle_error)
            if settings.FTPD_IDLE_TIMEOUT
            else None
        )

    def _on_dtp_close(self) -> None:
        if self.data_channel is not None and self.data_channel.receive:
            self.stats["bytes"] += self.data_channel.tot_bytes_received
        super()._on_dtp_close()  # re-arms only pyftpdlib's own timer, which is off here (timeout = 0)
        if not self._closed:
            self._arm_idle_timer()

    def handle_timeout(self) -> None:
        if self._ssl_accepting:  # no reply can reach a client that never finished the TLS handshake
            self.close()
            return
        self.respond(
            gettext("421 Disconnected after {seconds} seconds without activity.").format(
                seconds=settings.FTPD_IDLE_TIMEOUT
            )
        )
        self.close_when_done()

    def _login_timed_out(self) -> None:
        if self.authenticated or self._closed:
            return
        if self._ssl_accepting:  # as in handle_timeout
            self.close()
            return
        self.respond(gettext("421 Not logged in in time; disconnecting."))
        self.close_when_done()

    # --- login ------------------------------------------------------------------------------

    @property
    def tree(self) -> Tree:
        assert self._tree is not None
        return self._tree

    @property
    def secure(self) -> bool:
        return bool(self._ssl_established)

    def ftp_USER(self, line: str) -> None:
        if line.lower() in ("anonymous", "ftp"):
            self.respond(gettext("530 Anonymous logins are not allowed; log in with your FTP user."))
            return
        super().ftp_USER(line)

    def authenticate(self, username: str, password: str) -> None:
        """Check a login the way the SFTP door does; raise AuthenticationFailed with the sentence to show."""
        address = self.remote_ip
        refusal = self.guard.refusal(address, username)
        if refusal:
            raise AuthenticationFailed(refusal)
        try:
            found = principals.authenticate_password(username, password)
        except Exception:
            logger.exception("login check failed user=%s address=%s", username, address)
            raise AuthenticationFailed(str(LOGIN_UNAVAILABLE)) from None
        if found is None:
            self.guard.failed(address, username)
            logger.info("login failed user=%s address=%s door=%s", username, address, self._door())
            raise AuthenticationFailed(gettext("Login incorrect."))
        if not self.secure and not found.ftp_user.allow_plain_ftp:
            raise AuthenticationFailed(str(PLAIN_REFUSED))
        token = self.counter.open_session(found.ftp_user.pk)
        if token is None:
            limit = settings.LOGIN_MAX_SESSIONS_PER_USER
            raise AuthenticationFailed(
                gettext("{user} already has {limit} connections open, the most allowed at once. Close one.").format(
                    user=found.username, limit=limit
                )
            )
        self._session_token, self._session_user = token, found.ftp_user.pk
        self._begin(found)

    def _door(self) -> Door:
        return Door.FTPS if self.secure else Door.FTP

    def _begin(self, found: Principal) -> None:
        self.client = Client(principal=found, door=self._door(), address=self.remote_ip)
        audit_context.enter(audit_context.ftp_user(found.ftp_user, self.remote_ip))  # this thread: the audit's actor
        # From here on this session speaks the account's language (before login: LANGUAGE_CODE). The
        # thread is this session's alone (pyftpdlib's ThreadedFTPServer), so its replies, the tree's
        # sentences and the transfers' answers all follow.
        translation.activate(refusals.language_of(found.ftp_user))
        self._tree = Tree(self.client)
        if self._counted_unauthenticated:
            self.counter.close_unauthenticated(self.remote_ip)
            self._counted_unauthenticated = False
        if self._login_deadline is not None and not self._login_deadline.cancelled:
            self._login_deadline.cancel()
        self.guard.succeeded(self.remote_ip, found.username)
        try:
            principals.record_login(self.client)
        except Exception:  # the last-login columns are a courtesy
            logger.warning("could not record login of %s", found.username, exc_info=True)
        # Listed on the studio's page; its "disconnect" arrives from the registry's thread, so it is
        # handed to this session's own loop (which wakes at least every second).
        self._live_token = live.registry().open(
            self.client,
            disconnect=lambda: self.ioloop.call_later(0, self._disconnected_by_studio),
            bytes=self._bytes_received,
            alive=lambda: not self._closed,
        )

    def _bytes_received(self) -> int:
        channel = self.data_channel
        return self.stats["bytes"] + (channel.tot_bytes_received if channel is not None and channel.receive else 0)

    def _disconnected_by_studio(self) -> None:
        if not self._closed:
            self.respond(gettext("421 The studio ended this session."))
            self.close_when_done()

    def handle_auth_success(self, home: str, password: str, msg_login: str) -> None:
        """pyftpdlib's ``230``, led by this FTP user's rejections of the last day (DESIGN §12, ``albums.notices``)."""
        try:
            lines = notices.banner_lines(ftp_user=self.client.ftp_user) if self.client is not None else []
        except Exception:  # a courtesy: the login goes on without it
            logger.warning("could not list the rejections of %s", self.username, exc_info=True)
            lines = []
        for line in lines:
            self.push(f"230-{line}\r\n")
        super().handle_auth_success(home, password, msg_login)

    def handle_auth_failed(self, msg: str, password: str) -> None:
        """pyftpdlib's, without changing the sentence's case, and closing at the attempts allowed."""
        self.max_login_attempts = settings.LOGIN_MAX_AUTH_TRIES

        def answer(username: str, message: str) -> None:
            self.add_channel()
            if not self._closed:
                self.attempted_logins += 1
                if self.attempted_logins >= self.max_login_attempts:
                    self.respond(
                        "530 " + message + " " + gettext("Too many failed attempts on this connection; disconnecting.")
                    )
                    self.close_when_done()
                else:
                    self.respond(f"530 {message}")

        self.del_channel()
        self.ioloop.call_later(self.auth_failed_timeout, answer, self.username, msg, _errback=self.handle_error)
        self.username = ""

    # --- every command ----------------------------------------------------------------------

    def pre_process_command(self, line: str, cmd: str, arg: str) -> None:
        """Every line counts towards the flood limit: understood or not, logged in or not.

        pyftpdlib answers unknown commands, syntax errors and commands before login itself, without
        ``process_command``; counting only there would let a client flood with those.
        """
        if self._closing or self._closed:
            return  # cut off or leaving: the rest of what it sent is not answered
        if not (self.authenticated and cmd in UNCOUNTED) and self._flooding():
            self.respond(gettext("421 Too many commands at once; disconnecting."))
            self.close_when_done()
            return
        super().pre_process_command(line, cmd, arg)

    def process_command(self, cmd: str, *args: Any, **kwargs: Any) -> None:
        if self.authenticated and self.secure and not self._prot and cmd in DATA_COMMANDS:
            self.respond(str(PROTECT_DATA))
            return
        if self.authenticated and cmd in DATA_COMMANDS and not self._data_connection_ahead():
            # pyftpdlib would answer 150 and wait for a data connection nobody is going to open.
            self.respond(str(NO_DATA_CONNECTION))
            return
        close_old_connections()
        try:
            super().process_command(cmd, *args, **kwargs)
            if cmd in DATA_COMMANDS:
                self._connect_active()
        except PortalError as exc:
            self.respond(reply(exc))
            self.log_cmd(cmd, args[0] if args else "", int(reply(exc)[:3]), exc.message)
        except Exception:
            logger.exception("unexpected error in %s user=%s", cmd, self.username)
            self.respond(gettext("451 The server had a problem with this request. Please try again."))

    # --- active mode: answer PORT/EPRT at once, connect when the transfer starts ----------------

    def _make_eport(self, ip: str, port: int) -> None:
        remote = self.remote_ip[7:] if self.remote_ip.startswith("::ffff:") else self.remote_ip
        if ip != remote:  # RFC 2577: no FTP bounce
            self.respond(gettext("501 Data connections go only to your own address, not {ip}.").format(ip=ip))
            return
        if port < 1024:
            self.respond(gettext("501 PORT to the privileged port {port} refused.").format(port=port))
            return
        self._shutdown_connecting_dtp()
        if self.data_channel is not None:
            self.data_channel.close()
            self.data_channel = None
        self._active_target = (ip, port)
        self.respond(gettext("200 PORT command successful; the server connects when the transfer starts."))

    def _make_epasv(self, extmode: bool = False) -> None:
        self._active_target = None
        super()._make_epasv(extmode)

    def _connect_active(self) -> None:
        """A transfer is waiting for its data connection: open the one PORT/EPRT asked for."""
        if self._active_target is None or self.data_channel is not None:
            return
        if self._in_dtp_queue is None and self._out_dtp_queue is None:
            return
        ip, port = self._active_target
        self._active_target = None
        if not self.server._accept_new_cons():
            self.respond("425 Too many connections. Can't open data channel.")
            return
        self._dtp_connector = LateActiveDTP(ip, port, self)

    def data_connection_lost(self) -> None:
        """The data connection was gone before the transfer could use it: fail the transfer waiting for it."""
        upload, download = self._in_dtp_queue, self._out_dtp_queue
        self._in_dtp_queue = self._out_dtp_queue = None
        if upload is not None:
            upload[0].close()  # nothing received: no upload (a temporary name keeps what it had)
            self.respond(str(ABORTED))
        elif download is not None:
            if download[2] is not None:
                download[2].close()
            self.respond(str(BROKEN))

    def _data_connection_ahead(self) -> bool:
        """A data connection is open, or one is on its way (PASV/EPSV listening, PORT/EPRT accepted)."""
        pending = (self.data_channel, self._dtp_acceptor, self._dtp_connector)
        return self._active_target is not None or any(d is not None and not d._closed for d in pending)

    def _flooding(self) -> bool:
        now = flood_clock()
        self._commands.append(now)
        while self._commands and self._commands[0] < now - 1:
            self._commands.popleft()
        return len(self._commands) > settings.FTPD_MAX_COMMANDS_PER_SECOND

    # --- looking around ---------------------------------------------------------------------

    def ftp_CWD(self, path: str) -> str | None:
        target = Tree.realpath(path)
        if not self.tree.stat(target).is_folder:
            raise NotAFolder(refusals.not_a_folder(target))
        self.fs.cwd = target
        self.respond(gettext('250 "{path}" is the current directory.').format(path=target))
        return path

    def _entries(self, path: str) -> list[Entry]:
        try:
            return self.tree.listing(path)
        except NotAFolder:
            return [self.tree.stat(path)]

    def ftp_LIST(self, path: str) -> str:
        entries = self._entries(path)
        producer = BufferedIteratorProducer(listing.unix_lines(entries, self.encoding))
        self.push_dtp_data(producer, isproducer=True, cmd="LIST")
        return path

    def ftp_NLST(self, path: str) -> str:
        names = "".join(f"{e.name}\r\n" for e in self._entries(path))
        self.push_dtp_data(names.encode(self.encoding, self.unicode_errors), cmd="NLST")
        return path

    def ftp_MLSD(self, path: str) -> str | None:
        try:
            entries = self.tree.listing(path)
        except NotAFolder:
            self.respond(gettext("501 MLSD lists folders; use MLST for a file."))
            return None
        producer = BufferedIteratorProducer(listing.mlsx_lines(entries, self._current_facts, self.encoding))
        self.push_dtp_data(producer, isproducer=True, cmd="MLSD")
        return path

    def ftp_MLST(self, path: str) -> str:
        entry = self.tree.stat(path)
        shown = Tree.realpath(path)
        self.push(f'250-Listing "{shown}":\r\n')
        self.push(f" {listing.mlsx_facts(entry, self._current_facts)} {shown}\r\n")
        self.respond(gettext("250 End MLST."))
        return path

    def ftp_STAT(self, path: str) -> str | None:
        if not path:
            return super().ftp_STAT(path)
        self.push(f"213-Status of {path}:\r\n")
        for line in listing.unix_lines(self._entries(path), self.encoding):
            self.push(line.decode(self.encoding, self.unicode_errors))
        self.respond(gettext("213 End of status."))
        return path

    def _file(self, path: str) -> Entry:
        entry = self.tree.stat(path)
        if entry.is_folder:
            raise NotAFolder(gettext("{path} is a folder, not a file.").format(path=Tree.realpath(path)))
        return entry

    def ftp_SIZE(self, path: str) -> None:
        self.respond(f"213 {self._file(path).size}")

    def ftp_MDTM(self, path: str) -> None:
        self.respond(f"213 {time.strftime('%Y%m%d%H%M%S', time.gmtime(self._file(path).mtime))}")

    def ftp_MFMT(self, path: str, timeval: str) -> None:
        try:
            mtime = float(calendar.timegm(time.strptime(timeval[:14], "%Y%m%d%H%M%S")))
        except ValueError:
            self.respond(syntax_error(gettext("MFMT needs a time as YYYYMMDDHHMMSS (UTC).")))
            return
        self._file(path)
        self.tree.set_times(path, mtime=mtime)
        self.respond(f"213 Modify={timeval[:14]}; {Tree.realpath(path)}.")

    # --- changing the tree ------------------------------------------------------------------

    def ftp_MKD(self, path: str) -> str | None:
        shown = Tree.realpath(path)
        try:
            self.tree.mkdir(path)
        except Conflict:
            # Cameras and curl make each folder of their path from the top: one that exists is fine.
            if not self.tree.stat(path).is_folder:
                raise
            self.respond(gettext('257 "{path}" already exists.').format(path=shown))
            return path
        self.respond(gettext('257 "{path}" folder created.').format(path=shown))
        return path

    def ftp_RMD(self, path: str) -> str:
        self.tree.rmdir(path)
        self.respond(gettext("250 Folder removed."))
        return path

    def ftp_DELE(self, path: str) -> str:
        self.tree.remove(path)
        self.respond(gettext("250 File removed."))
        return path

    def ftp_RNFR(self, path: str) -> None:
        self.tree.stat(path)  # it must exist
        self._rnfr = path
        self.respond(gettext("350 Ready for the new name (RNTO)."))

    def ftp_RNTO(self, path: str) -> str | None:
        if not self._rnfr:
            self.respond(gettext("503 Send RNFR first."))
            return None
        source, self._rnfr = self._rnfr, None
        self.tree.rename(source, path)
        self.respond(gettext("250 Renamed."))
        return path

    def ftp_SITE_CHMOD(self, path: str, mode: str) -> None:
        self.tree.stat(path)
        self.respond(gettext("200 Permissions are kept by the server; nothing changed."))  # as SFTP setstat

    def ftp_ALLO(self, line: str) -> None:
        self.respond(gettext("200 No storage allocation needed."))  # Dahua-style clients loop on 202

    # --- the end ----------------------------------------------------------------------------

    def on_file_received(self, file: str) -> None:
        self.stats["files"] += 1

    def on_incomplete_file_received(self, file: str) -> None:
        self.stats["partial"] += 1

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        if self._counted_unauthenticated:
            self.counter.close_unauthenticated(self.remote_ip)
            self._counted_unauthenticated = False
        if self._session_token is not None:
            self.counter.close_session(self._session_user, self._session_token)
            self._session_token = None
        if self._live_token is not None:
            live.registry().close(self._live_token)
            self._live_token = None
        logger.info(
            "session end user=%s address=%s door=%s duration=%.1fs files=%d partial=%d",
            self.client.username if self.client else (self.username or "-"),
            self.remote_ip,
            self._door(),
            time.monotonic() - self._started,
            self.stats["files"],
            self.stats["partial"],
        )
        connections.close_all()  # this thread's database connections end with the session
