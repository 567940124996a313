"""``python manage.py runsftpd [--host H] [--port P] [--processes N|auto]``: the SFTP server in the foreground.

With more than one process (``SFTPD_PROCESSES``, see ``sftpd.processes``) this process binds the
port, forks the server processes and watches them; each one serves sessions on the shared socket.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from albums import outbox
from portal.connection import host_key_fingerprints
from sftpd import hostkeys, listener
from sftpd import processes as server_processes
from tree.layout import sweep_staging


class Command(BaseCommand):
    help = "Run the SFTP server (stops cleanly on SIGTERM or Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SFTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.SFTPD_PORT)
        parser.add_argument(
            "--processes",
            default=None,
            help="server processes sharing the port: a number, or 'auto' (default SFTPD_PROCESSES)",
        )

    def handle(self, *args: Any, host: str, port: int, processes: str | None, **options: Any) -> None:
        if processes is not None:
            settings.SFTPD_PROCESSES = processes
        try:
            count = server_processes.count()
        except ValueError:
            self.stderr.write(f"--processes takes a number or 'auto', not {processes!r}")
            raise SystemExit(2) from None
        if count == 1:
            asyncio.run(self._serve(host, port))
            return
        hostkeys.load_or_create(settings.SFTPD_HOST_KEY_DIR)  # once, before the children start
        sweep_staging()
        try:
            sock = server_processes.bind(host, port)
        except OSError as exc:
            self.stderr.write(f"Cannot listen on {host}:{port}: {exc.strerror or exc}")
            raise SystemExit(1) from None
        self._announce(host, sock.getsockname()[1], count)
        status = server_processes.serve(count, lambda: asyncio.run(self._serve(host, port, sock)) or 0)
        self.stdout.write("SFTP server stopped")
        raise SystemExit(status)

    def _announce(self, host: str, port: int, count: int) -> None:
        for fp in host_key_fingerprints():
            self.stdout.write(f"host key {fp.algorithm} {fp.sha256}")
        if count > 1:
            self.stdout.write(f"{count} server processes share the port")
        self.stdout.write(f"SFTP server listening on {host}:{port}", ending="\n")
        self.stdout.flush()

    async def _serve(self, host: str, port: int, sock: socket.socket | None = None) -> None:
        try:
            acceptor = await listener.start(host, port, sock=sock)
        except OSError as exc:
            self.stderr.write(f"Cannot listen on {host}:{port}: {exc.strerror or exc}")
            raise SystemExit(1) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if sock is None:
            self._announce(host, acceptor.get_port(), 1)
        await stop.wait()
        acceptor.close()
        await acceptor.wait_closed()
        # Uploads recorded in the last moments: send their tasks now (the sweeper would, later).
        if not await asyncio.to_thread(outbox.drain, 5.0):
            self.stderr.write(f"{outbox.pending()} upload(s) left for the sweeper to queue")
        if sock is None:
            self.stdout.write("SFTP server stopped")
