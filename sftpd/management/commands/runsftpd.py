"""``python manage.py runsftpd [--host H] [--port P]``: the SFTP server in the foreground."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from albums import outbox
from portal.connection import host_key_fingerprints
from sftpd import listener


class Command(BaseCommand):
    help = "Run the SFTP server (stops cleanly on SIGTERM or Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SFTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.SFTPD_PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        asyncio.run(self._serve(host, port))

    async def _serve(self, host: str, port: int) -> None:
        try:
            acceptor = await listener.start(host, port)
        except OSError as exc:
            self.stderr.write(f"Cannot listen on {host}:{port}: {exc.strerror or exc}")
            raise SystemExit(1) from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        for fp in host_key_fingerprints():
            self.stdout.write(f"host key {fp.algorithm} {fp.sha256}")
        self.stdout.write(f"SFTP server listening on {host}:{acceptor.get_port()}", ending="\n")
        self.stdout.flush()
        await stop.wait()
        acceptor.close()
        await acceptor.wait_closed()
        # Uploads recorded in the last moments: send their tasks now (the sweeper would, later).
        if not await asyncio.to_thread(outbox.drain, 5.0):
            self.stderr.write(f"{outbox.pending()} upload(s) left for the sweeper to queue")
        self.stdout.write("SFTP server stopped")
