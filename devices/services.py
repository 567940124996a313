"""Devices: creating cameras, recording their connection tests, reading their health (DESIGN §9).

Every door, the settings page and ``manage.py device`` call these; none writes a device itself.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from albums import services as album_services
from albums.models import Album, Section
from audit.services import event_record
from devices import profiles
from devices.models import Device
from jobs import services as job_services
from jobs.exceptions import Invalid
from jobs.models import Account, FTPUser, PhotoJob
from tree import guard

logger = logging.getLogger("devices")


def _patterns(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def device_create(
    *,
    account: Account,
    username: str,
    job: PhotoJob,
    album_name: str,
    password: str | None = None,
    section: str = Section.INDIVIDUALS,
    profile: str = profiles.DEFAULT,
    allow_plain_ftp: bool = False,
    test_patterns: str = "",
    expected_interval_hours: int | None = 24,
) -> Device:
    """A camera: an FTP user of kind device that sees ``album_name`` of ``job`` (made if new) as ``/``."""
    if job.account_id != account.pk:
        raise Invalid("The job belongs to another studio.")
    if profile not in profiles.PROFILES:
        raise Invalid(f"There is no camera profile {profile!r}; choose one of {', '.join(profiles.PROFILES)}.")
    if section not in Section.values:
        raise Invalid("A camera uploads into the section 'individuals' or 'group'.")
    with transaction.atomic():
        user = job_services.ftp_user_create(
            account=account, username=username, password=password, kind=FTPUser.Kind.DEVICE
        )
        if allow_plain_ftp:
            job_services.ftp_user_set_plain_ftp(ftp_user=user, allowed=True)
        album = Album.objects.filter(job=job, name__iexact=album_name).first()
        if album is None:
            album = album_services.album_create(job=job, name=album_name, ftp_user=user)
        device = Device.objects.create(
            ftp_user=user,
            album=album,
            section=section,
            profile=profile,
            test_patterns=", ".join(_patterns(test_patterns)),
            expected_interval_hours=expected_interval_hours,
        )
        event_record(
            action="device.create",
            account=account,
            target=device,
            detail={"job": job.internal_name, "album": album.name, "section": section, "profile": profile},
        )
    logger.info("device created %s album=%s profile=%s", user.username, album.pk, profile)
    return device


def is_connection_test(device: Device, filename: str) -> bool:
    """Whether ``filename`` is one of the device's connection tests (its own patterns, or its profile's)."""
    own = _patterns(device.test_patterns)
    return profiles.get(device.profile).is_test(filename, own or None)


def device_test_received(*, device: Device, name: str, address: str | None) -> None:
    """Record a connection test: shown on the device page, never a photo."""
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(
            last_test_at=timezone.now(), last_test_address=address, last_test_name=name
        )
        event_record(action="device.test", account=device.ftp_user.account_id, target=device, detail={"name": name})
    logger.info("connection test received device=%s name=%r address=%s", device, name, address or "-")


def device_lift_bans(*, device: Device) -> int:
    """Lift the login bans in force on a camera (its user name from any address, its own addresses)."""
    user = device.ftp_user
    addresses = [a for a in (user.last_login_address, device.last_test_address) if a]
    lifted = guard.lift_bans(user.username, addresses)
    event_record(action="device.lift_bans", account=user.account_id, target=device, detail={"lifted": lifted})
    logger.info("bans lifted for device %s: %d", user.username, lifted)
    return lifted


def device_update(*, device: Device, test_patterns: str, expected_interval_hours: int | None) -> Device:
    """Change which names are the camera's connection tests ("" = its profile's) and when it counts as silent."""
    device.test_patterns = ", ".join(_patterns(test_patterns))
    device.expected_interval_hours = expected_interval_hours or None
    with transaction.atomic():
        device.save(update_fields=["test_patterns", "expected_interval_hours"])
        event_record(
            action="device.update",
            account=device.ftp_user.account_id,
            target=device,
            detail={"test_patterns": device.test_patterns, "expected_interval_hours": device.expected_interval_hours},
        )
    return device
