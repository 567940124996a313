"""What the operator commands share: service errors become a sentence on stderr and exit 1, and every
write is recorded in the audit log as the operator's (``audit.context.operator``)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.context import acting, operator
from jobs.exceptions import PortalError


class ServiceCommand(BaseCommand):
    """A command with sub-actions; ``handle_<action>`` methods call services only."""

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            with acting(operator()):
                getattr(self, f"handle_{action.replace('-', '_')}")(**options)
        except PortalError as exc:
            raise CommandError(exc.message) from None

    def read_secret(self, prompt: str) -> str:
        """A secret from stdin (one line); never prompts when stdin is not a terminal."""
        if sys.stdin.isatty():
            import getpass

            return getpass.getpass(prompt)
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CommandError("Expected the password on standard input; got nothing.")
        return value
