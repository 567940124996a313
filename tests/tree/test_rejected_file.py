"""An album's REJECTED.txt (DESIGN §12, ``tree.notices`` over ``albums.notices``) through the tree's own API.

The doors' tests (tests/sftpd/test_banner.py, tests/ftpd/test_notices.py) prove that SFTP, FTP and
FTPS serve the same file with real clients. Rejections here are real: the upload goes through the
tree and the worker's own code (``albums.intake.upload_process``) rejects it.
"""

from __future__ import annotations

import io
import zoneinfo
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_django import Settings

from albums import intake, notices
from albums.models import Album, Door, Upload
from audit.models import AuditEvent
from devices import services as device_services
from jobs import services
from jobs.exceptions import Forbidden, NotFound, PortalError
from jobs.models import Account, FTPUser, PhotoJob
from tests.images import jpeg
from tree import notices as tree_notices
from tree.operations import Tree
from tree.principal import Client, Principal

ALBUM = "/job00001/Class 1"
NOTICE = f"{ALBUM}/REJECTED.txt"


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"


def tree_of(ftp_user: FTPUser) -> Tree:
    return Tree(Client(principal=Principal(ftp_user=ftp_user, method="password"), door=Door.SFTP, address="10.1.2.3"))


@pytest.fixture
def tree(ftp_user: FTPUser, album: Album, queued: list[int]) -> Tree:
    return tree_of(ftp_user)


def put(tree: Tree, path: str, data: bytes) -> Upload:
    """Upload through the tree and process it as the worker does."""
    upload = tree.open_write(path)
    upload.write(0, data)
    recorded = upload.finish()
    assert recorded is not None
    intake.upload_process(upload_id=recorded.pk, token=intake.new_token())
    recorded.refresh_from_db()
    return recorded


def read(tree: Tree, path: str) -> str:
    reader = tree.open_read(path)
    try:
        return reader.read(0, reader.info().size + 10).decode()
    finally:
        reader.close()


def names(tree: Tree, path: str = ALBUM) -> list[str]:
    return [e.name for e in tree.listing(path)]


def refused(call, *args: object) -> PortalError:
    with pytest.raises(PortalError) as caught:
        call(*args)
    return caught.value


def test_an_album_with_a_rejected_file_lists_rejected_txt_with_the_file_and_its_reason(tree, account) -> None:
    put(tree, f"{ALBUM}/good.jpg", jpeg())
    assert "REJECTED.txt" not in names(tree)
    assert isinstance(refused(tree.stat, NOTICE), NotFound)

    rejected = put(tree, f"{ALBUM}/notes.jpg", b"a shopping list")
    in_group = put(tree, f"{ALBUM}/group/logo.jpg", b"not a picture either")
    assert rejected.state == in_group.state == "rejected"

    assert names(tree) == ["individuals", "group", "good.jpg", "notes.jpg", "REJECTED.txt"]
    text = read(tree, NOTICE)
    assert "notes.jpg" in text and "group/logo.jpg" in text and rejected.reason in text
    assert "good.jpg" not in text
    # The time is the account's (Europe/Berlin by default), as the studio's pages show it.
    assert account.time_zone == "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert timezone.localtime(rejected.finished_at, berlin).strftime("%Y-%m-%d %H:%M") in text
    # It is never an upload, and not in the section folders.
    assert Upload.objects.count() == 3
    assert "REJECTED.txt" not in names(tree, f"{ALBUM}/group")


def test_its_size_and_time_stay_put_until_a_rejection_comes(tree) -> None:
    first = put(tree, f"{ALBUM}/a.jpg", b"no picture")
    entry = tree.stat(NOTICE)
    assert entry.size == len(read(tree, NOTICE).encode())
    assert first.finished_at is not None and entry.mtime == first.finished_at.timestamp()
    again = tree.stat(NOTICE)
    assert (again.size, again.mtime) == (entry.size, entry.mtime)
    assert next(e for e in tree.listing(ALBUM) if e.name == "REJECTED.txt") == entry

    second = put(tree, f"{ALBUM}/b.jpg", b"no picture either")
    later = tree.stat(NOTICE)
    assert second.finished_at is not None
    assert later.size > entry.size and later.mtime == second.finished_at.timestamp()


def test_it_is_read_only_and_its_name_is_never_an_upload(tree, ftp_user, account) -> None:
    put(tree, f"{ALBUM}/notes.jpg", b"a shopping list")
    before = read(tree, NOTICE)
    for error in (
        refused(tree.open_write, NOTICE),
        refused(tree.rename, NOTICE, f"{ALBUM}/mine.txt"),
        refused(tree.rename, f"{ALBUM}/notes.jpg", NOTICE),
    ):
        assert isinstance(error, Forbidden) and error.message == str(tree_notices.READ_ONLY)
    tree.set_times(NOTICE, mtime=1.0)  # accepted and ignored
    assert read(tree, NOTICE) == before and tree.stat(NOTICE).mtime != 1.0
    assert Upload.objects.count() == 1 and "notes.jpg" in names(tree)

    # Nobody can upload the name into an album folder, whether they see the file or not.
    quiet = services.ftp_user_create(account=account, username="quiet", password="long enough password")
    services.ftp_user_set_rejection_notices(ftp_user=quiet, enabled=False)
    error = refused(tree_of(quiet).open_write, NOTICE)
    assert isinstance(error, Forbidden) and error.message == str(tree_notices.RESERVED)


def test_deleting_it_acknowledges_the_rejections_and_a_new_rejection_brings_it_back(tree, ftp_user) -> None:
    old = put(tree, f"{ALBUM}/a.jpg", b"no picture")
    tree.remove(NOTICE)
    old.refresh_from_db()
    assert old.acknowledged_at is not None
    assert "REJECTED.txt" not in names(tree) and isinstance(refused(tree.remove, NOTICE), NotFound)
    event = AuditEvent.objects.get(action="upload.acknowledge")
    assert (event.actor_kind, event.actor_name, event.detail["uploads"]) == ("ftp_user", ftp_user.username, [old.pk])

    new = put(tree, f"{ALBUM}/b.jpg", b"no picture either")
    assert "REJECTED.txt" in names(tree)
    text = read(tree, NOTICE)
    assert "b.jpg" in text and "a.jpg" not in text
    assert notices.banner_lines(ftp_user=ftp_user)[1].startswith(f"- job00001/Class 1/b.jpg: {new.reason}")


def test_a_rejected_file_replaced_or_deleted_by_the_photographer_leaves_it(tree) -> None:
    put(tree, f"{ALBUM}/a.jpg", b"no picture")
    put(tree, f"{ALBUM}/b.jpg", b"no picture either")
    assert put(tree, f"{ALBUM}/a.jpg", jpeg()).state == "done"  # fixed and uploaded again
    text = read(tree, NOTICE)
    assert "b.jpg" in text and "a.jpg" not in text
    tree.remove(f"{ALBUM}/b.jpg")
    assert "REJECTED.txt" not in names(tree)


def test_each_photographer_hears_only_of_their_own_rejections(tree, account) -> None:
    put(tree, f"{ALBUM}/mine.jpg", b"no picture")
    colleague = services.ftp_user_create(account=account, username="colleague", password="long enough password")
    theirs = tree_of(colleague)
    assert "REJECTED.txt" not in names(theirs) and "mine.jpg" in names(theirs)
    put(theirs, f"{ALBUM}/theirs.jpg", b"no picture either")
    assert "mine.jpg" not in read(theirs, NOTICE) and "theirs.jpg" not in read(tree, NOTICE)
    # Deleting one's own acknowledges only one's own.
    theirs.remove(NOTICE)
    assert "REJECTED.txt" in names(tree)


def test_a_user_with_notices_off_sees_neither_the_file_nor_the_banner(tree, ftp_user) -> None:
    put(tree, f"{ALBUM}/a.jpg", b"no picture")
    services.ftp_user_set_rejection_notices(ftp_user=ftp_user, enabled=False)
    assert "REJECTED.txt" not in names(tree) and isinstance(refused(tree.stat, NOTICE), NotFound)
    assert notices.banner_lines(ftp_user=ftp_user) == []


def test_a_device_sees_it_in_its_own_folder_only_once_its_owner_turns_notices_on(
    account: Account, planned_job: PhotoJob, queued: list[int]
) -> None:
    device = device_services.device_create(account=account, username="cam1", job=planned_job, album_name="Yard")
    assert device.ftp_user.rejection_notices is False  # devices start with it off
    camera = tree_of(device.ftp_user)
    put(camera, "/broken.jpg", b"half a picture")
    assert names(camera, "/") == ["broken.jpg"]
    assert notices.banner_lines(ftp_user=device.ftp_user) == []

    services.ftp_user_set_rejection_notices(ftp_user=device.ftp_user, enabled=True)
    assert names(camera, "/") == ["broken.jpg", "REJECTED.txt"]
    assert "broken.jpg" in read(camera, "/REJECTED.txt")
    assert isinstance(refused(camera.open_write, "/REJECTED.txt"), Forbidden)
    camera.remove("/REJECTED.txt")
    assert names(camera, "/") == ["broken.jpg"]


def test_the_banner_lists_the_last_day_newest_first_and_at_most_ten(tree, ftp_user) -> None:
    for i in range(12):
        put(tree, f"{ALBUM}/bad{i:02}.jpg", b"no picture")
    old = put(tree, f"{ALBUM}/old.jpg", b"no picture")
    Upload.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(hours=25))
    lines = notices.banner_lines(ftp_user=ftp_user)
    assert lines[0] == "12 uploads were rejected in the last 24 hours:"
    assert lines[1].startswith("- job00001/Class 1/bad11.jpg: ")
    assert len([line for line in lines if line.startswith("- ")]) == 10
    assert lines[-2] == "... and 2 more."
    assert lines[-1] == "Each album folder with rejected files holds REJECTED.txt with the reasons."
    assert "old.jpg" not in "\n".join(lines) and "old.jpg" in read(tree, NOTICE)  # the file keeps older ones
    assert notices.banner_text(ftp_user=ftp_user).endswith("\r\n")


def test_an_operator_turns_a_cameras_notices_on_and_off_on_the_command_line(account, planned_job, queued) -> None:
    device = device_services.device_create(account=account, username="cam1", job=planned_job, album_name="Yard")
    camera = tree_of(device.ftp_user)
    put(camera, "/broken.jpg", b"half a picture")
    out = io.StringIO()
    call_command("ftpuser", "notices", "cam1", "on", stdout=out)
    assert "cam1 is told of its rejections" in out.getvalue()
    user = FTPUser.objects.get(username="cam1")
    assert user.rejection_notices and "REJECTED.txt" in names(tree_of(user), "/")
    call_command("ftpuser", "notices", "cam1", "off", stdout=out)
    user = FTPUser.objects.get(username="cam1")
    assert not user.rejection_notices and "REJECTED.txt" not in names(tree_of(user), "/")
