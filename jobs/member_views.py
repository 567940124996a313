"""The members page of the settings area (DESIGN §6): a studio's owners see who is owner and who is
staff, invite staff, change roles and take members out (never the last owner).

"Invite" makes the login without a password and shows a one-time set-password link for the owner
to pass on (no email leaves the machine): Django's password-reset token (``default_token_generator``)
in a link to Django's own ``PasswordResetConfirmView``. The token is void once the password is set
(it signs the password hash and the last login) and after ``PASSWORD_RESET_TIMEOUT``. A link is only
ever made for a login that has no password yet: an owner must not be able to take over a login that
is someone's already (an owner elsewhere, an operator).

Views are thin: ``jobs.selectors.can_manage_members`` says who may, ``jobs.services`` decides and writes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from audit import context as audit_context
from audit.middleware import request_address
from jobs import selectors, services
from jobs.exceptions import PortalError
from jobs.models import Account, Membership


class InviteForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices, initial=Membership.Role.STAFF)


def members_account(request: HttpRequest, account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id).first()
    if account is None or not selectors.can_manage_members(request.user, account):
        raise Http404(gettext("No such studio, or you do not manage it."))
    return account


def set_password_link(request: HttpRequest, user: User) -> str:
    """The one-time link with which ``user`` (a login without a password) sets one."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return request.build_absolute_uri(reverse("jobs:set_password", kwargs={"uidb64": uidb64, "token": token}))


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Inside the admin's frame (header, user tools), like the rest of the settings area."""
    return render(request, template, {**admin.site.each_context(request), "title": gettext("Members"), **context})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, account_id: int) -> HttpResponse:
    account = members_account(request, account_id)
    form = InviteForm()
    link = notice = error = None
    invited: User | None = None
    action = request.POST.get("action")
    try:
        if action == "invite":
            form = InviteForm(request.POST)
            if form.is_valid():
                membership, _ = services.account_member_onboard(
                    account=account, username=form.cleaned_data["username"], role=form.cleaned_data["role"]
                )
                invited = membership.user
                if invited.has_usable_password():
                    notice = gettext("%(user)s already has a login: they log in with their own password.") % {
                        "user": invited.get_username()
                    }
                else:
                    link = set_password_link(request, invited)
                form = InviteForm()
        elif action in ("role", "remove", "link"):
            membership = get_object_or_404(account.memberships.select_related("user"), pk=request.POST.get("member"))
            if action == "role":
                services.membership_set_role(membership=membership, role=request.POST.get("role", ""))
                notice = gettext("%(user)s is now %(role)s.") % {
                    "user": membership.user.get_username(),
                    "role": Membership.Role(membership.role).label,
                }
            elif action == "remove":
                services.membership_remove(membership=membership)
                notice = gettext("%(user)s is no longer a member of this studio.") % {
                    "user": membership.user.get_username()
                }
            elif not membership.user.has_usable_password():
                invited, link = membership.user, set_password_link(request, membership.user)
    except PortalError as exc:
        error = exc.message
    context = {
        "account": account,
        "memberships": selectors.members_of(account=account),
        "roles": Membership.Role.choices,
        "form": form,
        "invited": invited,
        "link": link,
        "notice": notice,
        "error": error,
    }
    return _render(request, "jobs/members.html", context)


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The invited person's page: Django's password-reset confirmation, in the portal's words."""

    template_name = "jobs/members_set_password.html"
    success_url = reverse_lazy("jobs:set_password_done")
    extra_context = {"site_header": _("Photo job portal"), "site_title": _("Photo job portal")}

    def form_valid(self, form: SetPasswordForm) -> HttpResponse:
        # The password goes through the service (and the audit log, as the invited person's own act),
        # not through the form's save().
        with audit_context.acting(audit_context.staff(form.user, request_address(self.request))):
            services.login_set_password(user=form.user, password=form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "jobs/members_set_password_done.html"
    extra_context = {"site_header": _("Photo job portal"), "site_title": _("Photo job portal")}
