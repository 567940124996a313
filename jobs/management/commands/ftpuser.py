"""``python manage.py ftpuser create|set-password|add-key|activate|deactivate|plain-ftp|notices ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from jobs import selectors, services
from jobs.management.commands._base import ServiceCommand


class Command(ServiceCommand):
    help = "Manage FTP (SFTP) users."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an FTP user in an account")
        create.add_argument("account")
        create.add_argument("username")
        create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        setpw = sub.add_parser("set-password", help="set an FTP user's password")
        setpw.add_argument("username")
        setpw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        key = sub.add_parser("add-key", help="add an OpenSSH public key file to an FTP user")
        key.add_argument("username")
        key.add_argument("keyfile")
        for name in ("activate", "deactivate"):
            sub.add_parser(name).add_argument("username")
        plain = sub.add_parser("plain-ftp", help="allow or refuse plain (unencrypted) FTP for an FTP user")
        plain.add_argument("username")
        plain.add_argument("setting", choices=["on", "off"])
        notices = sub.add_parser(
            "notices", help="show an FTP user (a camera too) its rejections: login banner and REJECTED.txt"
        )
        notices.add_argument("username")
        notices.add_argument("setting", choices=["on", "off"])

    def _password(self, password_stdin: bool) -> str:
        if not password_stdin:
            raise CommandError("Pass --password-stdin and the password on standard input.")
        return self.read_secret("Password: ")

    def handle_create(self, *, account: str, username: str, password_stdin: bool, **options: Any) -> None:
        password = self._password(password_stdin) if password_stdin else None
        user = services.ftp_user_create(
            account=selectors.account_get(name=account), username=username, password=password
        )
        self.stdout.write(f"FTP user {user.username} created in account {account}")

    def handle_set_password(self, *, username: str, password_stdin: bool, **options: Any) -> None:
        user = selectors.ftp_user_get(username=username)
        services.ftp_user_set_password(ftp_user=user, password=self._password(password_stdin))
        self.stdout.write(f"password of {user.username} set")

    def handle_add_key(self, *, username: str, keyfile: str, **options: Any) -> None:
        user = selectors.ftp_user_get(username=username)
        try:
            text = Path(keyfile).read_text()
        except OSError as exc:
            raise CommandError(f"Cannot read {keyfile}: {exc.strerror}") from None
        key = services.ssh_key_add(ftp_user=user, public_key=text)
        self.stdout.write(f"key {key.fingerprint} added to {user.username}")

    def handle_activate(self, *, username: str, **options: Any) -> None:
        services.ftp_user_set_active(ftp_user=selectors.ftp_user_get(username=username), is_active=True)

    def handle_plain_ftp(self, *, username: str, setting: str, **options: Any) -> None:
        user = services.ftp_user_set_plain_ftp(
            ftp_user=selectors.ftp_user_get(username=username), allowed=setting == "on"
        )
        if user.allow_plain_ftp:
            self.stderr.write(
                f"{user.username} may now log in over plain FTP: its password crosses the network readable."
            )
        else:
            self.stdout.write(f"{user.username} must use FTPS or SFTP")

    def handle_notices(self, *, username: str, setting: str, **options: Any) -> None:
        user = services.ftp_user_set_rejection_notices(
            ftp_user=selectors.ftp_user_get(username=username), enabled=setting == "on"
        )
        if user.rejection_notices:
            self.stdout.write(f"{user.username} is told of its rejections (login banner, REJECTED.txt in albums)")
        else:
            self.stdout.write(f"{user.username} is not told of its rejections")

    def handle_deactivate(self, *, username: str, **options: Any) -> None:
        services.ftp_user_set_active(ftp_user=selectors.ftp_user_get(username=username), is_active=False)
