"""The account page: an owner sets the studio's time zone and the language of its doors.

The zone is the one every page and ``manage.py uploads`` show the studio's times in
(``portal.timezones``); the language is the one the SFTP/FTP doors answer its photographers in
(``tree.refusals``), as photographers have no browser to ask. The pages themselves follow each
person's own choice (the language switch) or browser. ``jobs.services.account_set_locale`` decides
and writes; this view only shows the form.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from jobs import selectors, services
from jobs.exceptions import PortalError
from jobs.models import Account


@lru_cache(maxsize=1)
def _zones() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


class AccountLocaleForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"), help_text=_("The studio's times on every page and in the upload log are shown in it.")
    )
    language = forms.ChoiceField(
        label=_("Language for photographers"),
        choices=settings.LANGUAGES,
        help_text=_("The SFTP and FTP servers tell your photographers and cameras what went wrong in this language."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        zones = _zones()
        current = self.initial.get("time_zone")
        if current and current not in dict(zones):  # e.g. "UTC": offered as it is
            zones = [(current, current), *zones]
        self.fields["time_zone"].choices = zones  # type: ignore[attr-defined]


def owned_account(request: HttpRequest, account_id: int) -> Account:
    account = selectors.accounts_managed_by(user=request.user).filter(pk=account_id).first()
    if account is None:
        raise Http404(gettext("No such studio, or you do not manage it."))
    return account


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest, account_id: int) -> HttpResponse:
    account = owned_account(request, account_id)
    initial = {"time_zone": account.time_zone, "language": account.language}
    form = AccountLocaleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_set_locale(
                account=account, time_zone=form.cleaned_data["time_zone"], language=form.cleaned_data["language"]
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, gettext("The studio's time zone and language were saved."))
            return redirect("jobs:account_settings", account_id=account.pk)
    context = {
        **admin.site.each_context(request),
        "title": gettext("Studio settings"),
        "account": account,
        "form": form,
    }
    return render(request, "jobs/account_settings.html", context)
