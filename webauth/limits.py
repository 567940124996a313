"""Failed web logins counted by the login guard every door shares (``tree.guard.LoginGuard``).

How it hooks into Django: ``GuardedModelBackend`` is the only authentication backend, so every
``authenticate()`` (the admin login, any other login form) passes it. Before it checks a password it
asks the guard whether (address, user name) or the address is banned; if so it answers no without
hashing anything and without counting the attempt (a ban never adds up to a ban of the address,
so one forgotten password behind a school's shared address locks out nobody else). A wrong password
counts as a failure; a right one forgets that pair's failures, except for a user with two-factor
login, whose failures are forgotten only once the code was right too (``webauth.views``).

The thresholds are the doors' (``LOGIN_BAN_*``): one rule for SFTP, FTP and the web. The guard comes
from ``tree.guard.make_guard`` so bans live in whatever store is configured (Redis when
``LOGIN_REDIS_URL`` is set: shared with the doors and the settings area's ban list).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from audit.middleware import request_address
from tree.guard import LoginGuard, make_guard

_guards: dict[tuple[str, str], LoginGuard] = {}
_lock = threading.Lock()

# Where the backend leaves the refusal for the login form to show.
REFUSED_ATTRIBUTE = "webauth_refused"


def web_guard() -> LoginGuard:
    """This process's login guard, one per configured store (tests change the prefix to start afresh)."""
    key = (settings.LOGIN_REDIS_URL or "", settings.LOGIN_REDIS_PREFIX)
    with _lock:
        guard = _guards.get(key)
        if guard is None:
            guard = _guards[key] = make_guard()
        return guard


def client_address(request: HttpRequest) -> str:
    """The browser's address as the audit log records it (``WEB_BEHIND_PROXY``: the one the proxy appended)."""
    return request_address(request) or str(request.META.get("REMOTE_ADDR", ""))


def refusal_message(guard: LoginGuard) -> str:
    """The sentence a refused login reads (the same for a banned name and a banned address)."""
    seconds = guard.policy.duration
    if seconds >= 120:
        minutes = -(-seconds // 60)
        wait = ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    else:
        wait = ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    return gettext("Too many failed logins. Logging in is paused for %(wait)s; please try again then.") % {"wait": wait}


def refused(request: HttpRequest, username: str) -> str:
    """Why a login of ``username`` from this request is refused now ("" when it may be tried)."""
    guard = web_guard()
    if guard.refusal(client_address(request), username):
        return refusal_message(guard)
    return ""


def login_failed(request: HttpRequest, username: str) -> None:
    web_guard().failed(client_address(request), username)


def login_succeeded(request: HttpRequest, username: str) -> None:
    web_guard().succeeded(client_address(request), username)


class GuardedModelBackend(ModelBackend):
    """Django's model backend behind the login guard (see the module docstring)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None or username is None:  # no browser to guard (a command, a test helper)
            return super().authenticate(request, username=username, password=password, **kwargs)
        refusal = refused(request, username)
        if refusal:
            setattr(request, REFUSED_ATTRIBUTE, refusal)
            raise PermissionDenied(refusal)  # authenticate() stops here: no other backend, no hashing
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            login_failed(request, username)
        else:
            from webauth.services import two_factor_device

            if two_factor_device(user) is None:
                login_succeeded(request, username)
        return user
