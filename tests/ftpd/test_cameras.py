"""What cameras do over FTP and FTPS (DESIGN §3, §8 and the manuals in shared/reference/), replayed
command by command with ftplib: ALLO, MKD of a folder that exists, MOBOTIX's temporary name with
delete-before-rename, AXIS's passive-only stream of timestamped files, INSTAR's Test-Snapshot.jpeg,
and UTF-8 names. Every picture is a real JPEG, a real worker makes the photos, and each photo must
hold exactly the bytes sent.

The cameras log in as FTP users of kind person here (devices, DESIGN §9, see their album as ``/``;
they are not built yet), so the tree's rules of §3 apply: the camera uploads into the album folder
and its temporary names are those of §3 (``*.tmp``, ``*.part``, ``*.filepart``, dot-files).
"""

from __future__ import annotations

import ftplib
import hashlib
import socket

import pytest

from albums.models import Photo, Upload
from jobs import services
from tests.conftest import PASSWORD
from tests.ftpd.conftest import ftps, get, plain_ftp, put, refusal
from tests.helpers import wait_for
from tests.images import jpeg
from tree import refusals
from tree.models import TreeFile

JOB = "job00001"
ALBUM = f"/{JOB}/Class 1"
SECTIONS = ["group", "individuals"]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_photos(sent: dict[str, bytes], door: str, *, uploads: int | None = None) -> None:
    """Once the worker is done with every upload: exactly these photos, each byte for byte what was sent."""
    wait_for(
        lambda: (
            Upload.objects.count() >= (uploads or len(sent))
            and not Upload.objects.filter(state__in=["received", "processing"]).exists()
        ),
        timeout=120,
    )
    photos = {photo.filename: photo for photo in Photo.objects.filter(album__job__internal_name=JOB)}
    assert sorted(photos) == sorted(sent)
    for name, data in sent.items():
        with photos[name].original.open("rb") as f:
            assert _sha(f.read()) == _sha(data), name
    assert set(Upload.objects.values_list("door", flat=True)) == {door}


def _listed(ftp: ftplib.FTP, path: str = "") -> list[str]:
    return sorted(ftp.nlst(path) if path else ftp.nlst())


def test_allo_and_mkd_of_the_existing_album_succeed_and_a_missing_folder_is_refused(
    ftp_server, celery_worker, camera, album
) -> None:
    data = jpeg(size=(1280, 720), colour=(80, 80, 200))
    with plain_ftp(ftp_server, "camera") as ftp:
        # Cameras make each folder of their path before every upload; one that exists is fine.
        assert ftp.sendcmd(f"MKD /{JOB}") == f'257 "/{JOB}" already exists.'
        assert ftp.sendcmd(f"MKD {ALBUM}") == f'257 "{ALBUM}" already exists.'
        ftp.cwd(ALBUM)
        ftp.voidcmd("TYPE I")
        assert ftp.sendcmd(f"ALLO {len(data)}") == "200 No storage allocation needed."
        assert put(ftp, "IPC_20260514093015.jpg", data).startswith("226")
        # A folder that is not there: refused with the reason, nothing kept.
        missing = refusal(put, ftp, f"/{JOB}/Class 9/IPC_20260514093016.jpg", data)
        assert str(missing) == "550 " + refusals.no_album("Class 9", JOB)
        nested = refusal(put, ftp, f"{ALBUM}/2026-05-14/IPC_20260514093017.jpg", data)
        assert str(nested) == "550 " + refusals.NO_SUBFOLDERS
        assert str(refusal(ftp.cwd, f"/{JOB}/Class 9")) == "550 " + refusals.no_album("Class 9", JOB)
        assert _listed(ftp) == ["IPC_20260514093015.jpg", *SECTIONS]
    assert_photos({"IPC_20260514093015.jpg": data}, "ftp")
    assert list(TreeFile.objects.values_list("name", flat=True)) == ["IPC_20260514093015.jpg"]


# --- MOBOTIX (FTP profiles: "Temporary Name" with "delete before rename", streaming FTP) ---------

# MOBOTIX names its temporary file after the camera's serial number and the profile (mx0108e702);
# to the tree of §3 a temporary name carries a suffix such as .tmp.
TEMPORARY = "mx0108e702.tmp"


def test_mobotix_stores_a_temporary_name_deletes_the_target_and_renames_each_file_in_one_session(
    ftp_server, celery_worker, camera, album
) -> None:
    # $(TEXT.FTPFILE): "m", YYMMDDhhmmss and milliseconds.
    sent = {
        f"m2605140930{10 + i}{i}{i}0.jpg": jpeg(size=(1024, 768), colour=(40 * i, 90, 200 - 40 * i)) for i in range(4)
    }
    with plain_ftp(ftp_server, "camera") as ftp:
        ftp.set_pasv(False)  # the profile's "Active FTP": PORT to the camera's own address
        ftp.voidcmd("TYPE I")
        assert ftp.sendcmd(f"MKD {ALBUM}").startswith("257 ")  # "created during the FTP transfer" if missing
        ftp.cwd(ALBUM)
        for name, data in sent.items():
            assert put(ftp, TEMPORARY, data).startswith("226")
            assert TEMPORARY in _listed(ftp)  # stored and listed, never processed
            assert str(refusal(ftp.delete, name)).startswith("550 ")  # nothing there yet: the camera goes on
            assert ftp.sendcmd(f"RNFR {TEMPORARY}").startswith("350 ")
            assert ftp.sendcmd(f"RNTO {name}") == "250 Renamed."
        assert _listed(ftp) == sorted([*sent, *SECTIONS])
        assert all(get(ftp, name) == data for name, data in sent.items())
    assert_photos(sent, "ftp")


def test_mobotix_with_one_fixed_file_name_replaces_the_picture_each_time(
    ftp_server, celery_worker, camera, album
) -> None:
    shots = [jpeg(size=(800, 600), colour=(200, 60 * i, 30)) for i in range(3)]
    deleted: list[str] = []
    with plain_ftp(ftp_server, "camera") as ftp:
        ftp.cwd(ALBUM)
        for data in shots:  # the website's "current image", every few seconds
            put(ftp, TEMPORARY, data)
            try:
                deleted.append(ftp.delete("current.jpg"))
            except ftplib.error_perm as exc:
                deleted.append(str(exc))
            ftp.rename(TEMPORARY, "current.jpg")
        assert [reply[:3] for reply in deleted] == ["550", "250", "250"]
        assert _listed(ftp) == ["current.jpg", *SECTIONS]
        assert get(ftp, "current.jpg") == shots[-1]
    assert_photos({"current.jpg": shots[-1]}, "ftp", uploads=len(shots))


# --- AXIS (Image to FTP: passive mode only, DD.MM.YYYY_HH_MM_SS.mmm.jpg) -----------------------


def test_axis_uploads_many_timestamped_files_in_one_passive_session(ftp_server, celery_worker, camera, album) -> None:
    sent = {
        f"14.05.2026_09_30_{25 + i:02d}.{(123 * i) % 1000:03d}.jpg": jpeg(size=(960, 540), colour=(30 * i, 150, 90))
        for i in range(6)
    }
    with plain_ftp(ftp_server, "camera") as ftp:
        ftp.voidcmd("TYPE I")
        ftp.cwd(ALBUM)
        for name, data in sent.items():
            host, port = ftplib.parse227(ftp.sendcmd("PASV"))  # PASV, as the ACAP does, never PORT
            with socket.create_connection((host, port), timeout=30) as conn:
                assert ftp.sendcmd(f"STOR {name}")[:3] in ("125", "150")
                conn.sendall(data)
            assert ftp.voidresp().startswith("226")
        assert _listed(ftp) == sorted([*sent, *SECTIONS])
    assert_photos(sent, "ftp")


# --- INSTAR (param.cgi?cmd=testftp: "upload a test snapshot Test-Snapshot.jpeg") ----------------


def test_instar_test_snapshot_over_ftps_replaces_the_one_before(ftp_server, celery_worker, account, album) -> None:
    services.ftp_user_create(account=account, username="instar", password=PASSWORD)
    first, second = jpeg(size=(1280, 720), colour=(10, 200, 10)), jpeg(size=(1280, 720), colour=(200, 10, 10))
    for snapshot in (first, second):  # the "Test" button pressed twice: a session each, FTPS, PASV
        with ftps(ftp_server, "instar") as ftp:
            ftp.cwd(ALBUM)  # ft_dirname
            assert put(ftp, "Test-Snapshot.jpeg", snapshot).startswith("226")
    with ftps(ftp_server, "instar") as ftp:
        assert _listed(ftp, ALBUM) == ["Test-Snapshot.jpeg", *SECTIONS]
        assert ftp.size(f"{ALBUM}/Test-Snapshot.jpeg") == len(second)
        assert get(ftp, f"{ALBUM}/Test-Snapshot.jpeg") == second
    assert_photos({"Test-Snapshot.jpeg": second}, "ftps", uploads=2)


# --- UTF-8 names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("door", ["ftp", "ftps"])
def test_a_utf8_name_is_listed_and_becomes_a_photo_of_that_name(
    ftp_server, celery_worker, ftp_user, camera, album, door: str
) -> None:
    data = jpeg(size=(900, 600), colour=(250, 200, 20))
    session = ftps(ftp_server) if door == "ftps" else plain_ftp(ftp_server, "camera")
    with session as ftp:
        assert " UTF8" in ftp.sendcmd("FEAT").splitlines()
        assert ftp.sendcmd("OPTS UTF8 ON").startswith("200 ")
        ftp.cwd(ALBUM)
        put(ftp, "Müller.jpg", data)
        assert _listed(ftp) == ["Müller.jpg", *SECTIONS]
        assert dict(ftp.mlsd())["Müller.jpg"]["size"] == str(len(data))
        lines: list[str] = []
        ftp.retrlines("LIST", lines.append)
        assert any(line.endswith(" Müller.jpg") for line in lines), lines
        assert get(ftp, "Müller.jpg") == data
    assert_photos({"Müller.jpg": data}, door)
    assert Upload.objects.get().source_path == f"{ALBUM}/Müller.jpg"
