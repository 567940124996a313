"""Studio time: an upload's time is shown in its account's zone on the pages and in ``manage.py uploads``,
while ``uploads --json`` keeps ISO 8601 in UTC (DESIGN §7); zones are checked when an account is made."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django import Settings

from albums import services as albums
from albums.models import Upload
from jobs import services
from jobs.models import Account, PhotoJob
from tests.helpers import register_upload

RECEIVED = datetime(2026, 7, 1, 10, 30, tzinfo=UTC)  # 12:30 in Berlin (CEST), 06:30 in New York (EDT)


@pytest.fixture
def upload(account: Account, planned_job: PhotoJob, tmp_path: Path, settings: Settings, queued: list[int]) -> Upload:
    settings.MEDIA_ROOT = tmp_path / "media"
    album = albums.album_create(job=planned_job, name="Class 1")
    registered = register_upload(album, "anna.jpg", b"not really a photo")
    Upload.objects.filter(pk=registered.pk).update(received_at=RECEIVED)
    return Upload.objects.get(pk=registered.pk)


def uploads(*args: str) -> str:
    out = io.StringIO()
    call_command("uploads", *args, stdout=out)
    return out.getvalue()


def test_new_accounts_are_in_berlin_unless_told_otherwise(db: None) -> None:
    assert services.account_create(name="Sunshine Studio").time_zone == "Europe/Berlin"
    assert services.account_create(name="Big Apple Photo", time_zone="America/New_York").time_zone == "America/New_York"


def test_uploads_shows_the_time_in_the_accounts_zone(upload: Upload) -> None:
    line = uploads("--account", "Sunshine Studio").splitlines()[0]
    assert "2026-07-01 12:30:00 CEST" in line

    services.account_set_locale(account=upload.account, time_zone="America/New_York", language="en")
    assert "2026-07-01 06:30:00 EDT" in uploads("--account", "Sunshine Studio")


def test_uploads_json_keeps_iso_8601_in_utc(upload: Upload) -> None:
    services.account_set_locale(account=upload.account, time_zone="America/New_York", language="de")
    (row,) = json.loads(uploads("--json"))
    assert row["received_at"] == "2026-07-01T10:30:00+00:00"
    assert datetime.fromisoformat(row["received_at"]) == RECEIVED


def test_the_upload_log_page_shows_the_studios_time(upload: Upload, owner: User, client: Client) -> None:
    client.force_login(owner)
    page = client.get("/admin/albums/upload/", headers={"accept-language": "en"}).content.decode()
    assert "12:30 p.m." in page and "10:30 a.m." not in page

    services.account_set_locale(account=upload.account, time_zone="America/New_York", language="en")
    page = client.get("/admin/albums/upload/", headers={"accept-language": "en"}).content.decode()
    assert "6:30 a.m." in page and "12:30 p.m." not in page


def test_someone_in_two_studios_sees_the_first_by_name_until_they_open_the_other(
    upload: Upload, owner: User, client: Client
) -> None:
    other = services.account_create(name="Aardvark Photo", time_zone="America/New_York")
    services.account_add_member(account=other, user=owner, role="owner")
    client.force_login(owner)

    def upload_log() -> str:
        return client.get("/admin/albums/upload/", headers={"accept-language": "en"}).content.decode()

    assert "6:30 a.m." in upload_log()  # "Aardvark Photo" comes first by name
    assert client.get(f"/accounts/{upload.account_id}/settings/").status_code == 200  # opening a studio chooses it
    assert "12:30 p.m." in upload_log()


def test_account_create_checks_the_zone_and_the_language(db: None) -> None:
    with pytest.raises(CommandError) as error:
        call_command("account", "create", "Mars Studio", "--time-zone", "Mars/Olympus_Mons")
    assert str(error.value) == "'Mars/Olympus_Mons' is not a time zone; use a name such as Europe/Berlin."
    assert not Account.objects.filter(name="Mars Studio").exists()

    out = io.StringIO()
    call_command(
        "account", "create", "Fotostudio Sonne", "--time-zone", "Europe/Vienna", "--language", "de", stdout=out
    )
    studio = Account.objects.get(name="Fotostudio Sonne")
    assert (studio.time_zone, studio.language) == ("Europe/Vienna", "de")
