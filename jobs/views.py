"""The account FTP settings page (DESIGN §6): a studio owner's FTP users, passwords, SSH keys and the
connection data photographers type into FileZilla or WinSCP.

Views are thin: forms check shape, ``jobs.services`` decides and writes. A password is shown in the
response to the request that set it and nowhere else (no redirect, no session, ``no-store``).
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from jobs import selectors, services
from jobs.exceptions import PortalError
from jobs.forms import FTPUserCreateForm, PasswordForm, SSHKeyForm
from jobs.models import Account
from portal.connection import FTPSConnection, SFTPConnection


def managed_account(request: HttpRequest, account_id: int) -> Account:
    account = selectors.accounts_managed_by(user=request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such studio, or you do not manage it.")
    return account


def _connection(username: str = "your FTP user name") -> dict[str, SFTPConnection | FTPSConnection]:
    """The connection data of both doors, for ``jobs/_connection.html``."""
    return {"connection": SFTPConnection(username=username), "ftps": FTPSConnection(username=username)}


def render_settings(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render inside the admin's frame (header, user tools), like the rest of the staff pages."""
    return render(request, template, {**admin.site.each_context(request), "title": "FTP settings", **context})


def generated_password() -> str:
    return secrets.token_urlsafe(15)


@login_required
def account_index(request: HttpRequest) -> HttpResponse:
    accounts = list(selectors.accounts_managed_by(user=request.user))
    if len(accounts) == 1:
        return redirect("jobs:ftp_settings", account_id=accounts[0].pk)
    return render_settings(request, "jobs/account_index.html", {"accounts": accounts})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def ftp_settings(request: HttpRequest, account_id: int) -> HttpResponse:
    account = managed_account(request, account_id)
    form = FTPUserCreateForm(request.POST or None)
    new_password = created = None
    if request.method == "POST" and form.is_valid():
        password = form.cleaned_data["password"] or generated_password()
        try:
            created = services.ftp_user_create(
                account=account, username=form.cleaned_data["username"], password=password
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            new_password = password if not form.cleaned_data["password"] else None
            form = FTPUserCreateForm()
    context = {
        "account": account,
        "ftp_users": selectors.ftp_users_of(account=account),
        "form": form,
        "created": created,
        "new_password": new_password,
        **_connection(created.username if created else "your FTP user name"),
    }
    return render_settings(request, "jobs/ftp_settings.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def ftp_user_detail(request: HttpRequest, account_id: int, username: str) -> HttpResponse:
    account = managed_account(request, account_id)
    ftp_user = get_object_or_404(account.ftp_users, username=username)
    password_form, key_form = PasswordForm(), SSHKeyForm()
    new_password = notice = None
    action = request.POST.get("action")
    try:
        if action == "password":
            password_form = PasswordForm(request.POST)
            if password_form.is_valid():
                typed = password_form.cleaned_data["password"]
                password = typed or generated_password()
                services.ftp_user_set_password(ftp_user=ftp_user, password=password)
                new_password = None if typed else password
                password_form, notice = PasswordForm(), "Password changed."
        elif action in ("activate", "deactivate"):
            services.ftp_user_set_active(ftp_user=ftp_user, is_active=action == "activate")
            notice = "FTP user activated." if action == "activate" else "FTP user deactivated: it can no longer log in."
        elif action in ("allow_plain_ftp", "refuse_plain_ftp"):
            allowed = action == "allow_plain_ftp"
            services.ftp_user_set_plain_ftp(ftp_user=ftp_user, allowed=allowed)
            notice = "Plain FTP allowed for this FTP user." if allowed else "Plain FTP refused: FTPS or SFTP only."
        elif action == "add_key":
            key_form = SSHKeyForm(request.POST)
            if key_form.is_valid():
                key = services.ssh_key_add(ftp_user=ftp_user, public_key=key_form.cleaned_data["public_key"])
                key_form, notice = SSHKeyForm(), f"Key {key.fingerprint} added."
        elif action == "remove_key":
            key = get_object_or_404(ftp_user.ssh_keys, pk=request.POST.get("key_id"))
            services.ssh_key_remove(key=key)
            notice = f"Key {key.fingerprint} removed."
    except PortalError as exc:
        (key_form if action == "add_key" else password_form).add_error(None, exc.message)
    context = {
        "account": account,
        "ftp_user": ftp_user,
        "keys": ftp_user.ssh_keys.order_by("created_at"),
        "password_form": password_form,
        "key_form": key_form,
        "new_password": new_password,
        "notice": notice,
        **_connection(ftp_user.username),
    }
    return render_settings(request, "jobs/ftp_user.html", context)
