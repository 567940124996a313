"""``python manage.py account create NAME [--time-zone TZ] [--language en|de]``,
``account add-member ACCOUNT USERNAME --role owner|staff [--password-stdin]``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import CommandError, CommandParser

from jobs import selectors, services
from jobs.management.commands._base import ServiceCommand
from jobs.models import Account, Membership


class Command(ServiceCommand):
    help = "Manage accounts (studios)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create an account")
        create.add_argument("name")
        create.add_argument(
            "--time-zone", help="the zone its pages and upload log show times in (default: ACCOUNT_DEFAULT_TIME_ZONE)"
        )
        create.add_argument(
            "--language", choices=[code for code, _ in settings.LANGUAGES], help="the language of its FTP/SFTP doors"
        )
        sub.add_parser("list", help="list accounts")
        member = sub.add_parser("add-member", help="give a web login (made when new) a role in an account")
        member.add_argument("account")
        member.add_argument("username")
        member.add_argument("--role", required=True, help="owner or staff")
        member.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the login's password from stdin (needed for a new login; replaces an existing one's)",
        )

    def handle_create(self, *, name: str, time_zone: str | None, language: str | None, **options: Any) -> None:
        account = services.account_create(name=name, time_zone=time_zone, language=language)
        self.stdout.write(f"account {account.name} created (id {account.pk})")

    def handle_add_member(
        self, *, account: str, username: str, role: str, password_stdin: bool, **options: Any
    ) -> None:
        studio = selectors.account_get(name=account)
        if role not in Membership.Role.values:
            raise CommandError(f"Unknown role {role!r}: use owner or staff.")
        if not password_stdin and not User.objects.filter(username=username.strip()).exists():
            raise CommandError(
                f"{username!r} is a new login: pass --password-stdin and its password on standard input."
            )
        password = self.read_secret("Password: ") if password_stdin else None
        membership, created = services.account_member_onboard(
            account=studio, username=username, role=role, password=password
        )
        made = "created and added" if created else "added"
        self.stdout.write(f"login {membership.user.get_username()} {made} to account {studio.name} as {role}")

    def handle_list(self, **options: Any) -> None:
        for account in Account.objects.all():
            self.stdout.write(account.name)
