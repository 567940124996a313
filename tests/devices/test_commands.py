"""``manage.py device create|list|lift-ban`` as an operator runs them (DESIGN §7): a process, stdin,
JSON for scripts, a sentence on stderr and exit 1 for bad input."""

from __future__ import annotations

import json
import uuid

import pytest
from pytest_django import Settings

from albums.models import Album, Door
from devices.models import Device
from jobs.models import Account, FTPUser, PhotoJob
from tests.images import jpeg
from tests.jobs.test_commands import manage
from tree.guard import make_guard
from tree.operations import Tree
from tree.principal import Client, Principal

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_camera_is_created_and_listed_with_its_health(
    account: Account, planned_job: PhotoJob, queued: list[int], settings: Settings, tmp_path
) -> None:
    settings.TREE_ROOT, settings.MEDIA_ROOT = tmp_path / "tree", tmp_path / "media"
    made = manage(
        "device", "create", account.name, "Gate-Cam", "--job", "job00001", "--album", "Gate",
        "--profile", "axis", "--allow-plain-ftp", "--password-stdin", stdin="a camera password\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    device = Device.objects.select_related("ftp_user", "album").get()
    assert (device.ftp_user.username, device.ftp_user.kind, device.ftp_user.allow_plain_ftp) == (
        "gate-cam",
        "device",
        True,
    )
    assert device.album == Album.objects.get(job=planned_job, name="Gate") and device.profile == "axis"

    tree = Tree(Client(Principal(ftp_user=device.ftp_user, method="password"), Door.FTP, "10.9.8.7"))
    upload = tree.open_write("/02.12.2026_09_30_00.123.jpg")
    upload.write(0, jpeg())
    upload.finish()
    test = tree.open_write("/test.jpg")
    test.write(0, jpeg())
    test.finish()

    listed = manage("device", "list", account.name, "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    for field in ("username", "job", "album", "profile", "last_upload_at", "last_test_at", "uploads_today",
                  "rejections_today", "status", "banned_until"):  # fmt: skip
        assert field in row, field
    assert (row["username"], row["job"], row["album"], row["profile"]) == ("gate-cam", "job00001", "Gate", "axis")
    assert row["uploads_today"] == 1 and row["rejections_today"] == 0
    assert row["last_test_at"] is not None and row["last_upload_at"] is not None
    assert row["banned_until"] is None and row["status"] == {}


def test_bad_input_is_a_sentence_and_exit_1(account: Account, planned_job: PhotoJob) -> None:
    unknown_job = manage("device", "create", account.name, "cam", "--job", "job99999", "--album", "A")
    assert unknown_job.returncode == 1 and "no job named 'job99999'" in unknown_job.stderr
    assert "Traceback" not in unknown_job.stderr
    FTPUser.objects.create(account=account, username="taken")
    taken = manage("device", "create", account.name, "taken", "--job", "job00001", "--album", "A")
    assert taken.returncode == 1 and "is taken" in taken.stderr
    assert not Device.objects.exists() and not Album.objects.filter(name="A").exists()


def test_a_ban_in_force_is_listed_and_lifted(
    account: Account, planned_job: PhotoJob, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.LOGIN_REDIS_URL:
        pytest.skip("bans are shared with other processes only through Redis (REDIS_URL not set)")
    prefix = f"device-cli-{uuid.uuid4().hex[:8]}:"
    settings.LOGIN_REDIS_PREFIX = prefix
    settings.LOGIN_BAN_USER_FAILURES = 2
    made = manage("device", "create", account.name, "cam1", "--job", "job00001", "--album", "A")
    assert made.returncode == 0, made.stderr
    FTPUser.objects.filter(username="cam1").update(last_login_address="10.0.0.5")
    guard = make_guard()
    for _ in range(2):
        guard.failed("10.0.0.5", "cam1")
    assert guard.refusal("10.0.0.5", "cam1")

    def listed() -> dict[str, object]:
        out = manage("device", "list", account.name, "--json")
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout)[0])

    monkeypatch.setenv("LOGIN_REDIS_PREFIX", prefix)  # the child processes read the same keys
    try:
        assert listed()["banned_until"] is not None
        lifted = manage("device", "lift-ban", account.name, "cam1")
        assert lifted.returncode == 0 and "1 ban(s) lifted" in lifted.stdout, lifted.stderr
        assert listed()["banned_until"] is None
        assert not guard.refusal("10.0.0.5", "cam1")
    finally:
        guard.close()
