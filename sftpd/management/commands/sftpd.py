"""``python manage.py sftpd fingerprints``: the host key fingerprints, as ``ssh-keygen -l`` prints them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from sftpd import hostkeys


class Command(BaseCommand):
    help = "SFTP server utilities."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("fingerprints", help="print SHA256 and MD5 host key fingerprints")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        for fp in hostkeys.fingerprints(settings.SFTPD_HOST_KEY_DIR):
            kind = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}.get(fp.algorithm, fp.algorithm)
            self.stdout.write(f"{fp.bits} {fp.sha256} photo-portal ({kind})")
            self.stdout.write(f"{fp.bits} {fp.md5} photo-portal ({kind})")
