"""The audit log: every kind of write records who did it (a staff user from the browser's address,
an FTP user from the client's address through a real SFTP server, the operator's command, the
system's intake), and the admin shows owners their own accounts' events and nothing else."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings

from albums import intake
from albums import services as album_services
from albums.models import Album, Upload
from audit import context
from audit.models import AuditEvent
from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.ftpd.conftest import ftps, put
from tests.helpers import register_upload
from tests.images import jpeg
from tests.jobs.test_commands import manage
from tests.sftpd.conftest import run, sftp_session


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


@pytest.mark.django_db(transaction=True)
def test_a_real_sftp_upload_records_the_ftp_user_and_address(
    sftp_server: RunningServer, ftp_user: FTPUser, planned_job: PhotoJob, queued: list[int]
) -> None:
    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.mkdir("/job00001/Class 1")
            async with sftp.open("/job00001/Class 1/a.jpg", "wb") as f:
                await f.write(jpeg())

    run(scenario)

    for action in ("ftp_user.login", "album.create", "upload.receive"):
        [event] = events(action)
        assert (event.actor_kind, event.actor_name) == ("ftp_user", "photographer")
        assert event.actor_ftp_user_id == ftp_user.pk
        assert event.address == "127.0.0.1"
        assert event.account_id == planned_job.account_id
    [received] = events("upload.receive")
    assert received.object_id == str(Upload.objects.get().pk)
    assert received.detail["path"] == "/job00001/Class 1/a.jpg"


@pytest.mark.django_db(transaction=True)
def test_a_real_ftps_upload_records_the_ftp_user_and_address(
    ftp_server: RunningFTPServer, ftp_user: FTPUser, album: Album, queued: list[int]
) -> None:
    with ftps(ftp_server) as client:
        client.mkd("/job00001/Class 2")
        put(client, "/job00001/Class 1/b.jpg", jpeg())
    for action in ("album.create", "upload.receive"):
        [event] = [e for e in events(action) if e.actor_kind == "ftp_user"]
        assert (event.actor_name, event.address) == ("photographer", "127.0.0.1")
    assert events("upload.receive")[0].detail["door"] == "ftps"


@pytest.mark.django_db(transaction=True)
def test_a_command_records_the_operator() -> None:
    assert manage("account", "create", "Sunshine Studio").returncode == 0
    assert manage("job", "create", "Sunshine Studio", "job00001").returncode == 0
    assert manage("job", "set-status", "Sunshine Studio", "job00001", "active").returncode == 0
    for action in ("account.create", "job.create", "job.set_status"):
        [event] = events(action)
        assert event.actor_kind == "system" and event.actor_name.startswith("manage.py (")
    assert events("job.set_status")[0].detail == {"from": "planned", "to": "active"}


def test_the_intake_decides_as_the_system_and_a_re_process_is_the_staff_users(
    album: Album, ftp_user: FTPUser, queued: list[int], owner: User, settings: Settings, tmp_path: object
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    upload = register_upload(album, "broken.jpg", b"not a picture", ftp_user=ftp_user)
    with context.acting(context.staff(owner, "192.0.2.7")):  # whoever ran it: the decision is the system's
        assert intake.upload_process(upload_id=upload.pk, token=intake.new_token()) == "rejected"
        intake.upload_reprocess(upload_ids=[upload.pk])
    [rejected] = events("upload.rejected")
    assert (rejected.actor_kind, rejected.object_id) == ("system", str(upload.pk))
    assert rejected.detail["reason"]
    [again] = events("upload.reprocess")
    assert (again.actor_kind, again.actor_name, again.address) == ("staff", "olivia", "192.0.2.7")


def test_web_writes_record_the_staff_user_and_the_browsers_address(
    account: Account, owner: User, settings: Settings
) -> None:
    client = Client(REMOTE_ADDR="198.51.100.4")
    client.force_login(owner)
    response = client.post(f"/accounts/{account.pk}/members/", {"action": "invite", "username": "sam", "role": "staff"})
    assert response.status_code == 200
    [added] = [e for e in events("membership.add") if e.object_repr.startswith("sam ")]
    assert (added.actor_kind, added.actor_name, added.actor_user_id, added.address) == (
        "staff",
        "olivia",
        owner.pk,
        "198.51.100.4",
    )

    settings.WEB_BEHIND_PROXY = True  # the proxy appends the browser's address; earlier entries are the client's
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.5")
    client.force_login(owner)
    client.post(f"/accounts/{account.pk}/members/", {"action": "invite", "username": "otto", "role": "staff"})
    [added] = [e for e in events("membership.add") if e.object_repr.startswith("otto ")]
    assert added.address == "198.51.100.5"


def test_each_kind_of_write_is_recorded(account: Account, album: Album, ftp_user: FTPUser) -> None:
    services.ftp_user_set_password(ftp_user=ftp_user, password="another long password")
    services.ftp_user_set_active(ftp_user=ftp_user, is_active=False)
    album_services.album_rename(album=album, name="Class 2")
    job = album.job
    services.job_update(job=job, internal_name="job00002", title="Elm")
    recorded = set(AuditEvent.objects.values_list("action", flat=True))
    assert {
        "account.create",
        "membership.add",
        "ftp_user.create",
        "job.create",
        "album.create",
        "ftp_user.set_password",
        "ftp_user.deactivate",
        "album.rename",
        "job.update",
    } <= recorded
    assert set(AuditEvent.objects.values_list("actor_kind", flat=True)) == {"system"}  # no one acting: the system


def test_owners_read_their_accounts_events_only_and_staff_not_at_all(
    account: Account, owner: User, outsider_account: Account, ftp_user: FTPUser
) -> None:
    other = services.ftp_user_create(account=outsider_account, username="stranger", password=PASSWORD)
    client = Client()
    client.force_login(owner)
    listing = client.get("/admin/audit/auditevent/").content.decode()
    assert "photographer" in listing
    assert "stranger" not in listing and "Other Studio" not in listing
    foreign = AuditEvent.objects.get(action="ftp_user.create", object_id=str(other.pk))
    assert client.get(f"/admin/audit/auditevent/{foreign.pk}/change/").status_code in (302, 404)
    filtered = client.get("/admin/audit/auditevent/", {"action": "ftp_user.create"}).content.decode()
    assert "photographer" in filtered and "Sunshine Studio" in filtered
    assert client.post(f"/admin/audit/auditevent/{foreign.pk}/delete/").status_code in (302, 403, 404)
    assert AuditEvent.objects.filter(pk=foreign.pk).exists()

    staff = User.objects.create_user(username="sam", password=PASSWORD)
    services.account_add_member(account=account, user=staff, role="staff")
    client.force_login(staff)
    assert client.get("/admin/audit/auditevent/").status_code == 403
    assert "audit" not in client.get("/admin/").content.decode().lower()
