"""The login form (the guard's refusal shown in plain words) and the code forms of two-factor login."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from webauth.limits import REFUSED_ATTRIBUTE


class LoginForm(AdminAuthenticationForm):
    """The admin's login form; a login the guard refuses says why instead of "wrong password"."""

    def get_invalid_login_error(self) -> ValidationError:
        refusal = getattr(self.request, REFUSED_ATTRIBUTE, "")
        if refusal:
            return ValidationError(refusal, code="login_paused")
        return super().get_invalid_login_error()


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        help_text=_("The six digits your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True, "size": 8}
        ),
    )

    def refuse(self, message: str) -> None:
        """Show ``message`` with an empty field (the next code is typed afresh, not appended)."""
        self.add_error("code", message)
        self.data = {**self.data, "code": ""}

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise ValidationError(_("The code is made of digits only."), code="digits")
        return code
