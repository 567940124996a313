"""Reads of the upload log and photos."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from albums.models import Upload


def upload_log(*, account: str | None = None, job: str | None = None, state: str | None = None) -> QuerySet[Upload]:
    qs = Upload.objects.select_related("account", "job").order_by("received_at", "id")
    if account:
        qs = qs.filter(account__name=account)
    if job:
        qs = qs.filter(job__internal_name=job)
    if state:
        qs = qs.filter(state=state)
    return qs


def upload_as_dict(upload: Upload) -> dict[str, Any]:
    """The upload log entry as ``uploads --json`` prints it (DESIGN §7)."""
    return {
        "id": upload.pk,
        "account": upload.account.name,
        "job": upload.job.internal_name,
        "album": upload.album_name,
        "section": upload.section,
        "folder": upload.folder,
        "filename": upload.filename,
        "path": upload.path,
        "door": upload.door,
        "client_address": upload.client_address,
        "source_path": upload.source_path,
        "state": upload.state,
        "reason": upload.reason,
        "size": upload.size,
        "sha256": upload.sha256,
        "photo_id": upload.photo_id,
        "attempts": upload.attempts,
        "file": upload.file.name,  # storage name; under quarantine/ when rejected; "" once purged
        "purged_at": upload.purged_at.isoformat() if upload.purged_at else None,
        "received_at": upload.received_at.isoformat(),
        "finished_at": upload.finished_at.isoformat() if upload.finished_at else None,
    }
