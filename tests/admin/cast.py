"""Two studios for the admin tests, Alpha and Bravo, built through the services.

Every name of a studio contains its prefix ("alpha", "bravo"): a page shown to Alpha's staff that
contains "bravo" anywhere has leaked something of Bravo. The photos and upload log come from real
intake (``tests.helpers.register_upload``, as a door records a finished file, then
``albums.intake.upload_process``, the worker's own code path) of real images made with Pillow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncssh
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import Model

from albums import intake
from albums import services as albums
from albums.models import Album, Photo, Upload
from jobs import services as jobs
from jobs.models import Account, FTPUser, PhotoJob
from subjects import services as subjects
from subjects.models import Subject
from tests.conftest import PASSWORD
from tests.helpers import register_upload
from tests.images import encode, jpeg, picture


def gif() -> bytes:
    """A real GIF: an image, but of a type intake does not accept."""
    return encode(picture((40, 30)), "GIF")


def intake_file(
    album: Album, filename: str, data: bytes, *, folder: str = "", ftp_user: FTPUser | None = None
) -> Upload:
    """A finished file as a door reports it, processed at once."""
    upload = register_upload(album, filename, data, folder=folder, ftp_user=ftp_user)
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    return Upload.objects.get(pk=upload.pk)


@dataclass
class Studio:
    prefix: str
    account: Account
    staff: User
    owner: User
    ftp_user: FTPUser
    job: PhotoJob  # planned: its albums are folders over SFTP
    closed_job: PhotoJob  # archived
    album: Album  # made by the FTP user, with photos
    empty_album: Album  # made by staff
    photo: Photo  # individuals
    group_photo: Photo
    rejected: Upload
    subject: Subject  # from a roster; its card not photographed yet


def build_studio(prefix: str, *, colour: tuple[int, int, int]) -> Studio:
    title = prefix.capitalize()
    account = jobs.account_create(name=f"{title} Studio")
    staff = User.objects.create_user(username=f"{prefix}-staff")  # tests log in with force_login
    jobs.account_add_member(account=account, user=staff, role="staff")
    owner = User.objects.create_user(username=f"{prefix}-owner")
    jobs.account_add_member(account=account, user=owner, role="owner")
    # With a real password hash: no admin page may show it.
    ftp_user = jobs.ftp_user_create(account=account, username=f"{prefix}-photographer", password=PASSWORD)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"{prefix}@laptop")
    jobs.ssh_key_add(ftp_user=ftp_user, public_key=key.export_public_key("openssh").decode())
    job = jobs.job_create(account=account, internal_name=f"{prefix}job1", title=f"{title} Gala")
    closed_job = jobs.job_create(
        account=account, internal_name=f"{prefix}job2", title=f"{title} Archive", status=PhotoJob.Status.ARCHIVED
    )
    album = albums.album_create(job=job, name=f"{title} Class", ftp_user=ftp_user)
    empty_album = albums.album_create(job=job, name=f"{title} Empty")
    portrait = intake_file(album, f"{prefix}-portrait.jpg", jpeg(colour=colour), ftp_user=ftp_user)
    group = intake_file(album, f"{prefix}-group.jpg", jpeg(colour=colour[::-1]), folder="group", ftp_user=ftp_user)
    # "file type .alpha/.bravo is not accepted": even the rejection reason carries the studio's prefix.
    rejected = intake_file(album, f"{prefix}-notes.{prefix}", gif(), ftp_user=ftp_user)
    assert portrait.photo is not None and group.photo is not None, (portrait.reason, group.reason)
    assert rejected.state == Upload.State.REJECTED, rejected.reason
    (subject,) = subjects.subjects_import(roster=f"name;id\n{title} Child;{prefix}-0\n", album=album)
    return Studio(
        prefix,
        account,
        staff,
        owner,
        ftp_user,
        job,
        closed_job,
        album,
        empty_album,
        portrait.photo,
        group.photo,
        rejected,
        subject,
    )


def _rows_of_registered_models() -> dict[type[Model], set[int]]:
    return {model: set(model._default_manager.values_list("pk", flat=True)) for model in admin.site._registry}


@dataclass
class Cast:
    superuser: User
    alpha: Studio
    bravo: Studio
    # Every row Bravo's build added, for each model registered in the admin (users too): what Alpha's
    # staff must never see. Computed, not listed, so a model registered later is covered as well.
    bravo_rows: dict[type[Model], set[int]] = field(default_factory=dict)

    def bravo_refs(self) -> set[tuple[str, int]]:
        return {(model._meta.label, pk) for model, pks in self.bravo_rows.items() for pk in pks}


def build_cast() -> Cast:
    superuser = User.objects.create_superuser(username="root", password=None)
    alpha = build_studio("alpha", colour=(180, 90, 40))
    before = _rows_of_registered_models()
    bravo = build_studio("bravo", colour=(20, 160, 220))
    after = _rows_of_registered_models()
    return Cast(superuser, alpha, bravo, {model: after[model] - before[model] for model in after})
