"""Forms of the account FTP settings page. They only check shape; the services decide the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


def _password_field(help_text: Any) -> forms.CharField:
    """Optional: left empty, the view generates a strong password and shows it once."""
    return forms.CharField(
        label=_("Password"), required=False, strip=False, widget=forms.PasswordInput, help_text=help_text
    )


class FTPUserCreateForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=64,
        help_text=_("3 to 64 of a-z, 0-9, '.', '_' and '-', e.g. anna or camera-1"),
    )
    password = _password_field(_("At least 8 characters. Leave empty and a strong one is generated and shown once."))


class PasswordForm(forms.Form):
    password = _password_field(_("Leave empty to generate one. It is shown once and can never be read back."))


class SSHKeyForm(forms.Form):
    public_key = forms.CharField(
        label=_("Public key"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "ssh-ed25519 AAAA... anna@laptop"}),
        help_text=_("One OpenSSH public key line (the contents of id_ed25519.pub). Ed25519, ECDSA or RSA."),
    )
