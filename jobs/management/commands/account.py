"""``python manage.py account create NAME [--time-zone TZ] [--language en|de]``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from jobs import services
from jobs.management.commands._base import ServiceCommand
from jobs.models import Account


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

    def handle_create(self, *, name: str, time_zone: str | None, language: str | None, **options: Any) -> None:
        account = services.account_create(name=name, time_zone=time_zone, language=language)
        self.stdout.write(f"account {account.name} created (id {account.pk})")

    def handle_list(self, **options: Any) -> None:
        for account in Account.objects.all():
            self.stdout.write(account.name)
