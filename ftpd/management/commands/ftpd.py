"""``python manage.py ftpd fingerprints|create-cert``: the FTPS certificate.

``fingerprints`` prints the certificate's SHA-256 exactly as ``openssl x509 -noout -fingerprint
-sha256 -in CERT`` does, and never makes a certificate; ``create-cert`` makes one now if there is
none (``runftpd`` otherwise does on its first start).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ftpd import tls


class Command(BaseCommand):
    help = "FTP server utilities."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("fingerprints", help="print the TLS certificate's SHA-256 fingerprint")
        sub.add_parser("create-cert", help="make the TLS certificate now if there is none")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create-cert":
            tls.load_or_create()
        found = tls.fingerprint()
        if not found:
            raise CommandError(
                f"There is no FTPS certificate at {tls.paths().cert} yet: the FTP server makes it when it first starts "
                "(or run: python manage.py ftpd create-cert)."
            )
        self.stdout.write(f"sha256 Fingerprint={found}")
