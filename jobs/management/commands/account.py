"""``python manage.py account create NAME``."""

from __future__ import annotations

from typing import Any

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
        sub.add_parser("list", help="list accounts")

    def handle_create(self, *, name: str, **options: Any) -> None:
        account = services.account_create(name=name)
        self.stdout.write(f"account {account.name} created (id {account.pk})")

    def handle_list(self, **options: Any) -> None:
        for account in Account.objects.all():
            self.stdout.write(account.name)
