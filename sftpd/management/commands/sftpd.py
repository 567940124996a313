"""``python manage.py sftpd fingerprints|create-keys``: the host keys, as ``ssh-keygen -l`` prints them.

``fingerprints`` only reads the published keys (it never makes any, so it cannot race a starting
server); ``create-keys`` makes missing keys now, which ``runsftpd`` otherwise does on its first start.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.connection import KEY_COMMENT, host_key_fingerprints
from sftpd import hostkeys


class Command(BaseCommand):
    help = "SFTP server utilities."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("fingerprints", help="print SHA256 and MD5 host key fingerprints")
        sub.add_parser("create-keys", help="make the host keys now if they are missing")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        key_dir = settings.SFTPD_HOST_KEY_DIR
        if action == "create-keys":
            hostkeys.load_or_create(key_dir)
        found = host_key_fingerprints(key_dir)
        if not found:
            raise CommandError(
                f"There are no host keys in {key_dir} yet: the SFTP server makes them when it first starts "
                "(or run: python manage.py sftpd create-keys)."
            )
        for fp in found:
            self.stdout.write(f"{fp.bits} {fp.sha256} {KEY_COMMENT} ({fp.kind})")
            self.stdout.write(f"{fp.bits} {fp.md5} {KEY_COMMENT} ({fp.kind})")
