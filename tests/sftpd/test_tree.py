"""DESIGN §3 over a real connection: the virtual tree, what each folder allows, and every refusal's status
and sentence (FileZilla and WinSCP show the sentence)."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import cast

import asyncssh
import pytest

from albums.models import Album, Upload
from jobs import services
from tests.conftest import PASSWORD
from tests.images import jpeg
from tests.sftpd.conftest import db, refusal, run, sftp_session

JOB = "/job00001"
ALBUM = "/job00001/Class 1"


async def _put(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    async with sftp.open(path, "wb") as f:
        await f.write(data)


def test_root_lists_only_the_planned_jobs_of_the_users_account(
    sftp_server, ftp_user, planned_job, account, outsider_account
) -> None:
    services.job_create(account=account, internal_name="job00002", status="active")
    services.job_create(account=outsider_account, internal_name="job00003")

    async def scenario() -> tuple[list[str], list[str], str]:
        async with sftp_session(sftp_server.port) as sftp:
            names = sorted(await sftp.listdir("/"))
            top = await sftp.realpath(".")
            missing = [str(await refusal(sftp.listdir(f"/{name}"))) for name in ("job00002", "job00003")]
            return names, missing, top

    names, missing, top = run(scenario)
    assert names == ["job00001"]
    assert top == "/"
    assert all("There is no planned job" in m for m in missing)


def test_the_top_folder_refuses_every_change_with_permission_denied(sftp_server, ftp_user, planned_job) -> None:
    async def scenario() -> dict[str, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            return {
                "mkdir new job": await refusal(sftp.mkdir("/job99999")),
                "mkdir existing job": await refusal(sftp.mkdir("/job00001")),
                "upload": await refusal(_put(sftp, "/photo.jpg", b"x")),
                "remove job": await refusal(sftp.remove("/job00001")),
                "rmdir job": await refusal(sftp.rmdir("/job00001")),
                "rename job": await refusal(sftp.rename("/job00001", "/job00002")),
                "rmdir top": await refusal(sftp.rmdir("/")),
            }

    errors = run(scenario)
    assert isinstance(errors["mkdir new job"], asyncssh.SFTPPermissionDenied)
    assert "Job folders are made by the studio" in errors["mkdir new job"].reason
    # curl and lftp create every folder of a path from the top: an existing job answers "exists".
    assert "already exists" in errors["mkdir existing job"].reason
    assert isinstance(errors["upload"], asyncssh.SFTPPermissionDenied)
    assert "open a job folder" in errors["upload"].reason
    for key in ("remove job", "rmdir job", "rename job", "rmdir top"):
        assert isinstance(errors[key], asyncssh.SFTPPermissionDenied), key
        assert "managed by the studio" in errors[key].reason, key


def test_files_directly_in_a_job_folder_are_refused(sftp_server, ftp_user, planned_job) -> None:
    async def scenario() -> asyncssh.SFTPError:
        async with sftp_session(sftp_server.port) as sftp:
            return await refusal(_put(sftp, "/job00001/photo.jpg", jpeg()))

    error = run(scenario)
    assert isinstance(error, asyncssh.SFTPPermissionDenied)
    assert error.reason == "Upload into an album folder inside the job folder, not into the job folder itself."
    assert not Upload.objects.exists()


def test_album_folders_are_made_renamed_and_removed_as_albums(sftp_server, ftp_user, planned_job) -> None:
    async def scenario() -> tuple[list[str], list[str], asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.mkdir("/job00001/Class 1")
            await sftp.mkdir("/job00001/Class 2")
            duplicate = await refusal(sftp.mkdir("/job00001/class 1"))  # Windows clients ignore case
            created = sorted(await sftp.listdir(JOB))
            await sftp.rename("/job00001/Class 2", "/job00001/Class 2b")
            await sftp.rmdir("/job00001/Class 1")
            return created, sorted(await sftp.listdir(JOB)), duplicate

    created, after, duplicate = run(scenario)
    assert created == ["Class 1", "Class 2"]
    assert after == ["Class 2b"]
    assert "already exists" in duplicate.reason
    assert list(Album.objects.values_list("name", flat=True)) == ["Class 2b"]


def test_an_album_holds_only_individuals_and_group_folders(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[list[str], asyncssh.SFTPError, asyncssh.SFTPError, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.mkdir(ALBUM + "/Group")  # exists already, any case: fine
            await sftp.mkdir(ALBUM + "/individuals")
            other = await refusal(sftp.mkdir(ALBUM + "/extra"))
            nested = await refusal(sftp.mkdir(ALBUM + "/group/sub"))
            removed = await refusal(sftp.rmdir(ALBUM + "/group"))
            return sorted(await sftp.listdir(ALBUM)), other, nested, removed

    listing, other, nested, removed = run(scenario)
    assert listing == ["group", "individuals"]  # always listed, even when empty
    assert isinstance(other, asyncssh.SFTPPermissionDenied)
    assert other.reason == "Inside an album only the folders 'individuals' and 'group' can be created."
    assert isinstance(nested, asyncssh.SFTPPermissionDenied)
    assert isinstance(removed, asyncssh.SFTPPermissionDenied)


def test_uploads_go_to_the_section_of_their_folder(sftp_server, ftp_user, album) -> None:
    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/a.jpg", jpeg(colour=(1, 1, 1)))
            await _put(sftp, ALBUM + "/individuals/b.jpg", jpeg(colour=(2, 2, 2)))
            await _put(sftp, ALBUM + "/GROUP/c.jpg", jpeg(colour=(3, 3, 3)))

    run(scenario)
    rows = set(Upload.objects.values_list("filename", "folder", "section"))
    assert rows == {("a.jpg", "", "individuals"), ("b.jpg", "individuals", "individuals"), ("c.jpg", "group", "group")}


@pytest.mark.parametrize("name", ["IMG_1.jpg.filepart", "IMG_1.jpg.part", "IMG_1.tmp", ".IMG_1.jpg"])
def test_temporary_names_are_stored_and_listed_but_taken_in_only_when_renamed(
    sftp_server, ftp_user, album, name: str
) -> None:
    data = jpeg()

    async def scenario() -> tuple[list[str], int, list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, f"{ALBUM}/{name}", data)
            listed = list(await sftp.listdir(ALBUM))
            uploads_before = await db(Upload.objects.count)
            await sftp.rename(f"{ALBUM}/{name}", f"{ALBUM}/IMG_1.jpg")
            return listed, uploads_before, list(await sftp.listdir(ALBUM))

    listed, uploads_before, after = run(scenario)
    assert name in listed
    assert uploads_before == 0
    assert "IMG_1.jpg" in after and name not in after
    upload = Upload.objects.get()
    assert (upload.filename, upload.size) == ("IMG_1.jpg", len(data))
    assert upload.sha256 == hashlib.sha256(data).hexdigest()  # known from the upload, not read again


def test_rename_over_an_existing_name_replaces_it_with_rename_and_posix_rename(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[bytes, bytes, list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/a.jpg", b"old a")
            await _put(sftp, ALBUM + "/a.jpg.filepart", b"new a")
            await sftp.rename(ALBUM + "/a.jpg.filepart", ALBUM + "/a.jpg")  # SSH_FXP_RENAME
            await _put(sftp, ALBUM + "/b.jpg", b"old b")
            await _put(sftp, ALBUM + "/b.jpg.filepart", b"new b")
            await sftp.posix_rename(ALBUM + "/b.jpg.filepart", ALBUM + "/b.jpg")
            async with sftp.open(ALBUM + "/a.jpg", "rb") as f:
                a: bytes = await f.read()
            async with sftp.open(ALBUM + "/b.jpg", "rb") as f:
                b: bytes = await f.read()
            return a, b, sorted(await sftp.listdir(ALBUM))

    a, b, listing = run(scenario)
    assert (a, b) == (b"new a", b"new b")
    assert listing == ["a.jpg", "b.jpg", "group", "individuals"]
    # Each path's newest upload is the one that counts; the replaced one is never processed.
    newest = Upload.objects.filter(state="received").values_list("filename", "size")
    assert sorted(newest) == [("a.jpg", 5), ("b.jpg", 5)]
    assert set(Upload.objects.filter(state="rejected").values_list("reason", flat=True)) == {
        "replaced by a newer upload of the same file"
    }


def test_names_are_kept_as_sent_unicode_and_spaces(sftp_server, ftp_user, planned_job) -> None:
    names = ["Müller Anna.jpg", "José  Ñandú (2).JPG", "写真 1.jpg", "emoji 📷.jpg"]

    async def scenario() -> list[str]:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.mkdir("/job00001/Klasse 4ä")
            for name in names:
                await _put(sftp, f"/job00001/Klasse 4ä/{name}", b"x")
            return list(await sftp.listdir("/job00001/Klasse 4ä"))

    listed = run(scenario)
    assert set(names) <= set(listed)
    assert set(Upload.objects.values_list("filename", flat=True)) == set(names)
    assert Album.objects.get().name == "Klasse 4ä"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("back\\slash.jpg", "cannot contain '/' or '\\'"),
        ("nul\x00.jpg", "NUL"),
        ("bell\x07.jpg", "control characters"),
        ("new\nline.jpg", "control characters"),
        ("x" * 252 + ".jpg", "longer than 255 bytes"),
        ("ü" * 127 + ".jpg", "longer than 255 bytes"),  # 258 bytes in UTF-8
    ],
)
def test_bad_names_are_refused_with_a_reason(sftp_server, ftp_user, album, name: str, reason: str) -> None:
    async def scenario() -> tuple[asyncssh.SFTPError, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            as_file = await refusal(_put(sftp, f"{ALBUM}/{name}", b"x"))
            as_album = await refusal(sftp.mkdir(f"{JOB}/{name}"))
            return as_file, as_album

    as_file, as_album = run(scenario)
    for error in (as_file, as_album):
        assert error.code in (asyncssh.FX_FAILURE, asyncssh.FX_INVALID_FILENAME, asyncssh.FX_NO_SUCH_FILE)
        assert reason in error.reason
    assert not Upload.objects.exists()


def test_dot_segments_are_refused_for_changes_and_never_climb_out(sftp_server, ftp_user, album) -> None:
    async def scenario() -> dict[str, object]:
        async with sftp_session(sftp_server.port) as sftp:
            return {
                "put ..": await refusal(_put(sftp, ALBUM + "/../Class 1/a.jpg", b"x")),
                "put .": await refusal(_put(sftp, ALBUM + "/./a.jpg", b"x")),
                "mkdir ..": await refusal(sftp.mkdir(JOB + "/..")),
                "mkdir .": await refusal(sftp.mkdir(JOB + "/.")),
                "rename ..": await refusal(sftp.rename(ALBUM, JOB + "/../x")),
                "realpath": await sftp.realpath("/../../../etc/../job00001/./Class 1/.."),
                "list ..": sorted(await sftp.listdir("/../../..")),
                "escape": await refusal(sftp.stat("/../../etc/passwd")),
                "host path": await refusal(sftp.stat("/etc/passwd")),
                # A "/" inside a name is a folder the album cannot have.
                "slash": await refusal(_put(sftp, ALBUM + "/sub/a.jpg", b"x")),
                "slash in album": await refusal(sftp.mkdir(JOB + "/a/b")),
            }

    result = run(scenario)
    for key in ("put ..", "put .", "mkdir ..", "mkdir .", "rename .."):
        assert "'.' or '..'" in cast(asyncssh.SFTPError, result[key]).reason, key
    assert result["realpath"] == "/job00001"
    assert result["list .."] == ["job00001"]
    assert isinstance(result["escape"], asyncssh.SFTPNoSuchFile)
    assert isinstance(result["host path"], asyncssh.SFTPNoSuchFile)
    slash = cast(asyncssh.SFTPError, result["slash"])
    assert "Albums hold only files and the folders 'individuals' and 'group'." in slash.reason
    assert isinstance(result["slash in album"], asyncssh.SFTPNoSuchFile)
    assert not Upload.objects.exists()


def test_an_other_accounts_job_of_the_same_name_stays_invisible(
    sftp_server, ftp_user, planned_job, outsider_account
) -> None:
    other_job = services.job_create(account=outsider_account, internal_name="job00777")
    from albums.services import album_create

    album_create(job=other_job, name="Secret")

    async def scenario() -> list[asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            return [
                await refusal(sftp.listdir("/job00777")),
                await refusal(sftp.listdir("/job00777/Secret")),
                await refusal(_put(sftp, "/job00777/Secret/a.jpg", b"x")),
            ]

    assert all(isinstance(e, asyncssh.SFTPNoSuchFile) for e in run(scenario))
    assert not Upload.objects.exists()


def test_links_are_not_supported(sftp_server, ftp_user, album) -> None:
    async def scenario() -> list[asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/a.jpg", b"x")
            return [
                await refusal(sftp.symlink("/etc/passwd", ALBUM + "/link.jpg")),
                await refusal(sftp.readlink(ALBUM + "/a.jpg")),
                await refusal(sftp.link(ALBUM + "/a.jpg", ALBUM + "/hard.jpg")),
            ]

    for error in run(scenario):
        assert error.code == asyncssh.FX_OP_UNSUPPORTED
        assert "Links are not supported" in error.reason or "not supported" in error.reason


def test_resume_reopens_without_trunc_and_writes_at_an_offset_or_appends(sftp_server, ftp_user, album) -> None:
    data = jpeg(size=(800, 600))
    first, middle = data[:1000], data[1000:2000]

    async def scenario() -> tuple[bytes, bytes, int]:
        async with sftp_session(sftp_server.port) as sftp:
            # A resume at an offset (FileZilla, WinSCP): no TRUNC, write where the file ends.
            await _put(sftp, ALBUM + "/a.jpg.filepart", first)
            size = (await sftp.stat(ALBUM + "/a.jpg.filepart")).size
            assert size is not None
            async with sftp.open(ALBUM + "/a.jpg.filepart", "r+b") as f:
                await f.write(data[size:], size)
            await sftp.rename(ALBUM + "/a.jpg.filepart", ALBUM + "/a.jpg")
            # OPEN with APPEND (lftp, cameras): every write lands at the end.
            await _put(sftp, ALBUM + "/b.jpg.part", first)
            async with sftp.open(ALBUM + "/b.jpg.part", "ab") as f:
                await f.write(middle, 0)  # the offset is ignored in append mode
                await f.write(data[2000:], 0)
            await sftp.rename(ALBUM + "/b.jpg.part", ALBUM + "/b.jpg")
            async with sftp.open(ALBUM + "/a.jpg", "rb") as f:
                a: bytes = await f.read()
            async with sftp.open(ALBUM + "/b.jpg", "rb") as f:
                b: bytes = await f.read()
            return a, b, size

    a, b, size = run(scenario)
    assert size == 1000
    assert a == data and b == data
    for upload in Upload.objects.all():
        assert upload.size == len(data)
        assert upload.sha256 == hashlib.sha256(data).hexdigest()


def test_reopening_a_finished_file_without_writing_changes_nothing(sftp_server, ftp_user, album) -> None:
    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/a.jpg", b"photo")
            async with sftp.open(ALBUM + "/a.jpg", "r+b") as f:
                assert await f.read() == b"photo"

    run(scenario)
    assert Upload.objects.count() == 1


def test_setstat_and_fsetstat_times_are_kept_and_listed_and_permissions_accepted(sftp_server, ftp_user, album) -> None:
    when = 1_500_000_000

    async def scenario() -> dict[str, asyncssh.SFTPAttrs]:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/a.jpg", b"a")
            await sftp.utime(ALBUM + "/a.jpg", (when, when))  # SETSTAT after the upload (FileZilla)
            await sftp.chmod(ALBUM + "/a.jpg", 0o600)
            await sftp.chmod(ALBUM, 0o700)  # folders too: accepted, harmless
            await sftp.utime(JOB, (when, when))
            async with sftp.open(ALBUM + "/b.jpg", "wb") as f:  # FSETSTAT before the close (WinSCP)
                await f.write(b"b")
                await f.utime((when + 60, when + 60))
                await f.chmod(0o100644)
            listed = {n.filename: n.attrs for n in await sftp.readdir(ALBUM)}
            return {"a": listed["a.jpg"], "b": listed["b.jpg"], "stat": await sftp.stat(ALBUM + "/a.jpg")}

    attrs = run(scenario)
    assert attrs["a"].mtime == when and attrs["stat"].mtime == when
    assert attrs["b"].mtime == when + 60
    assert attrs["a"].permissions is not None
    assert stat.S_ISREG(attrs["a"].permissions)  # nothing harmful changed: still a plain readable file
    assert Upload.objects.count() == 2


def test_reading_a_file_back_returns_the_original_bytes(sftp_server, ftp_user, album, tmp_path: Path) -> None:
    data = jpeg(size=(2000, 1500))

    async def scenario() -> bytes:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/group/g.jpg", data)
            await sftp.get(ALBUM + "/group/g.jpg", str(tmp_path / "back.jpg"))
            return (tmp_path / "back.jpg").read_bytes()

    assert run(scenario) == data


def test_listings_show_real_size_and_mtime_as_soon_as_the_file_is_closed(sftp_server, ftp_user, album) -> None:
    data = b"x" * 123_457

    async def scenario() -> tuple[list[str], asyncssh.SFTPAttrs]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/a.jpg", "wb")
            await f.write(data)
            during = list(await sftp.listdir(ALBUM))
            await f.close()
            listed = {n.filename: n.attrs for n in await sftp.readdir(ALBUM)}
            return during, listed["a.jpg"]

    during, attrs = run(scenario)
    assert "a.jpg" not in during  # still arriving: only the finished file is shown
    assert attrs.size == len(data)
    upload = Upload.objects.get()
    assert attrs.mtime is not None
    assert abs(attrs.mtime - upload.received_at.timestamp()) < 60


def test_a_job_that_leaves_planned_disappears_but_an_upload_in_flight_completes(
    sftp_server, ftp_user, planned_job, album
) -> None:
    data = jpeg()

    async def scenario() -> tuple[list[str], asyncssh.SFTPError, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open(ALBUM + "/inflight.jpg", "wb")
            await f.write(data[:1000])
            await db(services.job_set_status, job=planned_job, status="active")
            await f.write(data[1000:], 1000)
            await f.close()  # accepted: the bytes were on their way while the job was planned
            listing = list(await sftp.listdir("/"))
            new_open = await refusal(_put(sftp, ALBUM + "/late.jpg", data))
            mkdir = await refusal(sftp.mkdir(JOB + "/Class 9"))
            return listing, new_open, mkdir

    listing, new_open, mkdir = run(scenario)
    assert listing == []
    assert isinstance(new_open, asyncssh.SFTPNoSuchFile)
    assert isinstance(mkdir, asyncssh.SFTPNoSuchFile)
    upload = Upload.objects.get()
    assert (upload.filename, upload.size) == ("inflight.jpg", len(data))


def test_moving_a_file_between_individuals_and_group_and_deleting_it(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, ALBUM + "/individuals/a.jpg", b"a")
            await sftp.rename(ALBUM + "/individuals/a.jpg", ALBUM + "/group/a.jpg")
            moved = list(await sftp.listdir(ALBUM + "/group"))
            await sftp.remove(ALBUM + "/group/a.jpg")
            return moved, list(await sftp.listdir(ALBUM + "/group"))

    moved, after = run(scenario)
    assert moved == ["a.jpg"] and after == []
    # A pending upload follows the file and is then withdrawn by the delete.
    upload = Upload.objects.get()
    assert (upload.folder, upload.section, upload.state) == ("group", "group", "rejected")


def test_a_user_with_a_password_sees_the_same_tree_after_logging_in_again(sftp_server, ftp_user, album) -> None:
    async def scenario() -> list[str]:
        async with sftp_session(sftp_server.port, "PHOTOGRAPHER", PASSWORD) as sftp:
            return list(await sftp.listdir(ALBUM))

    assert sorted(run(scenario)) == ["group", "individuals"]


def test_a_photo_follows_its_file_moved_replaced_and_deleted(sftp_server, celery_worker, ftp_user, album) -> None:
    from albums.models import Photo
    from tests.helpers import wait_for

    first, second = jpeg(colour=(9, 9, 9)), jpeg(size=(900, 700), colour=(200, 9, 9))

    def settled() -> bool:
        return not Upload.objects.filter(state__in=["received", "processing"]).exists()

    async def put(path: str, data: bytes) -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await _put(sftp, path, data)

    async def move(old: str, new: str) -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.rename(old, new)

    async def delete(path: str) -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.remove(path)

    run(put, ALBUM + "/individuals/a.jpg", first)
    photo = wait_for(lambda: Photo.objects.filter(filename="a.jpg").first())
    assert (photo.section, photo.folder) == ("individuals", "individuals")

    run(move, ALBUM + "/individuals/a.jpg", ALBUM + "/group/a.jpg")
    photo.refresh_from_db()
    assert (photo.section, photo.folder) == ("group", "group")

    run(put, ALBUM + "/group/a.jpg", second)  # the same path again: a new version of that photo
    wait_for(settled)
    photo.refresh_from_db()
    assert (photo.width, photo.sha256) == (900, hashlib.sha256(second).hexdigest())
    assert Photo.objects.count() == 1

    run(put, ALBUM + "/group/copy.jpg", second)  # identical bytes in the same album: no second photo
    wait_for(settled)
    assert Photo.objects.count() == 1

    run(delete, ALBUM + "/group/a.jpg")  # copy.jpg still shows that picture: the photo moves there
    photo.refresh_from_db()
    assert (photo.folder, photo.filename) == ("group", "copy.jpg")
    run(delete, ALBUM + "/group/copy.jpg")
    assert not Photo.objects.filter(pk=photo.pk).exists()


def test_an_unexpected_server_error_is_a_plain_sentence_not_a_traceback(
    sftp_server, ftp_user, album, monkeypatch
) -> None:
    from tree import resolve

    def broken(*args: object) -> None:
        raise RuntimeError("secret internals at /srv/portal/db.py line 12")

    monkeypatch.setattr(resolve, "_lookup", broken)

    async def scenario() -> asyncssh.SFTPError:
        async with sftp_session(sftp_server.port) as sftp:
            return await refusal(sftp.listdir(ALBUM))

    error = run(scenario)
    assert error.code == asyncssh.FX_FAILURE
    assert error.reason.startswith("The server had a problem with this request.")
    assert "secret" not in error.reason
