"""The admin's login in two steps (password, then the code for users with two-factor login) and the
page where a user turns two-factor login on or off.

The login view is the admin's own (``admin.site.login``'s context and template) with ``LoginForm``;
``portal/urls.py`` routes ``/admin/login/`` here ahead of the admin. After a right password a user
with two-factor login is not logged in yet: the session remembers who passed the password (for
``PENDING_SECONDS``) and the code page finishes the login.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from audit.context import acting, staff
from webauth import limits, services
from webauth.forms import CodeForm, LoginForm

PENDING = "webauth.pending"
PENDING_SECONDS = 300


def _admin_context(request: HttpRequest, title: str) -> dict[str, Any]:
    return {**admin.site.each_context(request), "title": title, "site_title": admin.site.site_title}


class PasswordStep(LoginView):
    form_class = LoginForm
    template_name = "admin/login.html"

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        if services.two_factor_device(user) is None:
            return super().form_valid(form)
        self.request.session.cycle_key()
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": getattr(user, "backend", ""),
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("webauth:login_code")


@sensitive_post_parameters()
@csrf_protect
@never_cache
def login(request: HttpRequest) -> HttpResponseBase:
    """``admin.site.login`` with the guarded form and the two-factor step."""
    if request.method == "GET" and admin.site.has_permission(request):
        return HttpResponseRedirect(reverse("admin:index"))
    context = {
        **_admin_context(request, gettext("Log in")),
        "subtitle": None,
        "app_path": request.get_full_path(),
        "username": request.user.get_username(),
    }
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        context[REDIRECT_FIELD_NAME] = reverse("admin:index")
    return PasswordStep.as_view(extra_context=context)(request)


def _pending(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    return (user, pending) if user is not None else None


@sensitive_post_parameters()
@csrf_protect
@never_cache
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: the code from the authenticator app."""
    found = _pending(request)
    device = services.two_factor_device(found[0]) if found else None
    if found is None or device is None:
        request.session.pop(PENDING, None)
        messages.info(request, gettext("Please log in with your user name and password first."))
        return redirect("admin:login")
    user, pending = found
    username = user.get_username()
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refusal = limits.refused(request, username)
        wait = services.code_wait_seconds(device)
        if refusal:
            form.refuse(refusal)
        elif wait:
            message = gettext("Too many wrong codes. Please wait %(seconds)d seconds and try again.")
            form.refuse(message % {"seconds": wait})
        elif services.code_accepted(device, form.cleaned_data["code"]):
            limits.login_succeeded(request, username)
            del request.session[PENDING]
            auth_login(request, user, backend=pending["backend"] or None)
            otp_login(request, device)
            target = pending["next"]
            if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
                target = reverse("admin:index")
            return redirect(target)
        else:
            limits.login_failed(request, username)
            form.refuse(
                gettext("That code is not right. Type the code your app shows now (it changes every 30 seconds)."),
            )
    context = {**_admin_context(request, gettext("Two-factor login")), "form": form, "login_user": username}
    return render(request, "webauth/login_code.html", context)


@staff_member_required
@never_cache
def two_factor(request: HttpRequest) -> HttpResponse:
    """Turn two-factor login on (QR code, then a code) or off (a code)."""
    user = request.user
    device = services.two_factor_device(user)
    form = CodeForm(request.POST or None)
    with acting(staff(user, limits.client_address(request))):
        if device is None:
            pending = services.two_factor_pending(user)
            if request.method == "POST" and "begin" in request.POST:
                services.two_factor_begin(user=user)
                return redirect("webauth:two_factor")
            if request.method == "POST" and pending is not None and form.is_valid():
                if services.two_factor_confirm(user=user, device=pending, code=form.cleaned_data["code"]):
                    otp_login(request, pending)
                    messages.success(
                        request, gettext("Two-factor login is on. From now on the login asks for a code from your app.")
                    )
                    return redirect("webauth:two_factor")
                form.refuse(gettext("That code is not right. Type the code your app shows now."))
            context = {"pending": pending, "form": form if pending else None}
            if pending is not None:
                context["qr"] = services.qr_data_uri(pending)
                context["secret"] = services.secret_for_typing(pending)
        else:
            if request.method == "POST" and form.is_valid():
                if services.two_factor_turn_off(user=user, code=form.cleaned_data["code"]):
                    messages.success(request, gettext("Two-factor login is off. The login asks only for the password."))
                    return redirect("webauth:two_factor")
                form.refuse(gettext("That code is not right. Type the code your app shows now."))
            context = {"device": device, "form": form}
    context.update(_admin_context(request, gettext("Two-factor login")))
    return render(request, "webauth/two_factor.html", context)
