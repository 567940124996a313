"""Starting and stopping the FTP door: one process, two listeners, a thread per connection.

FTPD_PORT serves plain FTP and explicit FTPS (AUTH TLS); FTPD_IMPLICIT_PORT serves implicit FTPS
(TLS from the first byte, the old port 990 convention of camera traps). Both share one accepting
loop, one login guard and one connection counter (``tree.guard``, shared through Redis with the
SFTP door when configured). Passive data connections use FTPD_PASSIVE_PORTS and announce
FTPD_PUBLIC_ADDRESS (the address clients reach the server at, behind NAT or a load balancer).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import ThreadedFTPServer

from ftpd import tls
from ftpd.handler import PortalFTPHandler
from tree.guard import ConnectionCounter, LoginGuard, make_counter, make_guard
from tree.layout import sweep_staging

logger = logging.getLogger("ftpd.server")


class PortalFTPServer(ThreadedFTPServer):
    """pyftpdlib's threaded server with a stop signal of its own (pyftpdlib shares one per process)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._exit = threading.Event()
        self._lock = threading.Lock()
        super().__init__(*args, **kwargs)


def passive_ports() -> list[int] | None:
    """FTPD_PASSIVE_PORTS as a list (None: any free port)."""
    value = str(settings.FTPD_PASSIVE_PORTS).strip()
    if not value:
        return None
    first, _, last = value.partition("-")
    return list(range(int(first), int(last or first) + 1))


def handler_class(*, implicit: bool, guard: LoginGuard, counter: ConnectionCounter) -> type[PortalFTPHandler]:
    certificate = tls.load_or_create()
    attrs = {
        "guard": guard,
        "counter": counter,
        "implicit_tls": implicit,
        "ssl_context": tls.context(certificate),
        "certfile": str(certificate.cert),
        "keyfile": str(certificate.key),
        "passive_ports": passive_ports(),
        "masquerade_address": settings.FTPD_PUBLIC_ADDRESS or None,
        "max_login_attempts": settings.LOGIN_MAX_AUTH_TRIES,
    }
    return type("ImplicitFTPSHandler" if implicit else "FTPHandler", (PortalFTPHandler,), attrs)


@dataclass
class Listener:
    """The running door; ``ports`` are where it listens (``port=0`` picks free ones)."""

    explicit: PortalFTPServer
    implicit: PortalFTPServer
    guard: LoginGuard
    counter: ConnectionCounter
    ioloop: IOLoop
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.explicit.socket.getsockname()[1])

    @property
    def implicit_port(self) -> int:
        return int(self.implicit.socket.getsockname()[1])

    def serve(self) -> None:
        """Serve until ``stop`` (from any thread) or SIGTERM/SIGINT (in the main thread)."""

        def check() -> None:
            if self._stopping.is_set():
                raise SystemExit

        self.ioloop.call_every(0.2, check)
        try:
            self.ioloop.loop(timeout=0.5, blocking=True)
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.explicit.close_all()
            self.implicit.close_all()
            self.guard.close()
            self.counter.shutdown()

    def stop(self) -> None:
        self._stopping.set()


def start(host: str | None = None, port: int | None = None, implicit_port: int | None = None) -> Listener:
    host = settings.FTPD_HOST if host is None else host
    port = settings.FTPD_PORT if port is None else port
    implicit_port = settings.FTPD_IMPLICIT_PORT if implicit_port is None else implicit_port
    sweep_staging()
    guard, counter = make_guard(), make_counter()
    ioloop = IOLoop()
    explicit = PortalFTPServer((host, port), handler_class(implicit=False, guard=guard, counter=counter), ioloop=ioloop)
    implicit = PortalFTPServer(
        (host, implicit_port), handler_class(implicit=True, guard=guard, counter=counter), ioloop=ioloop
    )
    for server in (explicit, implicit):
        server.max_cons = settings.FTPD_MAX_CONNECTIONS
        server.max_cons_per_ip = 0  # per address: connections still logging in (the guard); per user: sessions
    listener = Listener(explicit, implicit, guard, counter, ioloop)
    logger.info(
        "FTP server listening on %s:%s (FTP, FTPS), %s:%s (implicit FTPS)",
        host,
        listener.port,
        host,
        listener.implicit_port,
    )
    return listener
