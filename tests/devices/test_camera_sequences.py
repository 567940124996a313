"""Each camera family's exact upload sequence, replayed over the real doors with real clients
(DESIGN §9, ../shared/reference/): AXIS, MOBOTIX, INSTAR over FTPS and sFTP. Each asserts the photos
(byte for byte), the tests recognised and the health figures."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import asyncssh
import pytest
from django.conf import settings

from albums.models import Photo, Upload
from devices import selectors
from devices import services as device_services
from devices.models import Device
from jobs import services
from jobs.models import Account, PhotoJob
from tests.conftest import PASSWORD, RunningFTPServer, RunningServer
from tests.helpers import require_program, run_client, wait_for
from tests.images import WILLFINE_IMEI, WILLFINE_POSITION, encode, jpeg, padded, picture, willfine_exif, willfine_report

pytestmark = pytest.mark.django_db(transaction=True)


def _camera(account: Account, job: PhotoJob, name: str, profile: str, *, plain: bool = False) -> Device:
    return device_services.device_create(
        account=account, username=name, password=PASSWORD, job=job, album_name=f"{name} album",
        profile=profile, allow_plain_ftp=plain,
    )  # fmt: skip


def _pictures(folder: Path, names: list[str]) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for i, name in enumerate(names):
        made[name] = jpeg(size=(640 + 16 * i, 480), colour=(30 * i % 255, 80, 160))
        (folder / name).write_bytes(made[name])
    return made


def _settled(device: Device, count: int) -> list[Upload]:
    def done() -> list[Upload] | None:
        rows = list(Upload.objects.filter(ftp_user=device.ftp_user).order_by("pk"))
        pending = any(u.state in ("received", "processing") for u in rows)
        return rows if len(rows) >= count and not pending else None

    return wait_for(done, timeout=120)


def _photo_hashes(device: Device) -> set[str]:
    hashes = set()
    for photo in Photo.objects.filter(album=device.album):
        with photo.original.open("rb") as f:
            hashes.add(hashlib.sha256(f.read()).hexdigest())
    return hashes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_axis_plain_ftp_passive_with_its_test_file_and_timestamped_names(
    ftp_server: RunningFTPServer, celery_worker, account: Account, planned_job: PhotoJob, tmp_path: Path
) -> None:
    """AXIS Image-to-FTP: plain FTP, passive only, one connection per file, DD.MM.YYYY_HH_MM_SS.mmm.jpg."""
    require_program("curl", "curl")
    device = _camera(account, planned_job, "axis-gate", "axis", plain=True)
    names = ["test.jpg", "02.12.2026_09_30_00.123.jpg", "02.12.2026_09_30_01.456.jpg"]
    pictures = _pictures(tmp_path / "axis", names)
    for name in names:
        result = run_client(
            ["curl", "-sS", "--disable-epsv", "--ftp-pasv", "-u", f"axis-gate:{PASSWORD}",
             "-T", str(tmp_path / "axis" / name), f"ftp://127.0.0.1:{ftp_server.port}/"],
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    _settled(device, 2)
    assert _photo_hashes(device) == {_sha(pictures[n]) for n in names[1:]}
    device.refresh_from_db()
    assert device.last_test_name == "test.jpg"
    health = selectors.health(device)
    assert health.uploads_today == 2 and health.rejections_today == 0 and health.last_connection_at is not None


def test_mobotix_temporary_name_delete_and_rename_into_dated_folders_in_one_session(
    ftp_server: RunningFTPServer, celery_worker, account: Account, planned_job: PhotoJob, tmp_path: Path
) -> None:
    """MOBOTIX: CameraName/YYYY/MM/DD/hh made on the fly, STOR to mx<serial>, DELE target, RNFR/RNTO."""
    require_program("lftp", "lftp")
    device = _camera(account, planned_job, "mx-hall", "mobotix")
    pictures = _pictures(tmp_path / "mx", [f"frame{i}.jpg" for i in range(4)])
    commands = []
    for i, name in enumerate(pictures):
        folder = f"/Hall/2026/12/02/{9 + i // 2:02d}"
        commands += [f"mkdir -p -f {folder}", f"put {tmp_path / 'mx' / name} -o {folder}/mx0108e702",
                     f"rm -f {folder}/current.jpg", f"mv {folder}/mx0108e702 {folder}/current.jpg"]  # fmt: skip
    script = "; ".join([
        "set net:timeout 20", "set cmd:fail-exit yes", "set net:max-retries 1", "set ssl:verify-certificate no",
        "set ftp:ssl-force true", "set ftp:ssl-protect-data true", "set ftp:passive-mode true",
        f'open -u "mx-hall,{PASSWORD}" ftp://127.0.0.1:{ftp_server.port}', *commands, "cls -1 /Hall/2026/12/02/",
    ])  # fmt: skip
    result = run_client(["lftp", "-c", script], env={**os.environ, "HOME": str(tmp_path)}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["/Hall/2026/12/02/09/", "/Hall/2026/12/02/10/"]
    uploads = _settled(device, 4)
    assert [u.source_path for u in uploads] == [f"/Hall/2026/12/02/{h}/current.jpg" for h in ("09", "09", "10", "10")]
    assert _photo_hashes(device) == {_sha(data) for data in pictures.values()}  # four photos, none replaced
    assert Photo.objects.filter(album=device.album).count() == 4


def test_instar_ftps_daily_folder_and_its_test_snapshot(
    ftp_server: RunningFTPServer, celery_worker, account: Account, planned_job: PhotoJob, tmp_path: Path
) -> None:
    """INSTAR over FTPS (ft_ssl=1, ft_dirmode=1, ft_autocreatedir=1): the Test button, then the daily folder."""
    require_program("curl", "curl")
    device = _camera(account, planned_job, "instar-yard", "instar")
    pictures = _pictures(tmp_path / "instar", ["Test-Snapshot.jpeg", "A_2026-12-02_16-04-05.jpeg"])
    base = ["curl", "-sS", "--ssl-reqd", "-k", "--ftp-create-dirs", "-u", f"instar-yard:{PASSWORD}"]
    test = run_client([*base, "-T", str(tmp_path / "instar" / "Test-Snapshot.jpeg"),
                       f"ftp://127.0.0.1:{ftp_server.port}/"])  # fmt: skip
    assert test.returncode == 0, test.stderr
    shot = run_client([*base, "-T", str(tmp_path / "instar" / "A_2026-12-02_16-04-05.jpeg"),
                       f"ftp://127.0.0.1:{ftp_server.port}/20261202/"])  # fmt: skip
    assert shot.returncode == 0, shot.stderr
    [upload] = _settled(device, 1)
    assert upload.state == "done" and upload.source_path == "/20261202/A_2026-12-02_16-04-05.jpeg"
    assert _photo_hashes(device) == {_sha(pictures["A_2026-12-02_16-04-05.jpeg"])}
    device.refresh_from_db()
    assert device.last_test_name == "Test-Snapshot.jpeg" and device.last_test_address == "127.0.0.1"


def test_instar_sftp_with_the_cameras_rsa_key_and_the_pinned_host_key(
    sftp_server: RunningServer, celery_worker, account: Account, planned_job: PhotoJob, tmp_path: Path
) -> None:
    """INSTAR 2K+ sFTP (ft_ssl=2, ft_insecure=0): the camera's own RSA key, the server's host key pinned."""
    require_program("sftp", "openssh-client")
    device = _camera(account, planned_job, "instar-sftp", "instar")
    key = asyncssh.generate_private_key("ssh-rsa", key_size=2048, comment="instar-camera")
    key_file = tmp_path / "camera_rsa"
    key_file.write_bytes(key.export_private_key("openssh"))
    key_file.chmod(0o600)
    services.ssh_key_add(ftp_user=device.ftp_user, public_key=key.export_public_key().decode())
    host_key = (Path(settings.SFTPD_HOST_KEY_DIR) / "ssh_host_ed25519_key.pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {host_key[0]} {host_key[1]}\n")
    pictures = _pictures(tmp_path / "sftp", ["A_2026-12-02_08-00-00.jpeg"])
    commands = f"mkdir 20261202\nput {tmp_path / 'sftp' / 'A_2026-12-02_08-00-00.jpeg'} 20261202/\nls 20261202\n"
    result = run_client(
        ["sftp", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}", "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-i", str(key_file), "-P", str(sftp_server.port), "-b", "-",
         "instar-sftp@127.0.0.1"],
        input=commands,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "A_2026-12-02_08-00-00.jpeg" in result.stdout
    [upload] = _settled(device, 1)
    assert upload.door == "sftp" and upload.source_path == "/20261202/A_2026-12-02_08-00-00.jpeg"
    assert _photo_hashes(device) == {_sha(pictures["A_2026-12-02_08-00-00.jpeg"])}


def test_camera_trap_over_implicit_ftps_photos_rejections_and_its_daily_report(
    ftp_server: RunningFTPServer, celery_worker, account: Account, planned_job: PhotoJob, tmp_path: Path
) -> None:
    """A Willfine 4.0T CG trap: implicit FTPS, JPEGs with and without GPS, a daily report, an 11 MB file."""
    require_program("curl", "curl")
    device = _camera(account, planned_job, "trap-07", "camera-trap")
    folder = tmp_path / "trap"
    folder.mkdir()
    good = encode(picture(size=(1280, 960)), "JPEG", exif=willfine_exif())
    files = {
        "IMG_0001.JPG": good,
        "IMG_0002.JPG": encode(picture(size=(1280, 960)), "JPEG", exif=willfine_exif(position=None)),
        "IMG_0003.JPG": padded(encode(picture(size=(800, 600)), "JPEG", exif=willfine_exif()), 11 * 1024 * 1024),
        f"{WILLFINE_IMEI}-05122025154647-dr.txt": willfine_report(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    for name in files:  # one connection per file, as the trap does after each trigger
        result = run_client(
            ["curl", "-sS", "-k", "--ftp-pasv", "-u", f"trap-07:{PASSWORD}", "-T", str(folder / name),
             f"ftps://127.0.0.1:{ftp_server.implicit_port}/"],
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    uploads = {u.filename: u for u in _settled(device, 4)}
    assert uploads["IMG_0001.JPG"].state == "done"
    photo = Photo.objects.get(album=device.album)
    assert _photo_hashes(device) == {_sha(good)}
    assert photo.camera_id == WILLFINE_IMEI and photo.gps_latitude == pytest.approx(WILLFINE_POSITION[0], abs=1e-4)
    assert photo.taken_at is not None
    assert uploads["IMG_0002.JPG"].state == "rejected"
    assert "no GPS position in the image; this camera's profile requires one" in uploads["IMG_0002.JPG"].reason
    assert uploads["IMG_0003.JPG"].state == "rejected" and "10 MB" in uploads["IMG_0003.JPG"].reason
    report = uploads[f"{WILLFINE_IMEI}-05122025154647-dr.txt"]
    assert (report.state, report.reason, report.photo_id) == ("done", "status report", None)

    device.refresh_from_db()
    assert device.status and device.status_at is not None
    health = selectors.health(device)
    assert health.uploads_today == 4 and health.rejections_today == 2
