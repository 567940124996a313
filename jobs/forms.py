"""Forms of the account FTP settings page. They only check shape; the services decide the rules."""

from __future__ import annotations

from django import forms


def _password_field(help_text: str) -> forms.CharField:
    """Optional: left empty, the view generates a strong password and shows it once."""
    return forms.CharField(required=False, strip=False, widget=forms.PasswordInput, help_text=help_text)


class FTPUserCreateForm(forms.Form):
    username = forms.CharField(max_length=64, help_text="3 to 64 of a-z, 0-9, '.', '_' and '-', e.g. anna or camera-1")
    password = _password_field("At least 8 characters. Leave empty and a strong one is generated and shown once.")


class PasswordForm(forms.Form):
    password = _password_field("Leave empty to generate one. It is shown once and can never be read back.")


class SSHKeyForm(forms.Form):
    public_key = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80, "placeholder": "ssh-ed25519 AAAA... anna@laptop"}),
        help_text="One OpenSSH public key line (the contents of id_ed25519.pub). Ed25519, ECDSA or RSA.",
    )
