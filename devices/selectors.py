"""Reading devices: the list of a studio's cameras and each one's health (DESIGN §9, §7).

Health is what a studio needs to know a camera still works: its last connection, test, upload and
status report, today's uploads and rejections, a ban in force, and whether it has been silent for
longer than expected. ``health_json`` is the shape of ``manage.py device list --json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from albums.models import Upload
from devices.models import Device
from jobs.exceptions import NotFound
from jobs.models import Account
from tree import guard


def devices_of(*, account: Account) -> QuerySet[Device]:
    return Device.objects.filter(ftp_user__account=account).select_related("ftp_user", "album__job")


def device_get(*, account: Account, username: str) -> Device:
    device = devices_of(account=account).filter(ftp_user__username=username.strip().lower()).first()
    if device is None:
        raise NotFound(f"The account {account.name!r} has no camera named {username!r}.")
    return device


@dataclass(frozen=True)
class Health:
    device: Device
    last_connection_at: datetime | None
    last_connection_address: str | None
    last_upload_at: datetime | None
    uploads_today: int
    rejections_today: int
    bans: list[guard.Ban]
    silent_hours: int | None  # hours without anything from the camera, when longer than expected

    @property
    def banned_until(self) -> datetime | None:
        if not self.bans:
            return None
        return timezone.now() + timedelta(seconds=max(b.seconds_left for b in self.bans))


def health(device: Device, *, now: datetime | None = None) -> Health:
    now = now or timezone.now()
    user = device.ftp_user
    uploads = Upload.objects.filter(ftp_user=user)
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    last_upload = uploads.order_by("-received_at").values_list("received_at", flat=True).first()
    heard = [t for t in (user.last_login_at, device.last_test_at, last_upload, device.status_at) if t is not None]
    silent = None
    if device.expected_interval_hours:
        since = max(heard) if heard else device.created_at
        hours = int((now - since).total_seconds() // 3600)
        silent = hours if hours >= device.expected_interval_hours else None
    addresses = [a for a in (user.last_login_address, device.last_test_address) if a]
    try:
        bans = guard.bans_of(user.username, addresses)
    except Exception:  # Redis unavailable: the page still shows everything else
        bans = []
    return Health(
        device=device,
        last_connection_at=user.last_login_at,
        last_connection_address=user.last_login_address,
        last_upload_at=last_upload,
        uploads_today=uploads.filter(received_at__gte=today).count(),
        rejections_today=uploads.filter(received_at__gte=today, state=Upload.State.REJECTED).count(),
        bans=bans,
        silent_hours=silent,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def health_json(h: Health) -> dict[str, Any]:
    d = h.device
    return {
        "username": d.ftp_user.username,
        "active": d.ftp_user.is_active,
        "job": d.album.job.internal_name,
        "album": d.album.name,
        "section": d.section,
        "profile": d.profile,
        "allow_plain_ftp": d.ftp_user.allow_plain_ftp,
        "last_connection_at": _iso(h.last_connection_at),
        "last_connection_address": h.last_connection_address,
        "last_upload_at": _iso(h.last_upload_at),
        "last_test_at": _iso(d.last_test_at),
        "last_test_name": d.last_test_name or None,
        "last_test_address": d.last_test_address,
        "uploads_today": h.uploads_today,
        "rejections_today": h.rejections_today,
        "status": d.status,
        "status_at": _iso(d.status_at),
        "banned_until": _iso(h.banned_until),
        "expected_interval_hours": d.expected_interval_hours,
        "silent_hours": h.silent_hours,
    }
