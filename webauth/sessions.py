"""Web sessions end: a working day after login, after a while without a request, and when 2FA is missing.

``SESSION_COOKIE_AGE`` (10 hours) is the longest a login lasts, counted from the login itself even
though the session is saved again while it is used; ``WEB_SESSION_IDLE_SECONDS`` (2 hours; 0: off)
ends a session nobody used for that long, as on a studio's shared computer. The last request's time
is written at most once a minute, so browsing costs no session write per page. A user who turned
two-factor login on is logged out of every session that did not pass the code (one started before,
or by any login path that skipped it): ``TwoFactorRequired`` in the middleware.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

LOGIN_AT = "webauth.login_at"
SEEN_AT = "webauth.seen_at"
# Seconds between two writes of the last request's time.
SEEN_RESOLUTION = 60


@receiver(user_logged_in, dispatch_uid="webauth.stamp_login")
def _stamp_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[LOGIN_AT] = now
        request.session[SEEN_AT] = now


def ended(request: HttpRequest, now: float) -> str:
    """Why this logged-in session is over ("" while it goes on)."""
    session = request.session
    login_at = session.get(LOGIN_AT)
    if login_at is None:  # a session from before this rule: count from now
        session[LOGIN_AT] = login_at = now
    if now - login_at > settings.SESSION_COOKIE_AGE:
        return gettext("Your login has expired. Please log in again.")
    seen = session.get(SEEN_AT)
    idle = settings.WEB_SESSION_IDLE_SECONDS
    if idle and seen is not None and now - seen > idle:
        return gettext("You were logged out after a while without activity. Please log in again.")
    if seen is None or now - seen >= SEEN_RESOLUTION:
        session[SEEN_AT] = now
    from webauth.services import two_factor_device

    user = request.user
    verified = getattr(user, "is_verified", None)
    if not (callable(verified) and verified()) and two_factor_device(user) is not None:
        return gettext("Two-factor login is on for you: please log in again with your code.")
    return ""


class SessionLimitsMiddleware:
    """Logs out a session that ran out or lacks its second factor (after django-otp's OTPMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            reason = ended(request, time.time())
            if reason:
                logout(request)
                messages.info(request, reason)
        return self.get_response(request)
