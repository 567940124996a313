"""DESIGN §3 through the tree's own API, without any protocol: each row of the table and each rule
under it, proven once for every door. The doors' tests (tests/sftpd/) prove that they adapt it.

These run against the real database and the real disk (``TREE_ROOT`` and ``MEDIA_ROOT`` per test);
processing is the worker's own code (``albums.intake.upload_process``), called where a photo is needed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pytest_django import Settings

from albums import intake
from albums.models import Album, Door, Photo, Upload
from jobs import services
from jobs.exceptions import (
    Conflict,
    Forbidden,
    Invalid,
    IsAFolder,
    NotAFolder,
    NotEmpty,
    NotFound,
    PortalError,
    TooLarge,
)
from jobs.models import FTPUser, PhotoJob
from portal import files as portal_files
from tests.images import jpeg
from tree import layout, refusals, staging
from tree.models import TreeFile
from tree.operations import Tree
from tree.principal import Client, Principal

JOB = "/job00001"
ALBUM = "/job00001/Class 1"


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tree(ftp_user: FTPUser, planned_job: PhotoJob, queued: list[int]) -> Tree:
    return Tree(Client(principal=Principal(ftp_user=ftp_user, method="password"), door=Door.SFTP, address="10.1.2.3"))


def put(tree: Tree, path: str, data: bytes, **modes: bool) -> Upload | None:
    upload = tree.open_write(path, **modes)
    upload.write(0, data)
    return upload.finish()


def names(tree: Tree, path: str) -> list[str]:
    return [e.name for e in tree.listing(path)]


def refused(call: Callable[..., object], *args: object, **kwargs: object) -> PortalError:
    with pytest.raises(PortalError) as caught:
        call(*args, **kwargs)
    return caught.value


def read(tree: Tree, path: str) -> bytes:
    reader = tree.open_read(path)
    try:
        return reader.read(0, reader.info().size + 1)
    finally:
        reader.close()


def staged() -> list[Path]:
    """Every staging file of every process (none is left once an upload ends, however it ends)."""
    return [p for p in layout.staging_root().rglob("*") if p.is_file()]


def processed(upload: Upload | None) -> Photo:
    assert upload is not None
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    upload.refresh_from_db()
    assert upload.state == "done", upload.reason
    assert upload.photo is not None
    return upload.photo


# --- / ---------------------------------------------------------------------------------------------


def test_the_top_folder_lists_only_the_planned_jobs_of_the_clients_account(tree, account, outsider_account) -> None:
    services.job_create(account=account, internal_name="job00002", status="active")
    services.job_create(account=account, internal_name="job00003", status="archived")
    services.job_create(account=outsider_account, internal_name="job00004")
    listing = tree.listing("/")
    assert [(e.name, e.is_folder) for e in listing] == [("job00001", True)]
    for hidden in ("job00002", "job00003", "job00004"):
        error = refused(tree.listing, f"/{hidden}")
        assert isinstance(error, NotFound) and error.message == refusals.no_job(hidden)
    assert tree.stat("/").is_folder and tree.realpath(".") == "/"


def test_the_top_folder_refuses_every_change(tree) -> None:
    new_job = refused(tree.mkdir, "/job99999")
    assert isinstance(new_job, Forbidden) and new_job.message == refusals.JOBS_BY_STUDIO
    # curl and lftp make every folder of a path from the top: an existing job answers "exists".
    assert isinstance(refused(tree.mkdir, "/job00001"), Conflict)
    file_at_top = refused(tree.open_write, "/photo.jpg")
    assert isinstance(file_at_top, Forbidden) and file_at_top.message == refusals.NO_FILES_AT_TOP
    for error in (
        refused(tree.remove, JOB),
        refused(tree.rmdir, JOB),
        refused(tree.rename, JOB, "/job00002"),
        refused(tree.rmdir, "/"),
        refused(tree.remove, "/"),
    ):
        assert isinstance(error, Forbidden) and error.message == refusals.JOB_FOLDERS_FIXED
    assert isinstance(refused(tree.rename, "/", "/x"), Forbidden)


# --- /<job>/ -------------------------------------------------------------------------------------


def test_mkdir_in_a_job_folder_makes_an_album_rename_renames_it_rmdir_removes_it(tree, planned_job, ftp_user) -> None:
    tree.mkdir(f"{JOB}/Class 1")
    album = Album.objects.get()
    assert (album.job, album.name, album.created_by) == (planned_job, "Class 1", ftp_user)
    assert names(tree, JOB) == ["Class 1"]
    tree.rename(f"{JOB}/Class 1", f"{JOB}/Klasse 1a")
    assert names(tree, JOB) == ["Klasse 1a"] and Album.objects.get().pk == album.pk
    tree.rmdir(f"{JOB}/Klasse 1a")
    assert names(tree, JOB) == [] and not Album.objects.exists()


def test_album_names_are_unique_in_a_job_whatever_their_case(tree) -> None:
    tree.mkdir(f"{JOB}/Class 1")
    assert isinstance(refused(tree.mkdir, f"{JOB}/CLASS 1"), Conflict)
    tree.mkdir(f"{JOB}/Class 2")
    assert isinstance(refused(tree.rename, f"{JOB}/Class 2", f"{JOB}/class 1"), Conflict)
    # Windows clients open "class 1" for "Class 1".
    assert tree.resolve(f"{JOB}/class 1").album == Album.objects.get(name="Class 1")


def test_an_album_with_files_cannot_be_removed_and_an_album_stays_in_its_job(tree, account) -> None:
    tree.mkdir(f"{JOB}/Class 1")
    put(tree, f"{ALBUM}/a.jpg", jpeg())
    error = refused(tree.rmdir, ALBUM)
    assert isinstance(error, NotEmpty) and error.message == refusals.ALBUM_NOT_EMPTY
    services.job_create(account=account, internal_name="job00002")
    moved = refused(tree.rename, ALBUM, "/job00002/Class 1")
    assert isinstance(moved, Forbidden) and moved.message == refusals.ALBUM_RENAME_WITHIN_JOB


def test_files_directly_in_a_job_folder_are_refused(tree) -> None:
    error = refused(tree.open_write, f"{JOB}/photo.jpg")
    assert isinstance(error, Forbidden) and error.message == refusals.NO_FILES_IN_JOB
    assert not Upload.objects.exists()


# --- /<job>/<album>/ and its section folders -------------------------------------------------------


def test_an_album_lists_its_files_and_always_individuals_and_group(tree, album) -> None:
    assert [(e.name, e.is_folder) for e in tree.listing(ALBUM)] == [("individuals", True), ("group", True)]
    put(tree, f"{ALBUM}/a.jpg", b"x" * 10)
    assert [(e.name, e.is_folder, e.size) for e in tree.listing(ALBUM)][2:] == [("a.jpg", False, 10)]


def test_uploads_go_to_the_section_of_their_folder(tree, album) -> None:
    put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1)))
    put(tree, f"{ALBUM}/individuals/b.jpg", jpeg(colour=(2, 2, 2)))
    put(tree, f"{ALBUM}/GROUP/c.jpg", jpeg(colour=(3, 3, 3)))  # the folder names are case-insensitive
    got = sorted(Upload.objects.values_list("filename", "folder", "section"))
    assert got == [("a.jpg", "", "individuals"), ("b.jpg", "individuals", "individuals"), ("c.jpg", "group", "group")]


def test_an_album_holds_no_folders_but_its_two_sections(tree, album) -> None:
    tree.mkdir(f"{ALBUM}/individuals")  # they always exist: making them again is fine
    tree.mkdir(f"{ALBUM}/Group")
    other = refused(tree.mkdir, f"{ALBUM}/extra")
    assert isinstance(other, Forbidden) and other.message == refusals.ONLY_SECTION_FOLDERS
    inside = refused(tree.mkdir, f"{ALBUM}/group/sub")
    assert isinstance(inside, Forbidden) and inside.message == refusals.no_folders_in_section("group")
    deeper = refused(tree.open_write, f"{ALBUM}/group/sub/a.jpg")
    assert isinstance(deeper, NotFound) and deeper.message == refusals.NO_SUBFOLDERS
    for error in (
        refused(tree.rmdir, f"{ALBUM}/group"),
        refused(tree.remove, f"{ALBUM}/individuals"),
        refused(tree.rename, f"{ALBUM}/group", f"{ALBUM}/groups"),
    ):
        assert isinstance(error, Forbidden) and error.message == refusals.SECTION_FOLDERS_FIXED
    assert isinstance(refused(tree.open_write, f"{ALBUM}/group"), IsAFolder)
    assert isinstance(refused(tree.open_read, f"{ALBUM}/group"), IsAFolder)
    assert isinstance(refused(tree.remove, ALBUM), IsAFolder)
    put(tree, f"{ALBUM}/a.jpg", b"x")
    assert isinstance(refused(tree.listing, f"{ALBUM}/a.jpg"), NotAFolder)
    assert isinstance(refused(tree.rmdir, f"{ALBUM}/a.jpg"), NotAFolder)


# --- finished files -----------------------------------------------------------------------------


def test_a_file_is_taken_in_when_it_is_finished_and_not_before(
    tree, album, ftp_user, queued, django_capture_on_commit_callbacks
) -> None:
    data = jpeg()
    upload = tree.open_write(f"{ALBUM}/a.jpg")
    upload.write(0, data)
    assert names(tree, ALBUM) == ["individuals", "group"] and not Upload.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        recorded = upload.finish()
    assert recorded is not None and queued == [recorded.pk]  # its processing is queued once committed
    row = Upload.objects.get()
    assert (row.filename, row.size, row.sha256) == ("a.jpg", len(data), hashlib.sha256(data).hexdigest())
    assert (row.ftp_user, row.door, row.client_address, row.source_path) == (
        ftp_user,
        "sftp",
        "10.1.2.3",
        "/job00001/Class 1/a.jpg",
    )
    assert read(tree, f"{ALBUM}/a.jpg") == data


def test_an_abandoned_file_leaves_nothing_but_a_temporary_name_is_kept_for_resume(tree, album) -> None:
    broken = tree.open_write(f"{ALBUM}/half.jpg")
    broken.write(0, b"x" * 5000)
    assert broken.abandon() is False
    part = tree.open_write(f"{ALBUM}/big.jpg.filepart")
    part.write(0, b"y" * 5000)
    assert part.abandon() is True
    assert names(tree, ALBUM)[2:] == ["big.jpg.filepart"]
    assert not Upload.objects.exists() and not staged()


@pytest.mark.parametrize("name", ["a.jpg.filepart", "a.jpg.part", "a.jpg.TMP", ".a.jpg"])
def test_temporary_names_are_stored_and_listed_but_taken_in_only_when_renamed(tree, album, name: str) -> None:
    data = jpeg()
    assert put(tree, f"{ALBUM}/{name}", data) is None
    assert name in names(tree, ALBUM) and not Upload.objects.exists()
    # The SHA-256 travels with the file, so the rename need not read it again.
    assert TreeFile.objects.get(name=name).sha256 == hashlib.sha256(data).hexdigest()
    tree.rename(f"{ALBUM}/{name}", f"{ALBUM}/group/a.jpg")
    row = Upload.objects.get()
    assert (row.filename, row.folder, row.size, row.sha256) == ("a.jpg", "group", len(data), row.sha256)
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.source_path == "/job00001/Class 1/group/a.jpg"
    assert names(tree, f"{ALBUM}/group") == ["a.jpg"] and name not in names(tree, ALBUM)


def test_a_rename_over_an_existing_name_replaces_it_and_so_does_delete_then_rename(tree, album) -> None:
    first = processed(put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1))))
    put(tree, f"{ALBUM}/a.jpg.filepart", jpeg(colour=(2, 2, 2)))
    tree.rename(f"{ALBUM}/a.jpg.filepart", f"{ALBUM}/a.jpg")  # WinSCP: rename over it
    second = processed(Upload.objects.order_by("pk").last())
    assert second.pk == first.pk and Photo.objects.count() == 1  # the photo at that path, new content
    put(tree, f"{ALBUM}/a.jpg.filepart", jpeg(colour=(3, 3, 3)))
    tree.remove(f"{ALBUM}/a.jpg")  # cameras: delete first, then rename
    assert not Photo.objects.exists()
    tree.rename(f"{ALBUM}/a.jpg.filepart", f"{ALBUM}/a.jpg")
    processed(Upload.objects.order_by("pk").last())
    assert Photo.objects.count() == 1 and names(tree, ALBUM)[2:] == ["a.jpg"]


def test_a_finished_file_renamed_over_another_takes_its_place_and_its_photo_goes(tree, album) -> None:
    a = processed(put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1))))
    processed(put(tree, f"{ALBUM}/b.jpg", jpeg(colour=(2, 2, 2))))
    tree.rename(f"{ALBUM}/a.jpg", f"{ALBUM}/b.jpg")
    assert list(Photo.objects.values_list("pk", "filename")) == [(a.pk, "b.jpg")]
    assert names(tree, ALBUM)[2:] == ["b.jpg"]


def test_uploading_the_same_path_again_replaces_that_photo(tree, album) -> None:
    photo = processed(put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1))))
    again = processed(put(tree, f"{ALBUM}/a.jpg", jpeg(size=(320, 200), colour=(9, 9, 9))))
    assert again.pk == photo.pk and Photo.objects.get().width == 320


def test_a_newer_upload_of_a_path_supersedes_one_still_waiting(tree, album) -> None:
    older = put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1)))
    put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(2, 2, 2)))
    assert older is not None
    older.refresh_from_db()
    assert (older.state, older.reason) == ("rejected", "replaced by a newer upload of the same file")


def test_identical_bytes_twice_in_one_album_make_one_photo(tree, album) -> None:
    data = jpeg()
    photo = processed(put(tree, f"{ALBUM}/a.jpg", data))
    duplicate = put(tree, f"{ALBUM}/group/copy.jpg", data)
    assert processed(duplicate).pk == photo.pk and Photo.objects.count() == 1


def test_resume_reopens_without_truncating_and_writes_at_an_offset_or_appends(tree, album) -> None:
    data = jpeg(size=(800, 600))
    head = tree.open_write(f"{ALBUM}/a.jpg.filepart")
    head.write(0, data[:1000])
    head.abandon()  # the connection broke: the temporary name keeps the first 1000 bytes
    resumed = tree.open_write(f"{ALBUM}/a.jpg.filepart", truncate=False)
    assert resumed.size == 1000
    resumed.write(1000, data[1000:5000])
    resumed.finish()
    tail = tree.open_write(f"{ALBUM}/a.jpg.filepart", truncate=False, append=True)
    tail.write(0, data[5000:])  # appending: the offset is ignored
    tail.finish()
    assert read(tree, f"{ALBUM}/a.jpg.filepart") == data
    tree.rename(f"{ALBUM}/a.jpg.filepart", f"{ALBUM}/a.jpg")
    assert Upload.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_reopening_a_file_without_writing_changes_nothing(tree, album) -> None:
    put(tree, f"{ALBUM}/a.jpg", jpeg())
    assert tree.open_write(f"{ALBUM}/a.jpg", truncate=False).finish() is None
    assert Upload.objects.count() == 1


def test_create_and_exclusive_modes_are_honoured(tree, album) -> None:
    assert isinstance(refused(tree.open_write, f"{ALBUM}/new.jpg", create=False), NotFound)
    put(tree, f"{ALBUM}/a.jpg", b"x")
    assert isinstance(refused(tree.open_write, f"{ALBUM}/a.jpg", exclusive=True), Conflict)


def test_times_set_after_an_upload_are_kept_and_listed(tree, album) -> None:
    upload = tree.open_write(f"{ALBUM}/a.jpg")
    upload.write(0, b"x")
    upload.set_times(None, 1_600_000_000)  # during the upload, as WinSCP does
    upload.finish()
    assert tree.stat(f"{ALBUM}/a.jpg").mtime == 1_600_000_000
    tree.set_times(f"{ALBUM}/a.jpg", atime=1_500_000_000, mtime=1_500_000_000)  # after it, as FileZilla does
    tree.set_times(ALBUM, mtime=1)  # folder times are accepted and ignored
    assert [e.mtime for e in tree.listing(ALBUM) if e.name == "a.jpg"] == [1_500_000_000]


def test_moving_a_file_between_individuals_and_group_moves_its_photo(tree, album) -> None:
    photo = processed(put(tree, f"{ALBUM}/individuals/a.jpg", jpeg()))
    tree.rename(f"{ALBUM}/individuals/a.jpg", f"{ALBUM}/group/a.jpg")
    photo.refresh_from_db()
    assert (photo.folder, photo.section) == ("group", "group")
    assert names(tree, f"{ALBUM}/group") == ["a.jpg"] and names(tree, f"{ALBUM}/individuals") == []


def test_a_finished_file_renamed_to_a_temporary_name_loses_its_photo(tree, album) -> None:
    processed(put(tree, f"{ALBUM}/a.jpg", jpeg()))
    tree.rename(f"{ALBUM}/a.jpg", f"{ALBUM}/a.jpg.part")
    assert not Photo.objects.exists()


def test_files_move_only_within_their_job(tree, album, account) -> None:
    other = services.job_create(account=account, internal_name="job00002")
    tree.mkdir("/job00002/Class 1")
    put(tree, f"{ALBUM}/a.jpg", b"x")
    error = refused(tree.rename, f"{ALBUM}/a.jpg", "/job00002/Class 1/a.jpg")
    assert isinstance(error, Forbidden) and error.message == refusals.MOVE_WITHIN_JOB
    assert other.albums.get().name == "Class 1" and "a.jpg" in names(tree, ALBUM)


def test_deleting_a_file_deletes_its_photo_and_withdraws_a_waiting_upload(tree, album) -> None:
    processed(put(tree, f"{ALBUM}/a.jpg", jpeg(colour=(1, 1, 1))))
    waiting = put(tree, f"{ALBUM}/b.jpg", jpeg(colour=(2, 2, 2)))
    tree.remove(f"{ALBUM}/a.jpg")
    tree.remove(f"{ALBUM}/b.jpg")
    assert waiting is not None
    waiting.refresh_from_db()
    assert (waiting.state, waiting.reason) == ("rejected", "deleted over SFTP before it was processed")
    assert not Photo.objects.exists() and names(tree, ALBUM) == ["individuals", "group"]
    assert isinstance(refused(tree.remove, f"{ALBUM}/a.jpg"), NotFound)


def test_reading_a_file_back_returns_the_original_bytes(tree, album) -> None:
    data = jpeg(size=(1000, 800))
    put(tree, f"{ALBUM}/a.jpg", data)
    reader = tree.open_read(f"{ALBUM}/a.jpg")
    try:
        assert reader.read(0, len(data) + 10) == data and reader.info().size == len(data)
    finally:
        reader.close()
    assert isinstance(refused(tree.open_read, f"{ALBUM}/missing.jpg"), NotFound)


def test_listings_show_the_real_size_and_time_as_soon_as_a_file_is_finished(tree, album) -> None:
    before = time.time()
    put(tree, f"{ALBUM}/a.jpg", b"x" * 1234)
    entry = next(e for e in tree.listing(ALBUM) if e.name == "a.jpg")
    assert entry.size == 1234 and before - 2 <= entry.mtime <= time.time() + 2
    assert tree.stat(f"{ALBUM}/a.jpg").size == 1234


def test_a_job_that_leaves_planned_disappears_but_an_upload_already_open_completes(tree, planned_job, album) -> None:
    inflight = tree.open_write(f"{ALBUM}/inflight.jpg")
    inflight.write(0, b"x" * 100)
    services.job_set_status(job=planned_job, status="active")
    assert tree.listing("/") == []
    for error in (refused(tree.open_write, f"{ALBUM}/late.jpg"), refused(tree.mkdir, f"{JOB}/Class 9")):
        assert isinstance(error, NotFound) and error.message == refusals.no_job("job00001")
    inflight.finish()  # the bytes were on their way while the job was planned
    assert Upload.objects.get().filename == "inflight.jpg"


# --- names and paths ------------------------------------------------------------------------------


def test_names_are_kept_as_sent_unicode_and_spaces(tree, planned_job) -> None:
    tree.mkdir(f"{JOB}/Klasse 3b (Müller)")
    put(tree, f"{JOB}/Klasse 3b (Müller)/Zoë Ørsted 01.jpg", b"x")
    assert names(tree, JOB) == ["Klasse 3b (Müller)"]
    assert names(tree, f"{JOB}/Klasse 3b (Müller)")[2:] == ["Zoë Ørsted 01.jpg"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("back\\slash.jpg", "names cannot contain '/' or '\\'"),
        ("tab\tname.jpg", "control characters"),
        ("nul\x00.jpg", "NUL"),
        ("x" * 252 + ".jpg", "longer than 255 bytes"),
        ("ü" * 128 + ".jpg", "longer than 255 bytes"),  # 260 bytes in UTF-8
    ],
)
def test_bad_names_are_refused_with_a_reason(tree, album, name: str, reason: str) -> None:
    for error in (refused(tree.open_write, f"{ALBUM}/{name}"), refused(tree.mkdir, f"{JOB}/{name}")):
        assert isinstance(error, Invalid) and reason in error.message
    assert not Upload.objects.exists() and Album.objects.count() == 1


def test_dot_segments_are_refused_for_changes_and_never_climb_out(tree, album) -> None:
    for change in (
        lambda: tree.open_write(f"{ALBUM}/../Class 1/a.jpg"),
        lambda: tree.mkdir(f"{JOB}/./Class 2"),
        lambda: tree.remove(f"{ALBUM}/./a.jpg"),
        lambda: tree.rename(f"{ALBUM}/a.jpg", f"{ALBUM}/../a.jpg"),
    ):
        error = refused(change)
        assert isinstance(error, Invalid | NotFound), error
    assert isinstance(refused(tree.mkdir, f"{JOB}/./Class 2"), Invalid)
    # Looking around follows them, and ".." stops at the top.
    assert tree.realpath("/../../job00001/./Class 1/..") == "/job00001"
    assert names(tree, "/../..") == ["job00001"]
    assert tree.resolve(f"{ALBUM}/group/../individuals").folder == "individuals"


def test_a_path_that_is_not_utf8_is_refused() -> None:
    from tree.names import decode

    with pytest.raises(Invalid, match="UTF-8"):
        decode(b"caf\xe9.jpg")


def test_another_accounts_job_of_the_same_name_stays_invisible(tree, account, outsider_account) -> None:
    other_job = services.job_create(account=outsider_account, internal_name="job00002")
    other = Tree(
        Client(
            principal=Principal(
                ftp_user=services.ftp_user_create(account=outsider_account, username="outsider", password="x" * 12),
                method="password",
            ),
            door=Door.FTP,
            address=None,
        )
    )
    other.mkdir("/job00002/Secret")
    assert isinstance(refused(tree.listing, "/job00002"), NotFound)
    assert isinstance(refused(tree.open_write, "/job00002/Secret/a.jpg"), NotFound)
    assert names(other, "/") == ["job00002"] and other_job.albums.get().name == "Secret"


# --- limits and hashing ---------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_and_nothing_is_kept(
    tree: Tree, album: Album, settings: Settings
) -> None:
    settings.TREE_MAX_FILE_BYTES = 10_000
    upload = tree.open_write(f"{ALBUM}/big.jpg")
    upload.write(0, b"x" * 8000)
    with pytest.raises(TooLarge, match=r"files larger than 10000 bytes are not accepted"):
        upload.write(8000, b"x" * 8000)
    with pytest.raises(TooLarge):  # every later request says why
        upload.finish()
    offset = tree.open_write(f"{ALBUM}/sparse.jpg")
    with pytest.raises(TooLarge):
        offset.write(2**40, b"x")  # offsets are bounded too: no terabyte-sized sparse files
    offset.abandon()
    assert not Upload.objects.exists() and names(tree, ALBUM) == ["individuals", "group"]
    assert not staged()


def test_the_sha256_is_taken_while_bytes_arrive_in_order_and_left_to_the_worker_otherwise(tree, album) -> None:
    data = jpeg(size=(1500, 1000))
    middle = len(data) // 2
    in_order = tree.open_write(f"{ALBUM}/in-order.jpg")
    for start in range(0, len(data), 32768):
        in_order.write(start, data[start : start + 32768])
    backwards = tree.open_write(f"{ALBUM}/backwards.jpg")
    backwards.write(middle, data[middle:])
    backwards.write(0, data[:middle])
    first, second = in_order.finish(), backwards.finish()
    assert first is not None and second is not None
    assert first.sha256 == hashlib.sha256(data).hexdigest()
    assert second.sha256 == ""  # the worker hashes the finished file instead
    assert processed(second).sha256 == hashlib.sha256(data).hexdigest()


# --- shared photos: every listed path keeps its picture ---------------------------------------------


def assert_every_listed_file_has_its_picture() -> None:
    """Each listed final file's upload points at a photo holding exactly its bytes, stored and readable."""
    for row in TreeFile.objects.filter(upload__isnull=False).select_related("upload__photo"):
        upload = row.upload
        assert upload is not None and upload.state == "done", (row, upload)
        photo = upload.photo
        assert photo is not None, row
        assert photo.sha256 == upload.sha256, (row, photo)
        with photo.original.open("rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == photo.sha256
        # The photo stands at a listed path with the same bytes (its own, or the one it was handed to).
        own = TreeFile.objects.get(album=photo.album, folder=photo.folder, name=photo.filename)
        assert own.sha256 == photo.sha256


def test_replacing_a_path_never_takes_the_picture_of_a_duplicate_at_another_path(tree, album) -> None:
    x, y = jpeg(colour=(10, 10, 10)), jpeg(colour=(250, 20, 20))
    first = processed(put(tree, f"{ALBUM}/A.jpg", x))
    again = put(tree, f"{ALBUM}/A.jpg", x)
    assert processed(again).pk == first.pk
    assert again is not None and Upload.objects.get(pk=again.pk).reason == "same bytes as the photo already there"
    duplicate = put(tree, f"{ALBUM}/B.jpg", x)
    assert processed(duplicate).pk == first.pk and Photo.objects.count() == 1
    replaced = processed(put(tree, f"{ALBUM}/A.jpg", y))
    # B's picture went with B: the photo of X now stands at B, and A has a photo of Y of its own.
    assert sorted(Photo.objects.values_list("filename", "sha256")) == [
        ("A.jpg", hashlib.sha256(y).hexdigest()),
        ("B.jpg", hashlib.sha256(x).hexdigest()),
    ]
    assert Photo.objects.get(filename="B.jpg").pk == first.pk and replaced.pk != first.pk
    assert_every_listed_file_has_its_picture()


def test_deleting_the_first_of_two_identical_files_keeps_the_other_ones_picture(tree, album) -> None:
    x = jpeg(colour=(10, 10, 10))
    photo = processed(put(tree, f"{ALBUM}/A.jpg", x))
    processed(put(tree, f"{ALBUM}/group/B.jpg", x))
    tree.remove(f"{ALBUM}/A.jpg")
    moved = Photo.objects.get()
    assert (moved.pk, moved.folder, moved.filename, moved.section) == (photo.pk, "group", "B.jpg", "group")
    assert_every_listed_file_has_its_picture()
    tree.remove(f"{ALBUM}/group/B.jpg")  # the last one: now the photo goes
    assert not Photo.objects.exists()


def test_renaming_another_file_over_the_first_keeps_the_duplicates_picture(tree, album) -> None:
    x, z = jpeg(colour=(10, 10, 10)), jpeg(colour=(20, 200, 20))
    processed(put(tree, f"{ALBUM}/A.jpg", x))
    processed(put(tree, f"{ALBUM}/B.jpg", x))
    processed(put(tree, f"{ALBUM}/C.jpg", z))
    tree.rename(f"{ALBUM}/C.jpg", f"{ALBUM}/A.jpg")
    assert sorted(Photo.objects.values_list("filename", "sha256")) == [
        ("A.jpg", hashlib.sha256(z).hexdigest()),
        ("B.jpg", hashlib.sha256(x).hexdigest()),
    ]
    assert_every_listed_file_has_its_picture()


def test_moving_the_first_of_two_identical_files_between_sections_keeps_both_pictures(tree, album) -> None:
    x = jpeg(colour=(10, 10, 10))
    photo = processed(put(tree, f"{ALBUM}/individuals/A.jpg", x))
    processed(put(tree, f"{ALBUM}/B.jpg", x))
    tree.rename(f"{ALBUM}/individuals/A.jpg", f"{ALBUM}/group/A.jpg")
    photo.refresh_from_db()
    assert (photo.folder, photo.section) == ("group", "group") and Photo.objects.count() == 1
    assert_every_listed_file_has_its_picture()
    processed(put(tree, f"{ALBUM}/group/A.jpg", jpeg(colour=(1, 2, 3))))  # and now replace it
    assert Photo.objects.count() == 2
    assert_every_listed_file_has_its_picture()


@pytest.mark.parametrize("name", ["a.jpg", "a.jpg.filepart"])
def test_an_upload_whose_bytes_cannot_be_made_durable_is_neither_listed_nor_recorded_nor_stored(
    tree, album, monkeypatch, name: str
) -> None:
    """The record is written while the disk syncs the bytes (``tree.staging``), and commits only after."""

    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    upload = tree.open_write(f"{ALBUM}/{name}")
    upload.write(0, jpeg())
    monkeypatch.setattr(os, "fsync", failing_fsync)
    refusal = refused(upload.finish)
    monkeypatch.undo()
    assert str(refusal) == refusals.disk_error(OSError(errno.EIO, ""))  # "could not store", not "full"
    assert not TreeFile.objects.exists() and not Upload.objects.exists()
    assert not [p for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()]  # nothing left in storage
    assert not [p for p in layout.staging_root().rglob("*") if p.is_file()]
    assert put(tree, f"{ALBUM}/{name}", jpeg()) is not None or name.endswith(".filepart")  # the disk is back
    assert names(tree, ALBUM)[-1] == name


def test_a_big_upload_is_written_out_while_it_arrives_so_its_fsync_waits_for_the_tail_only(
    tree, album, monkeypatch
) -> None:
    assert portal_files._SYNC_FILE_RANGE is not None  # Linux's sync_file_range was found: no silent no-op
    asked: list[tuple[int, int]] = []
    real = portal_files.start_writeback

    def start_writeback(fd: int, offset: int, length: int) -> None:
        asked.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr(portal_files, "start_writeback", start_writeback)
    step = staging.WRITEBACK_EVERY
    data = os.urandom(3 * step + 12345)
    upload = tree.open_write(f"{ALBUM}/big.jpg")
    for at in range(0, len(data), 32768):
        upload.write(at, data[at : at + 32768])
    recorded = upload.finish()
    assert recorded is not None and recorded.file.read() == data  # every byte there, in order
    # Each stretch once, in order, none past what was written; the tail is left to the fsync.
    assert [offset for offset, _ in asked] == [sum(length for _, length in asked[:i]) for i in range(len(asked))]
    assert all(length >= step for _, length in asked) and 2 * step <= sum(length for _, length in asked) <= len(data)
