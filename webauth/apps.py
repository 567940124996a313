"""The web-login app."""

from __future__ import annotations

from django.apps import AppConfig


class WebauthConfig(AppConfig):
    name = "webauth"
    verbose_name = "Web login"

    def ready(self) -> None:
        from django.contrib import admin
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from webauth import sessions  # noqa: F401  (connects the login-time signal)

        # django-otp's device admin shows the keys and knows no studio: two-factor login has its own
        # page and `manage.py twofactor off` for a lost phone. (The admin registered it by now.)
        if admin.site.is_registered(TOTPDevice):
            admin.site.unregister(TOTPDevice)
