"""``python manage.py runftpd [--host H] [--port P] [--implicit-port P]``: the FTP/FTPS server in the foreground."""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from albums import outbox
from ftpd import server, tls


class Command(BaseCommand):
    help = "Run the FTP and FTPS server (stops cleanly on SIGTERM or Ctrl-C)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.FTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.FTPD_PORT, help="plain FTP and explicit FTPS")
        parser.add_argument("--implicit-port", type=int, default=settings.FTPD_IMPLICIT_PORT, help="implicit FTPS")

    def handle(self, *args: Any, host: str, port: int, implicit_port: int, **options: Any) -> None:
        try:
            listener = server.start(host, port, implicit_port)
        except OSError as exc:
            self.stderr.write(f"Cannot listen on {host}:{port} or :{implicit_port}: {exc.strerror or exc}")
            raise SystemExit(1) from None

        def stop(signum: int, frame: object) -> None:
            listener.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"certificate sha256 Fingerprint={tls.fingerprint()}")
        self.stdout.write(
            f"FTP server listening on {host}:{listener.port} (FTP, explicit FTPS)"
            f" and {host}:{listener.implicit_port} (implicit FTPS)"
        )
        self.stdout.flush()
        listener.serve()
        if not outbox.drain(5.0):
            self.stderr.write(f"{outbox.pending()} upload(s) left for the sweeper to queue")
        self.stdout.write("FTP server stopped")
