"""Housekeeping (albums.housekeeping): the bytes of deleted, replaced and rejected uploads go after the
retention period; photos' originals and listed files' bytes never do; two runs at once purge once."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connections
from django.utils import timezone
from pytest_django import Settings

from albums import intake
from albums.housekeeping import uploads_purge
from albums.models import Album, Door, Photo, Upload
from albums.selectors import upload_as_dict
from jobs.models import FTPUser
from tests.images import jpeg
from tree.models import TreeFile
from tree.operations import Tree
from tree.principal import Client, Principal

ALBUM = "/job00001/Class 1"


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INTAKE_RETENTION_DAYS = 30


@pytest.fixture
def tree(ftp_user: FTPUser, album: Album, queued: list[int]) -> Tree:
    return Tree(Client(principal=Principal(ftp_user=ftp_user, method="password"), door=Door.SFTP, address=None))


def put(tree: Tree, path: str, data: bytes) -> Upload:
    upload = tree.open_write(path)
    upload.write(0, data)
    recorded = upload.finish()
    assert recorded is not None
    intake.upload_process(upload_id=recorded.pk, token=intake.new_token())
    recorded.refresh_from_db()
    return recorded


def age(*uploads: Upload, days: int) -> None:
    Upload.objects.filter(pk__in=[u.pk for u in uploads]).update(finished_at=timezone.now() - timedelta(days=days))


def stored(upload: Upload) -> bool:
    upload.refresh_from_db()
    return bool(upload.file.name and default_storage.exists(upload.file.name))


def test_replaced_deleted_and_rejected_uploads_lose_their_bytes_after_the_retention_period(tree) -> None:
    old_version = put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1)))
    current = put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(2, 2, 2)))
    deleted = put(tree, f"{ALBUM}/b.jpg", jpeg(colour=(3, 3, 3)))
    tree.remove(f"{ALBUM}/b.jpg")
    rejected = put(tree, f"{ALBUM}/notes.jpg", b"a shopping list")
    assert rejected.state == "rejected"
    age(old_version, current, deleted, rejected, days=31)

    assert uploads_purge() == 3
    assert not stored(old_version) and not stored(deleted) and not stored(rejected)
    assert stored(current) and Photo.objects.get().original.name == current.file.name
    # The rows stay, marked; the rejected file leaves the listing with its bytes.
    assert Upload.objects.filter(purged_at__isnull=False).count() == 3
    assert list(TreeFile.objects.values_list("name", flat=True)) == ["a.jpg"]
    assert upload_as_dict(Upload.objects.get(pk=deleted.pk))["purged_at"] is not None
    assert uploads_purge() == 0  # nothing twice


def test_nothing_is_purged_before_its_time_nor_a_listed_duplicates_bytes(tree) -> None:
    data = jpeg(colour=(5, 5, 5))
    first = put(tree, f"{ALBUM}/a.jpg", data)
    duplicate = put(tree, f"{ALBUM}/b.jpg", data)  # no photo of its own: its bytes are still listed
    replaced = put(tree, f"{ALBUM}/c.jpg", jpeg(colour=(6, 6, 6)))
    put(tree, f"{ALBUM}/c.jpg", jpeg(colour=(7, 7, 7)))
    age(first, duplicate, days=400)
    age(replaced, days=29)
    assert uploads_purge() == 0
    assert stored(first) and stored(duplicate) and stored(replaced)


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_purge_each_upload_once(tree) -> None:
    uploads = []
    for n in range(12):
        uploads.append(put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(n, n, n))))
    age(*uploads, days=31)
    counts: list[int] = []

    def run() -> None:
        try:
            counts.append(uploads_purge())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 11  # every replaced version, each by one run; the current one stays
    assert Upload.objects.filter(purged_at__isnull=False).count() == 11
