"""Two-factor login (TOTP, django-otp): the one place that turns it on and off and checks codes.

A user has at most one confirmed ``TOTPDevice``. Turning it on makes an unconfirmed device whose
key the page shows as a QR code; the first right code confirms it. Turning it off takes a right
code too, so a forgotten open browser cannot switch it off; an owner who lost the phone asks an
operator, who deletes the device in the admin (superusers see "TOTP devices").
"""

from __future__ import annotations

from typing import Any

import segno
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import event_record
from jobs.models import Account

DEVICE_NAME = "Authenticator app"


def two_factor_device(user: Any) -> TOTPDevice | None:
    """The user's confirmed TOTP device, or None when two-factor login is off."""
    if not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def two_factor_pending(user: Any) -> TOTPDevice | None:
    """The device being set up (shown as a QR code, not yet confirmed by a code)."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("-pk").first()


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// address as an SVG QR code, as a data: URI an <img> shows (the CSP allows data: images)."""
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2))


def secret_for_typing(device: TOTPDevice) -> str:
    """The key in base32, grouped by four, for apps that cannot scan."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _accounts(user: Any) -> list[Account | None]:
    accounts: list[Account | None] = list(Account.objects.filter(memberships__user_id=user.pk).order_by("pk"))
    return accounts or [None]


def code_accepted(device: TOTPDevice, code: str) -> bool:
    """Whether ``code`` is the device's current one (django-otp throttles repeated wrong codes)."""
    code = "".join(code.split())
    return bool(code.isdigit() and device.verify_token(code))


def code_wait_seconds(device: TOTPDevice) -> int:
    """Seconds until the device accepts another code after wrong ones (0: now)."""
    allowed, details = device.verify_is_allowed()
    if allowed or not details:
        return 0
    from django.utils import timezone

    until = details.get("locked_until")
    return max(int((until - timezone.now()).total_seconds()) + 1, 1) if until else 1


@transaction.atomic
def two_factor_begin(*, user: Any) -> TOTPDevice:
    """Start turning two-factor login on: a fresh unconfirmed device (replacing an earlier unfinished one)."""
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


@transaction.atomic
def two_factor_confirm(*, user: Any, device: TOTPDevice, code: str) -> bool:
    """Turn two-factor login on if ``code`` is the app's current code; False (nothing changes) if not."""
    if device.user_id != user.pk or device.confirmed or not code_accepted(device, code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    for account in _accounts(user):
        event_record(action="user.two_factor_on", account=account, target=user)
    return True


@transaction.atomic
def two_factor_turn_off(*, user: Any, code: str) -> bool:
    """Turn two-factor login off if ``code`` is right; False (nothing changes) if not."""
    device = two_factor_device(user)
    if device is None or not code_accepted(device, code):
        return False
    TOTPDevice.objects.filter(user_id=user.pk).delete()
    for account in _accounts(user):
        event_record(action="user.two_factor_off", account=account, target=user)
    return True


@transaction.atomic
def two_factor_remove(*, user: Any) -> bool:
    """Turn two-factor login off without a code (the operator's command, for a lost phone)."""
    deleted, _ = TOTPDevice.objects.filter(user_id=user.pk).delete()
    if deleted:
        for account in _accounts(user):
            event_record(action="user.two_factor_off", account=account, target=user)
    return bool(deleted)
