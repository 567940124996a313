"""``python manage.py uploads``: the upload log on the command line, and ``uploads reprocess``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from albums import intake, services
from albums.models import Upload
from jobs import services as jobs
from jobs.models import Account, FTPUser, PhotoJob
from tests.helpers import database_url_for_children, register_upload
from tests.images import jpeg


@pytest.fixture
def log(
    account: Account,
    outsider_account: Account,
    ftp_user: FTPUser,
    tmp_path: Path,
    queued: list[int],
    settings: Settings,
) -> dict[str, Upload]:
    """Two studios' uploads: done, rejected and waiting ones."""
    settings.MEDIA_ROOT = tmp_path / "media"

    def upload(job: PhotoJob, album_name: str, filename: str, data: bytes, process: bool = True) -> Upload:
        album = job.albums.filter(name=album_name).first() or services.album_create(job=job, name=album_name)
        registered = register_upload(album, filename, data)
        if process:
            intake.upload_process(upload_id=registered.pk, token=intake.new_token())
        registered.refresh_from_db()
        return registered

    school = jobs.job_create(account=account, internal_name="job00001")
    team = jobs.job_create(account=account, internal_name="job00002")
    other = jobs.job_create(account=outsider_account, internal_name="job00001")
    return {
        "anna": upload(school, "Class 1", "anna.jpg", jpeg()),
        "notes": upload(school, "Class 1", "notes.jpg", b"shopping list"),
        "raw": upload(team, "Team A", "IMG_0001.CR2", b"\x00" * 64),
        "waiting": upload(team, "Team A", "ben.jpg", jpeg((20, 20)), process=False),
        "other": upload(other, "Class 1", "secret.jpg", jpeg((30, 30))),
    }


def uploads(*args: str) -> str:
    out = io.StringIO()
    call_command("uploads", *args, stdout=out)
    return out.getvalue()


def test_uploads_json_prints_every_field_of_the_log(log: dict[str, Upload]) -> None:
    rows = json.loads(uploads("--json", "--account", "Sunshine Studio", "--state", "rejected"))

    notes = log["notes"]
    assert notes.finished_at is not None
    assert [r["filename"] for r in rows] == ["notes.jpg", "IMG_0001.CR2"]
    assert rows[0] == {
        "id": notes.pk,
        "account": "Sunshine Studio",
        "job": "job00001",
        "album": "Class 1",
        "section": "individuals",
        "folder": "",
        "filename": "notes.jpg",
        "path": "/job00001/Class 1/notes.jpg",
        "door": "sftp",
        "client_address": "127.0.0.1",
        "source_path": "/job00001/Class 1/notes.jpg",
        "state": "rejected",
        "reason": "not an image",
        "size": len(b"shopping list"),
        "sha256": notes.sha256,
        "photo_id": None,
        "attempts": 1,
        "file": notes.file.name,
        "purged_at": None,
        "received_at": notes.received_at.isoformat(),
        "finished_at": notes.finished_at.isoformat(),
    }
    assert rows[0]["file"].startswith("quarantine/")
    assert rows[1]["reason"] == "file type .cr2 is not accepted"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), {"anna.jpg", "notes.jpg", "IMG_0001.CR2", "ben.jpg", "secret.jpg"}),
        (("--account", "Sunshine Studio"), {"anna.jpg", "notes.jpg", "IMG_0001.CR2", "ben.jpg"}),
        (("--job", "job00002"), {"IMG_0001.CR2", "ben.jpg"}),
        (("--account", "Other Studio", "--job", "job00001"), {"secret.jpg"}),
        (("--state", "done"), {"anna.jpg", "secret.jpg"}),
        (("--state", "received", "--job", "job00002"), {"ben.jpg"}),
        (("--state", "failed"), set()),
    ],
)
def test_uploads_filters_by_account_job_and_state(
    log: dict[str, Upload], args: tuple[str, ...], expected: set[str]
) -> None:
    assert {r["filename"] for r in json.loads(uploads("--json", *args))} == expected


def test_uploads_prints_one_line_per_upload_with_its_reason(log: dict[str, Upload]) -> None:
    lines = uploads("--job", "job00001", "--account", "Sunshine Studio").splitlines()
    assert len(lines) == 2
    assert "done" in lines[0] and "/job00001/Class 1/anna.jpg" in lines[0]
    assert lines[1].endswith("(not an image)")


def test_uploads_reprocess_queues_the_uploads_again(
    log: dict[str, Upload], queued: list[int], django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        out = uploads("reprocess", str(log["notes"].pk), str(log["raw"].pk))

    assert out.strip() == "2 upload(s) queued again"
    assert queued == [log["notes"].pk, log["raw"].pk]
    assert set(Upload.objects.filter(pk__in=queued).values_list("state", flat=True)) == {"received"}


def test_uploads_reprocess_says_which_uploads_are_being_processed(log: dict[str, Upload], queued: list[int]) -> None:
    intake.upload_claim(upload_id=log["waiting"].pk, token=intake.new_token())
    err = io.StringIO()
    call_command("uploads", "reprocess", str(log["waiting"].pk), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().strip() == f"being processed now, not queued: {log['waiting'].pk}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--account", "Nobody"), "No account named 'Nobody'."),
        (("--job", "job09999"), "No job 'job09999'."),
        (("--account", "Other Studio", "--job", "job00002"), "No job 'job00002' in account 'Other Studio'."),
        (("reprocess",), "Name the upload ids to process again."),
        (("reprocess", "987654"), "No upload with id 987654."),
        (("list", "5"), "Upload ids are only taken by 'uploads reprocess'."),
    ],
)
def test_uploads_refuses_what_it_cannot_do(log: dict[str, Upload], args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        uploads(*args)


@pytest.mark.django_db(transaction=True)
def test_uploads_errors_go_to_stderr_with_a_non_zero_status(account: Account) -> None:
    env = {**os.environ, "DATABASE_URL": database_url_for_children()}
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "uploads"]

    bad_state = subprocess.run([*manage, "--state", "lost"], capture_output=True, text=True, env=env, timeout=120)
    unknown = subprocess.run([*manage, "--account", "Nobody"], capture_output=True, text=True, env=env, timeout=120)
    empty = subprocess.run([*manage, "--json"], capture_output=True, text=True, env=env, timeout=120)

    assert bad_state.returncode != 0 and "invalid choice: 'lost'" in bad_state.stderr
    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert "No account named 'Nobody'." in unknown.stderr
    assert (empty.returncode, json.loads(empty.stdout)) == (0, [])
