"""The operator commands of DESIGN §7, run as an operator runs them: a process, stdin, exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncssh
import pytest
from django.conf import settings

from albums.models import Album, Upload
from jobs.models import FTPUser, PhotoJob, SSHKey
from tests.helpers import database_url_for_children

pytestmark = pytest.mark.django_db(transaction=True)


def manage(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``python manage.py ...`` in a child process sharing the test database."""
    env = {**os.environ, "DATABASE_URL": database_url_for_children()}
    return subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_studio_is_set_up_from_the_command_line(tmp_path: Path) -> None:
    assert manage("account", "create", "Sunshine Studio").returncode == 0
    created = manage("ftpuser", "create", "Sunshine Studio", "anna", "--password-stdin", stdin="a long password\n")
    assert created.returncode == 0, created.stderr
    job = manage("job", "create", "Sunshine Studio", "job00001", "--title", "Elm School", "--status", "planned")
    assert job.returncode == 0, job.stderr
    key = asyncssh.generate_private_key("ssh-ed25519", comment="anna@laptop")
    keyfile = tmp_path / "id.pub"
    keyfile.write_bytes(key.export_public_key())
    added = manage("ftpuser", "add-key", "anna", str(keyfile))
    assert added.returncode == 0, added.stderr

    user = FTPUser.objects.get(username="anna")
    assert user.account.name == "Sunshine Studio"
    assert user.password.startswith("argon2$argon2id$")
    assert SSHKey.objects.get(ftp_user=user).fingerprint == key.get_fingerprint("sha256")
    assert PhotoJob.objects.get(internal_name="job00001").title == "Elm School"

    assert manage("job", "set-status", "Sunshine Studio", "job00001", "active").returncode == 0
    assert PhotoJob.objects.get(internal_name="job00001").status == "active"
    assert manage("ftpuser", "set-password", "anna", "--password-stdin", stdin="another long one\n").returncode == 0


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("ftpuser", "create", "No Such Studio", "anna", "--password-stdin"), "a long password\n", "no account"),
        (("job", "set-status", "No Such Studio", "job1", "active"), "", "no account"),
        (("ftpuser", "set-password", "nobody", "--password-stdin"), "a long password\n", "no FTP user"),
        (("ftpuser", "add-key", "nobody", "/nonexistent"), "", "no FTP user"),
    ],
)
def test_errors_are_one_sentence_on_stderr_with_a_nonzero_exit(args: tuple[str, ...], stdin: str, message: str) -> None:
    result = manage(*args, stdin=stdin)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_it_never_prompts_when_stdin_is_not_a_terminal() -> None:
    manage("account", "create", "Sunshine Studio")
    result = manage("ftpuser", "create", "Sunshine Studio", "anna", "--password-stdin", stdin="")
    assert result.returncode != 0
    assert "standard input" in result.stderr
    assert not FTPUser.objects.exists()


def test_a_bad_job_name_and_a_duplicate_are_refused() -> None:
    manage("account", "create", "Sunshine Studio")
    bad = manage("job", "create", "Sunshine Studio", "../etc")
    assert bad.returncode != 0 and "not allowed" in bad.stderr
    assert manage("job", "create", "Sunshine Studio", "job00001").returncode == 0
    again = manage("job", "create", "Sunshine Studio", "job00001")
    assert again.returncode != 0 and "already has a job" in again.stderr


def test_uploads_json_prints_the_upload_log(planned_job: PhotoJob, ftp_user: FTPUser) -> None:
    album = Album.objects.create(job=planned_job, name="Class 1")
    Upload.objects.create(
        account=planned_job.account,
        job=planned_job,
        album=album,
        album_name="Class 1",
        ftp_user=ftp_user,
        section="group",
        folder="group",
        filename="Müller.jpg",
        file="uploads/x.jpg",
        size=1234,
        sha256="ab" * 32,
    )
    result = manage("uploads", "--json", "--account", planned_job.account.name, "--state", "received")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in ("account", "job", "album", "section", "filename", "state", "size", "photo_id")} == {
        "account": "Sunshine Studio",
        "job": "job00001",
        "album": "Class 1",
        "section": "group",
        "filename": "Müller.jpg",
        "state": "received",
        "size": 1234,
        "photo_id": None,
    }
    assert json.loads(manage("uploads", "--json", "--state", "done").stdout) == []
