"""The account settings area (DESIGN §6): a studio owner's FTP users, passwords, SSH keys, each user's
connection card, the sessions open now, the login bans in force and the account's recent rejections.

Views are thin: forms check shape; ``jobs.services``, ``tree.live`` (sessions) and ``tree.bans``
decide and write; ``jobs.selectors`` says who may (only the studio's owners manage FTP users, devices
and keys). A password is shown in the response to the request that set it and nowhere else (no
redirect, no session, ``no-store``). What deletes or blocks (deactivate, delete, remove a key) asks
first on a page of its own; the other actions redirect back with a message.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from albums.models import Upload
from audit import context as audit_context
from jobs import selectors, services
from jobs.exceptions import PortalError
from jobs.forms import FTPUserCreateForm, PasswordForm, SSHKeyForm
from jobs.models import Account, FTPUser
from portal.connection import card
from tree import bans, live

RECENT_REJECTIONS = 20


def managed_account(request: HttpRequest, account_id: int) -> Account:
    """The account, if this person may manage its FTP users and devices (its owners; superusers)."""
    account = selectors.owned_accounts(request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404("No such studio, or you do not manage it.")
    return account


def render_settings(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render inside the admin's frame (header, user tools), like the rest of the staff pages."""
    return render(
        request, template, {**admin.site.each_context(request), "title": gettext_lazy("FTP settings"), **context}
    )


def generated_password() -> str:
    return secrets.token_urlsafe(15)


def as_staff(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run the view as the logged-in person, from the request's address, for the audit log."""

    @wraps(view)
    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with audit_context.acting(audit_context.staff(request.user, request.META.get("REMOTE_ADDR"))):
            return view(request, *args, **kwargs)

    return run


def settings_view(methods: list[str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        return never_cache(login_required(require_http_methods(methods)(as_staff(view))))

    return decorate


@login_required
def account_index(request: HttpRequest) -> HttpResponse:
    owned = list(selectors.owned_accounts(request.user))
    staffed = [a for a in selectors.staffed_accounts(request.user) if a not in owned]
    if len(owned) == 1 and not staffed:
        return redirect("jobs:ftp_settings", account_id=owned[0].pk)
    return render_settings(request, "jobs/account_index.html", {"accounts": owned, "staffed": staffed})


def _ftp_user(account: Account, username: str) -> FTPUser:
    return get_object_or_404(account.ftp_users, username=username)


@settings_view(["GET", "POST"])
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
    try:
        banned = bans.bans_of_account(account=account)
        bans_unavailable = False
    except Exception:  # Redis unreachable: the page still shows everything else
        banned, bans_unavailable = [], True
    context = {
        "account": account,
        "ftp_users": selectors.ftp_users_of(account=account),
        "form": form,
        "created": created,
        "new_password": new_password,
        "card": card(created),
        "sessions": live.sessions_of(account=account),
        "bans": banned,
        "bans_unavailable": bans_unavailable,
        "rejections": Upload.objects.filter(account=account, state=Upload.State.REJECTED)
        .select_related("album")
        .order_by("-received_at")[:RECENT_REJECTIONS],
    }
    return render_settings(request, "jobs/ftp_settings.html", context)


@settings_view(["GET", "POST"])
def ftp_user_detail(request: HttpRequest, account_id: int, username: str) -> HttpResponse:
    account = managed_account(request, account_id)
    ftp_user = _ftp_user(account, username)
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
                password_form, notice = PasswordForm(), _("Password changed.")
        elif action == "activate":
            services.ftp_user_set_active(ftp_user=ftp_user, is_active=True)
            notice = _("FTP user activated.")
        elif action in ("allow_plain_ftp", "refuse_plain_ftp"):
            allowed = action == "allow_plain_ftp"
            services.ftp_user_set_plain_ftp(ftp_user=ftp_user, allowed=allowed)
            notice = (
                _("Plain FTP allowed for this FTP user.") if allowed else _("Plain FTP refused: FTPS or SFTP only.")
            )
        elif action in ("notices_on", "notices_off"):
            services.ftp_user_set_rejection_notices(ftp_user=ftp_user, enabled=action == "notices_on")
            notice = _("Rejection notices switched on.") if action == "notices_on" else _("Rejection notices off.")
        elif action == "add_key":
            key_form = SSHKeyForm(request.POST)
            if key_form.is_valid():
                key = services.ssh_key_add(ftp_user=ftp_user, public_key=key_form.cleaned_data["public_key"])
                key_form, notice = SSHKeyForm(), _("Key %(fingerprint)s added.") % {"fingerprint": key.fingerprint}
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
        "card": card(ftp_user),
    }
    return render_settings(request, "jobs/ftp_user.html", context)


def _confirm(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    return render_settings(request, "jobs/confirm.html", {"title": context["question"], **context})


@settings_view(["GET", "POST"])
def ftp_user_deactivate(request: HttpRequest, account_id: int, username: str) -> HttpResponse:
    account = managed_account(request, account_id)
    ftp_user = _ftp_user(account, username)
    back = reverse("jobs:ftp_user", args=[account.pk, ftp_user.username])
    if request.method == "POST":
        services.ftp_user_set_active(ftp_user=ftp_user, is_active=False)
        messages.success(request, _("FTP user deactivated: it can no longer log in."))
        return redirect(back)
    question = _("Deactivate the FTP user %(name)s?") % {"name": ftp_user.username}
    consequence = _(
        "It can no longer log in, over SFTP, FTPS or FTP. Its uploads and photos stay; you can activate it again."
    )
    return _confirm(
        request,
        {
            "account": account,
            "question": question,
            "consequence": consequence,
            "back": back,
            "button": _("Deactivate"),
            "button_id": "confirm-deactivate",
        },
    )


@settings_view(["GET", "POST"])
def ftp_user_delete(request: HttpRequest, account_id: int, username: str) -> HttpResponse:
    account = managed_account(request, account_id)
    ftp_user = _ftp_user(account, username)
    if request.method == "POST":
        services.ftp_user_delete(ftp_user=ftp_user)
        messages.success(request, _("FTP user %(name)s deleted. Its uploads and photos stay.") % {"name": username})
        return redirect("jobs:ftp_settings", account_id=account.pk)
    uploads = Upload.objects.filter(ftp_user=ftp_user).count()
    question = _("Delete the FTP user %(name)s?") % {"name": ftp_user.username}
    consequence = _(
        "It can no longer log in and its SSH keys go with it; sessions open now are ended. Its %(count)s"
        " uploads and their photos stay, listed under its name. The name becomes free for a new FTP user."
    ) % {"count": uploads}
    if ftp_user.kind == FTPUser.Kind.DEVICE:
        consequence += " " + _("This is a camera: its settings and status reports are deleted too.")
    return _confirm(
        request,
        {
            "account": account,
            "question": question,
            "consequence": consequence,
            "back": reverse("jobs:ftp_user", args=[account.pk, ftp_user.username]),
            "button": _("Delete"),
            "button_id": "confirm-delete",
            "danger": True,
        },
    )


@settings_view(["GET", "POST"])
def ssh_key_remove(request: HttpRequest, account_id: int, username: str, key_id: int) -> HttpResponse:
    account = managed_account(request, account_id)
    ftp_user = _ftp_user(account, username)
    key = get_object_or_404(ftp_user.ssh_keys, pk=key_id)
    back = reverse("jobs:ftp_user", args=[account.pk, ftp_user.username])
    if request.method == "POST":
        services.ssh_key_remove(key=key)
        messages.success(request, _("Key %(fingerprint)s removed.") % {"fingerprint": key.fingerprint})
        return redirect(back)
    question = _("Remove the SSH key %(fingerprint)s of %(name)s?") % {
        "fingerprint": key.fingerprint,
        "name": ftp_user.username,
    }
    consequence = _("Whoever logs in with this key (%(comment)s) can no longer do so.") % {
        "comment": key.comment or key.key_type
    }
    return _confirm(
        request,
        {
            "account": account,
            "question": question,
            "consequence": consequence,
            "back": back,
            "button": _("Remove key"),
            "button_id": "confirm-remove-key",
        },
    )


@never_cache
@login_required
@require_POST
@as_staff
def session_disconnect(request: HttpRequest, account_id: int, session_id: int) -> HttpResponse:
    account = managed_account(request, account_id)
    session = live.sessions_of(account=account).filter(pk=session_id).first()
    if session is None:
        messages.info(request, _("That session has ended already."))
    else:
        live.session_disconnect(session=session)
        messages.success(
            request,
            _("The session of %(name)s is being ended; it disappears from the list within a few seconds.")
            % {"name": session.username},
        )
    return redirect(reverse("jobs:ftp_settings", args=[account.pk]) + "#sessions")


@never_cache
@login_required
@require_POST
@as_staff
def ban_lift(request: HttpRequest, account_id: int) -> HttpResponse:
    account = managed_account(request, account_id)
    try:
        ban = bans.ban_lift(
            account=account, address=request.POST.get("address", ""), username=request.POST.get("username", "")
        )
    except PortalError as exc:
        messages.info(request, exc.message)
    else:
        if ban.username:
            text = _("Ban lifted: %(name)s may log in from %(address)s again.")
        else:
            text = _("Ban lifted: the address %(address)s may log in again.")
        messages.success(request, text % {"name": ban.username, "address": ban.address})
    return redirect(reverse("jobs:ftp_settings", args=[account.pk]) + "#bans")
