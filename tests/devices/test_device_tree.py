"""A device's view of the tree (DESIGN §3, §9) through the tree's own API, for every door at once:
its album as ``/``, folders at any depth, flattened album names, photos never replaced or deleted
by the camera, camera temporary names, connection tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_django import Settings

from albums import intake
from albums.models import Album, Door, Photo, Upload
from devices import services as device_services
from devices.models import Device
from jobs import services
from jobs.exceptions import Forbidden, NotEmpty, NotFound
from jobs.models import Account, PhotoJob
from tests.images import jpeg
from tree.models import TreeFile
from tree.operations import Tree
from tree.principal import Client, Principal


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def camera(account: Account, planned_job: PhotoJob) -> Device:
    return device_services.device_create(
        account=account, username="cam1", password="a camera password", job=planned_job, album_name="Entrance cam",
        profile="mobotix",
    )  # fmt: skip


@pytest.fixture
def tree(camera: Device, queued: list[int]) -> Tree:
    principal = Principal(ftp_user=camera.ftp_user, method="password")
    return Tree(Client(principal=principal, door=Door.FTP, address="10.1.2.3"))


def put(tree: Tree, path: str, data: bytes) -> Upload | None:
    upload = tree.open_write(path)
    upload.write(0, data)
    return upload.finish()


def names(tree: Tree, path: str) -> list[str]:
    return [e.name for e in tree.listing(path)]


def process(upload: Upload | None) -> Photo:
    assert upload is not None
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    upload.refresh_from_db()
    assert upload.photo is not None, upload.reason
    return upload.photo


def test_the_album_is_the_root_and_folders_may_go_any_depth(tree: Tree, camera: Device) -> None:
    assert names(tree, "/") == []
    for depth in ("/Cam", "/Cam/2026", "/Cam/2026/05", "/Cam/2026/05/14"):
        tree.mkdir(depth)
        tree.mkdir(depth)  # cameras make every folder every time: one that exists is fine
    assert names(tree, "/") == ["Cam"]
    assert names(tree, "/Cam/2026") == ["05"]
    with pytest.raises(NotFound, match="make it first"):
        tree.mkdir("/Other/2026")
    upload = put(tree, "/Cam/2026/05/14/09.30.00.jpg", jpeg())
    assert upload is not None
    assert (upload.album_id, upload.filename) == (camera.album_id, "Cam__2026__05__14__09.30.00.jpg")
    assert upload.source_path == "/Cam/2026/05/14/09.30.00.jpg"
    assert names(tree, "/Cam/2026/05/14") == ["09.30.00.jpg"]
    assert tree.stat("/Cam/2026/05/14/09.30.00.jpg").size == upload.size
    assert names(tree, "/") == ["Cam"]  # the file shows only in its own folder
    with pytest.raises(NotEmpty):
        tree.rmdir("/Cam/2026/05/14")
    tree.remove("/Cam/2026/05/14/09.30.00.jpg")
    tree.rmdir("/Cam/2026/05/14")
    assert names(tree, "/Cam/2026/05") == []
    with pytest.raises(Forbidden):
        tree.rmdir("/")


def test_the_same_name_again_is_a_new_photo_and_a_delete_keeps_the_photo(tree: Tree) -> None:
    first = process(put(tree, "/snap.jpg", jpeg(colour=(200, 0, 0))))
    second = process(put(tree, "/snap.jpg", jpeg(colour=(0, 200, 0))))
    assert first.pk != second.pk
    assert Photo.objects.count() == 2
    first.refresh_from_db()
    assert first.filename == f"snap~{first.pk}.jpg" and second.filename == "snap.jpg"
    assert names(tree, "/") == ["snap.jpg"]
    tree.remove("/snap.jpg")
    assert names(tree, "/") == []
    assert Photo.objects.count() == 2  # cameras delete only to make room: the photos stay


def test_camera_temporary_names_are_held_until_renamed(tree: Tree) -> None:
    for temporary in ("mx0108e702", "pic_tmp.jpg", ".pureftpd-upload.5f3a.jpg", "pic.jpg.tmp"):
        assert put(tree, f"/{temporary}", jpeg()) is None, temporary
        assert temporary in names(tree, "/")
    assert not Upload.objects.exists()
    tree.rename("/mx0108e702", "/final.jpg")
    assert list(Upload.objects.values_list("filename", "source_path")) == [("final.jpg", "/final.jpg")]


def test_delete_before_rename_makes_a_new_photo_each_time(tree: Tree) -> None:
    """The MOBOTIX sequence: STOR to a temporary name, DELE of the target, RNFR/RNTO onto it."""
    photos = []
    for n in range(3):
        put(tree, "/mx0108e702", jpeg(colour=(n * 60, 10, 10)))
        if n:
            tree.remove("/current.jpg")
        tree.rename("/mx0108e702", "/current.jpg")
        photos.append(process(Upload.objects.order_by("-pk").first()))
    assert len({p.pk for p in photos}) == 3 and Photo.objects.count() == 3
    assert names(tree, "/") == ["current.jpg"]


def test_a_connection_test_is_recorded_and_never_a_photo(tree: Tree, camera: Device) -> None:
    assert put(tree, "/test_0001.jpg", jpeg()) is None
    camera.refresh_from_db()
    assert camera.last_test_name == "test_0001.jpg" and camera.last_test_address == "10.1.2.3"
    assert camera.last_test_at is not None
    assert not Upload.objects.exists() and not TreeFile.objects.exists()


def test_a_long_path_gets_a_unique_album_name_within_the_limit(tree: Tree) -> None:
    folder = "/" + "d" * 120
    tree.mkdir(folder)
    tree.mkdir(f"{folder}/{'e' * 120}")
    path = f"{folder}/{'e' * 120}/{'n' * 40}.jpg"
    upload = put(tree, path, jpeg())
    assert upload is not None and len(upload.filename.encode()) <= 255 and upload.filename.endswith(".jpg")
    assert upload.source_path == path
    assert tree.stat(path).size == upload.size  # the same path finds the same album file again


def test_the_job_going_active_ends_the_cameras_access(tree: Tree, planned_job: PhotoJob) -> None:
    put(tree, "/a.jpg", jpeg())
    services.job_set_status(job=planned_job, status=PhotoJob.Status.ACTIVE)
    with pytest.raises(NotFound, match="no longer planned"):
        tree.listing("/")
    with pytest.raises(NotFound):
        tree.open_write("/b.jpg")


def test_a_person_sees_a_cameras_files_in_its_album_by_their_album_names(
    tree: Tree, ftp_user, planned_job: PhotoJob, queued: list[int]
) -> None:
    tree.mkdir("/Cam")
    put(tree, "/Cam/one.jpg", jpeg())
    person = Tree(Client(principal=Principal(ftp_user=ftp_user, method="password"), door=Door.SFTP, address=None))
    album = Album.objects.get(name="Entrance cam")
    assert album.job == planned_job
    assert "Cam__one.jpg" in names(person, "/job00001/Entrance cam")
