"""The names of the studio's things as the admin shows them (models, their fields, the apps), translated.

Django takes these from each model's and field's ``verbose_name``; they are set here, lazily
translated, once the apps are ready (``PortalConfig.ready``), rather than in each model: Django's
migrations record verbose names, and a schema change for a label would be noise. The English texts
are the names Django made from the field names before, so English pages read exactly as they did.
Choice labels (a job's status, an upload's state) are marked in the models themselves.
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

APPS = {
    "jobs": _("Jobs"),
    "albums": _("Albums"),
    "devices": _("Cameras"),
    "subjects": _("Subjects (QR cards)"),
    "audit": _("Audit log"),
}

MODELS = {
    "jobs.Account": (
        _("account"),
        _("accounts"),
        {
            "name": _("name"),
            "time_zone": _("time zone"),
            "language": _("language"),
            "created_at": _("created at"),
            "members": _("members"),
        },
    ),
    "jobs.Membership": (
        _("membership"),
        _("memberships"),
        {"account": _("account"), "user": _("user"), "role": _("role")},
    ),
    "jobs.FTPUser": (
        _("FTP user"),
        _("FTP users"),
        {
            "account": _("account"),
            "username": _("username"),
            "password": _("password"),
            "is_active": _("is active"),
            "kind": _("kind"),
            "allow_plain_ftp": _("allow plain ftp"),
            "rejection_notices": _("rejection notices"),
            "last_login_at": _("last login at"),
            "last_login_address": _("last login address"),
            "created_at": _("created at"),
        },
    ),
    "jobs.SSHKey": (
        _("SSH key"),
        _("SSH keys"),
        {
            "ftp_user": _("ftp user"),
            "key_type": _("key type"),
            "public_key": _("public key"),
            "fingerprint": _("fingerprint"),
            "comment": _("comment"),
            "created_at": _("created at"),
            "last_used_at": _("last used at"),
        },
    ),
    "jobs.PhotoJob": (
        _("photo job"),
        _("photo jobs"),
        {
            "account": _("account"),
            "internal_name": _("internal name"),
            "title": _("title"),
            "status": _("status"),
            "created_at": _("created at"),
            "status_changed_at": _("status changed at"),
            "public_id": _("public id"),
        },
    ),
    "albums.Album": (
        _("album"),
        _("albums"),
        {"job": _("job"), "name": _("name"), "created_by": _("created by"), "created_at": _("created at")},
    ),
    "albums.Photo": (
        _("photo"),
        _("photos"),
        {
            "album": _("album"),
            "section": _("section"),
            "folder": _("folder"),
            "filename": _("filename"),
            "original": _("original"),
            "thumbnail": _("thumbnail"),
            "preview": _("preview"),
            "sha256": _("sha256"),
            "size": _("size"),
            "width": _("width"),
            "height": _("height"),
            "format": _("format"),
            "taken_at": _("taken at"),
            "camera_make": _("camera make"),
            "camera_model": _("camera model"),
            "camera_serial": _("camera serial"),
            "camera_id": _("camera id"),
            "gps_latitude": _("gps latitude"),
            "gps_longitude": _("gps longitude"),
            "uploaded_by": _("uploaded by"),
            "created_at": _("created at"),
            "updated_at": _("updated at"),
        },
    ),
    "albums.Upload": (
        _("upload"),
        _("uploads"),
        {
            "account": _("account"),
            "job": _("job"),
            "album": _("album"),
            "album_name": _("album name"),
            "ftp_user": _("ftp user"),
            "ftp_username": _("ftp username"),
            "door": _("door"),
            "client_address": _("client address"),
            "source_path": _("source path"),
            "section": _("section"),
            "folder": _("folder"),
            "filename": _("filename"),
            "file": _("file"),
            "size": _("size"),
            "sha256": _("sha256"),
            "state": _("state"),
            "reason": _("reason"),
            "attempts": _("attempts"),
            "requeued": _("requeued"),
            "claimed_by": _("claimed by"),
            "photo": _("photo"),
            "received_at": _("received at"),
            "updated_at": _("updated at"),
            "finished_at": _("finished at"),
            "purged_at": _("purged at"),
            "acknowledged_at": _("acknowledged at"),
        },
    ),
    "devices.Device": (
        _("device"),
        _("devices"),
        {
            "ftp_user": _("ftp user"),
            "album": _("album"),
            "section": _("section"),
            "profile": _("profile"),
            "test_patterns": _("test patterns"),
            "expected_interval_hours": _("expected interval hours"),
            "last_test_at": _("last test at"),
            "last_test_address": _("last test address"),
            "last_test_name": _("last test name"),
            "status": _("status"),
            "status_at": _("status at"),
            "created_at": _("created at"),
        },
    ),
    "devices.DeviceFolder": (
        _("device folder"),
        _("device folders"),
        {"device": _("device"), "path": _("path"), "created_at": _("created at")},
    ),
    "devices.StatusReport": (
        _("status report"),
        _("status reports"),
        {"device": _("device"), "upload": _("upload"), "fields": _("fields"), "received_at": _("received at")},
    ),
    "subjects.Subject": (
        _("subject"),
        _("subjects"),
        {
            "album": _("album"),
            "number": _("number"),
            "name": _("name"),
            "external_id": _("external id"),
            "code": _("code"),
            "flags": _("flags"),
            "checked_at": _("checked at"),
            "created_at": _("created at"),
            "activated_at": _("activated at"),
            "photos": _("photos"),
        },
    ),
    "subjects.PhotoScan": (
        _("photo scan"),
        _("photo scans"),
        {
            "photo": _("photo"),
            "codes": _("codes"),
            "foreign": _("foreign"),
            "unreadable": _("unreadable"),
            "typed_code": _("typed code"),
            "camera": _("camera"),
            "sequence": _("sequence"),
            "taken_at": _("taken at"),
            "is_card": _("is card"),
            "flags": _("flags"),
            "held_reason": _("held reason"),
            "manual_subjects": _("manual subjects"),
            "scanned_at": _("scanned at"),
        },
    ),
    "audit.AuditEvent": (
        _("audit event"),
        _("audit events"),
        {
            "account": _("account"),
            "at": _("at"),
            "actor_kind": _("actor kind"),
            "actor_name": _("actor name"),
            "actor_user": _("actor user"),
            "actor_ftp_user": _("actor ftp user"),
            "address": _("address"),
            "action": _("action"),
            "object_type": _("object type"),
            "object_id": _("object id"),
            "object_repr": _("object repr"),
            "detail": _("detail"),
        },
    ),
}


def apply() -> None:
    """Give the apps, models and fields above their translatable names."""
    for label, name in APPS.items():
        apps.get_app_config(label).verbose_name = name
    for model_label, (singular, plural, fields) in MODELS.items():
        opts = apps.get_model(model_label)._meta
        opts.verbose_name, opts.verbose_name_plural = singular, plural
        for field_name, text in fields.items():
            opts.get_field(field_name).verbose_name = text
