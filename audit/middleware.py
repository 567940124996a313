"""The web's actor: every request runs as its logged-in user, from the browser's address.

Behind the production proxy (``WEB_BEHIND_PROXY``) the browser's address is the last entry of
``X-Forwarded-For`` (the one the proxy appended; earlier entries are whatever the client sent), as
the web login guard reads it; otherwise ``REMOTE_ADDR``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit import context


def request_address(request: HttpRequest) -> str | None:
    """The browser's address, or None when there is no valid one (a test client may send none)."""
    address = str(request.META.get("REMOTE_ADDR", ""))
    if getattr(settings, "WEB_BEHIND_PROXY", False):
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            address = forwarded[-1]
    try:
        return str(ip_address(address))
    except ValueError:
        return None


def request_actor(request: HttpRequest) -> context.Actor:
    return context.staff(request.user, request_address(request))


class AuditActorMiddleware:
    """After ``AuthenticationMiddleware``: writes during the request are the logged-in user's.

    The user is looked up only when an event is recorded (``audit.context.acting`` takes a function),
    so requests that write nothing do not load the session for it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with context.acting(partial(request_actor, request)):
            return self.get_response(request)
