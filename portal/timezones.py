"""Studio time: which account's zone a page is shown in, and the middleware that activates it.

Every time is stored in UTC; pages and ``manage.py uploads`` show it in the account's zone
(``Account.time_zone``, DESIGN §6). A page about one account (any URL with ``account_id``, such as
``/accounts/3/ftp/``) is in that account's zone, and the account is remembered in the session as
the person's choice; other pages (the admin) use the remembered account while the person still
belongs to it, else the first of their accounts by name. Someone in no account (an operator's
superuser) sees ``ACCOUNT_DEFAULT_TIME_ZONE``.

A zone name is checked by ``jobs.services.valid_time_zone`` (accounts get only valid ones).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from jobs.models import Account
from jobs.services import valid_time_zone

SESSION_KEY = "portal_account_id"  # the account whose zone this person's pages use


def zone_of(account: Account | None) -> tzinfo:
    """The account's zone; the default zone for no account or a name this machine does not know."""
    name = account.time_zone if account is not None else settings.ACCOUNT_DEFAULT_TIME_ZONE
    if not valid_time_zone(name):
        name = settings.ACCOUNT_DEFAULT_TIME_ZONE
    return zoneinfo.ZoneInfo(name)


def local(moment: datetime, account: Account | None) -> datetime:
    """A stored (aware) time in the account's zone."""
    return moment.astimezone(zone_of(account))


def account_for(request: HttpRequest, account_id: int | None = None) -> Account | None:
    """The account whose zone this request's page is shown in (the rules in the module docstring)."""
    user = request.user
    if not user.is_authenticated:
        return None
    mine = Account.objects.filter(memberships__user_id=user.pk)
    if account_id is not None:
        # Superusers see every account's pages: such a page is in that account's zone too.
        chosen = (Account.objects.all() if user.is_superuser else mine).filter(pk=account_id).first()
        if chosen is not None:
            request.session[SESSION_KEY] = chosen.pk
            return chosen
    remembered = request.session.get(SESSION_KEY)
    if remembered is not None:
        scope = Account.objects.all() if user.is_superuser else mine
        chosen = scope.filter(pk=remembered).first()
        if chosen is not None:
            return chosen
    return mine.order_by("name").first()


class AccountTimeZoneMiddleware:
    """Activates the zone of the page's account (``account_for``) for the view and its templates."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        account_id = kwargs.get("account_id")
        try:
            account_id = int(account_id) if account_id is not None else None
        except (TypeError, ValueError):
            account_id = None
        timezone.activate(zone_of(account_for(request, account_id)) if request.user.is_authenticated else zone_of(None))
