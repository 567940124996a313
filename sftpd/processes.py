"""Several SFTP server processes on one listening socket, so every core serves sessions (DESIGN §11).

One Python process runs one event loop: under twenty busy sessions it holds one core at 100 %
while the others idle. ``runsftpd`` therefore binds the port once and forks ``count()`` server
processes that all accept on that same socket (the pre-fork model of gunicorn and nginx): the
kernel hands each new connection to whichever process is waiting in ``accept`` first, so an idle
process takes the next session and a busy one does not. Nothing a session needs lives in one
process only: the tree's state is in the database, staging folders are per process
(``tree.layout``), and the login guard's bans and session counts are shared through Redis
(``LOGIN_REDIS_URL``). Without Redis each process would keep its own counts (a password guesser
would get one allowance per process), so ``SFTPD_PROCESSES=auto`` means one process per core with
Redis and a single process without it; a number forces that many (the log says what that costs).

``serve`` is the parent: it makes the host keys and sweeps staging before forking (so children do
not race to do it), forwards SIGTERM/SIGINT to the children, waits for them, and starts a new
child when one dies unexpectedly (at most once per ``RESTART_PAUSE`` seconds), so one crashed
process costs its own sessions only.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
RESTART_PAUSE = 1.0  # seconds between restarts of a child that died
STOP_TIMEOUT = 30.0  # seconds the children get to finish after SIGTERM before SIGKILL


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def count() -> int:
    """How many server processes: ``SFTPD_PROCESSES`` (a number, or ``auto``)."""
    wanted = str(settings.SFTPD_PROCESSES).strip().lower()
    if wanted == "auto":
        return cores() if settings.LOGIN_REDIS_URL else 1
    return max(1, int(wanted))


def bind(host: str, port: int, backlog: int = 128) -> socket.socket:
    """The listening socket the server processes share (non-blocking, as asyncio wants it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def serve(processes: int, child: Callable[[], int]) -> int:
    """Run ``child()`` in ``processes`` forked processes until SIGTERM/SIGINT; the exit code.

    ``child`` runs the server on the inherited socket and returns its exit code. The caller has
    bound the socket and done everything that must happen once.
    """
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(running):
            _signal(pid, signal.SIGTERM)

    running: set[int] = set()
    connections.close_all()  # a child must not share the parent's database connections
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for _ in range(processes):
            running.add(_fork(child))
        last_restart = 0.0
        status = 0
        deadline: float | None = None
        while running:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                if stopping and deadline is None:
                    deadline = time.monotonic() + STOP_TIMEOUT
                if deadline is not None and time.monotonic() > deadline:
                    for left in list(running):
                        logger.warning("SFTP server process %s did not stop in time; killing it", left)
                        _signal(left, signal.SIGKILL)
                    deadline = time.monotonic() + STOP_TIMEOUT
                time.sleep(0.05)
                continue
            running.discard(pid)
            exit_code = os.waitstatus_to_exitcode(code)
            if stopping:
                status = status or (exit_code if exit_code > 0 else 0)
                continue
            logger.error("SFTP server process %s ended (exit %s); starting another", pid, exit_code)
            pause = RESTART_PAUSE - (time.monotonic() - last_restart)
            if pause > 0:
                time.sleep(pause)
            last_restart = time.monotonic()
            if not stopping:
                running.add(_fork(child))
        return status
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _fork(child: Callable[[], int]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)  # the child's event loop sets its own
        _end_with_parent(parent)
        code = child()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a child must never return into the parent's loop
        logger.exception("SFTP server process failed")
    finally:
        logging.shutdown()
        os._exit(code)


def _end_with_parent(parent: int) -> None:
    """SIGTERM this child when the parent dies (even by SIGKILL): no server is left orphaned."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
