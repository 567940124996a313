"""``manage.py twofactor off USERNAME``: an operator turns off a user's two-factor login (a lost phone).

The user then logs in with the password alone and can set it up again on the two-factor page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import acting, operator
from webauth import services


class Command(BaseCommand):
    help = "Turn off a web user's two-factor login (for a lost phone)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["off"])
        parser.add_argument("username")

    def handle(self, *args: Any, action: str, username: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"There is no web user {username!r}.")
        with acting(operator()):
            removed = services.two_factor_remove(user=user)
        said = f"Two-factor login of {username} is off." if removed else f"{username} had no two-factor login."
        self.stdout.write(said)
