"""Real FTP and FTPS clients from Debian's packages (.ci/run installs them), as cameras and studios use
them: lftp (plain, explicit FTPS, implicit FTPS), curl (explicit and implicit FTPS, PASV and active
mode, --ftp-create-dirs), busybox ftpput (the FTP client inside many cameras), netkit ftp-ssl (like
OpenSSL-based firmware), ncftpput and rclone's FTP backend. Each uploads real JPEGs, one of about
4 MB, and the photos made of them must hold exactly the bytes sent."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from albums.models import Photo, Upload
from tests.conftest import PASSWORD
from tests.helpers import require_program, run_client, wait_for
from tests.images import jpeg, noisy_jpeg

JOB = "job00001"
ALBUM = "Klasse 4ä"


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "camera"
    folder.mkdir()
    files = {"IMG_0001.jpg": noisy_jpeg(), "Zoë Portrait.jpg": jpeg(size=(1600, 1200), colour=(20, 90, 200))}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


@pytest.fixture
def album_folder(ftp_user, planned_job):
    from albums import services as albums

    return albums.album_create(job=planned_job, name=ALBUM, ftp_user=ftp_user)


def assert_photos(pictures: dict[str, Path], door: str) -> None:
    """Every picture became a photo in the album, byte for byte, through that door."""
    wait_for(
        lambda: (
            Upload.objects.count() >= len(pictures)
            and not Upload.objects.filter(state__in=["received", "processing"]).exists()
        ),
        timeout=120,
    )
    for name, path in pictures.items():
        photo = Photo.objects.get(filename=name, album__name=ALBUM)
        with photo.original.open("rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest(), name
    assert set(Upload.objects.values_list("door", flat=True)) == {door}


def _lftp(server, user: str, url: str, settings_: list[str], commands: list[str], home: Path):
    preamble = ["set net:timeout 20", "set cmd:fail-exit yes", "set net:max-retries 1", "set ssl:verify-certificate no"]
    script = "; ".join([*preamble, *settings_, f'open -u "{user},{PASSWORD}" {url}', *commands])
    return run_client(["lftp", "-c", script], env={**os.environ, "HOME": str(home)}, timeout=120)


@pytest.mark.parametrize(
    ("mode", "door"),
    [("plain", "ftp"), ("explicit", "ftps"), ("explicit-active", "ftps"), ("implicit", "ftps")],
)
def test_lftp_uploads_over_ftp_and_both_ftps(
    mode: str, door: str, ftp_server, celery_worker, ftp_user, camera, album_folder, pictures, tmp_path: Path
) -> None:
    require_program("lftp", "lftp")
    explicit = f"ftp://127.0.0.1:{ftp_server.port}"
    tls = ["set ftp:ssl-force true", "set ftp:ssl-protect-data true"]
    user, url, opts = {
        "plain": ("camera", explicit, ["set ftp:ssl-allow no"]),
        "explicit": ("photographer", explicit, tls),
        "explicit-active": ("photographer", explicit, [*tls, "set ftp:passive-mode false"]),
        "implicit": ("photographer", f"ftps://127.0.0.1:{ftp_server.implicit_port}", ["set ftp:ssl-protect-data true"]),
    }[mode]
    puts = [f'put "{path}" -o "/{JOB}/{ALBUM}/{name}"' for name, path in pictures.items()]
    result = _lftp(
        ftp_server, user, url, ["set ftp:passive-mode true", *opts], [*puts, f'cls -1 "/{JOB}/{ALBUM}/"'], tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "IMG_0001.jpg" in result.stdout
    assert_photos(pictures, door)


@pytest.mark.parametrize(
    ("mode", "door"),
    [
        ("explicit-epsv", "ftps"),
        ("explicit-pasv", "ftps"),
        ("explicit-active", "ftps"),
        ("implicit", "ftps"),
        ("plain", "ftp"),
    ],
)
def test_curl_uploads_creating_the_album_folder(
    mode: str, door: str, ftp_server, celery_worker, ftp_user, camera, planned_job, pictures
) -> None:
    require_program("curl", "curl")
    scheme, port, user = (
        ("ftps", ftp_server.implicit_port, "photographer")
        if mode == "implicit"
        else ("ftp", ftp_server.port, "photographer")
    )
    flags = ["--ssl-reqd"] if mode.startswith("explicit") else []
    if mode.startswith("plain"):
        user = "camera"
    if mode == "explicit-pasv":
        flags.append("--disable-epsv")
    if mode == "plain-active":
        # Active mode: EPRT/PORT to the client's own address. (curl 7.88 speaks no TLS on an active
        # data connection it accepts, so active FTPS is tested with lftp and ftplib instead.)
        flags += ["-P", "127.0.0.1"]
    arguments = []
    for name, path in pictures.items():
        arguments += ["-T", str(path), f"{scheme}://127.0.0.1:{port}/{JOB}/{quote(ALBUM)}/{quote(name)}"]
    result = run_client(
        ["curl", "-sSv", "--insecure", "--ftp-create-dirs", *flags, "-u", f"{user}:{PASSWORD}", *arguments], timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert_photos(pictures, door)


def test_busybox_ftpput_uploads_as_a_camera_does(ftp_server, celery_worker, camera, album_folder, pictures) -> None:
    require_program("busybox", "busybox")
    for name, path in pictures.items():
        result = run_client(
            ["busybox", "ftpput", "-u", "camera", "-p", PASSWORD, "-P", str(ftp_server.port), "127.0.0.1",
             f"/{JOB}/{ALBUM}/{name}", str(path)]
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
    assert_photos(pictures, "ftp")


def test_ncftpput_uploads_into_the_album(ftp_server, celery_worker, camera, album_folder, pictures) -> None:
    require_program("ncftpput", "ncftp")
    result = run_client(
        ["ncftpput", "-u", "camera", "-p", PASSWORD, "-P", str(ftp_server.port), "-F", "127.0.0.1",
         f"/{JOB}/{ALBUM}", *map(str, pictures.values())]
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert_photos(pictures, "ftp")


def _ftp_ssl(server, pictures: dict[str, Path]):
    commands = [f'user photographer "{PASSWORD}"', "binary", f'cd "/{JOB}/{ALBUM}"']  # -p: passive
    commands += [f'put "{path}" "{name}"' for name, path in pictures.items()]
    commands.append("quit")
    return run_client(
        ["ftp-ssl", "-n", "-v", "-p", "-z", "secure", "-z", "verify=0", "127.0.0.1", str(server.port)],
        input="\n".join(commands) + "\n",
        timeout=120,
    )


def test_netkit_ftp_ssl_which_never_sends_close_notify_is_refused_by_default(
    ftp_server, ftp_user, album_folder, pictures
) -> None:
    require_program("ftp-ssl", "ftp-ssl")
    result = _ftp_ssl(ftp_server, pictures)
    # It closes each TLS data connection without close_notify: a cut connection looks the same.
    assert result.stdout.count("426 ") == len(pictures), result.stdout
    assert not Upload.objects.exists()


def test_netkit_ftp_ssl_uploads_where_the_operator_accepts_it(
    ftp_server, celery_worker, ftp_user, album_folder, pictures, settings
) -> None:
    require_program("ftp-ssl", "ftp-ssl")
    settings.FTPD_TLS_CLOSE_NOTIFY = "lenient"
    result = _ftp_ssl(ftp_server, pictures)
    assert result.stdout.count("226 ") == len(pictures), result.stdout
    assert_photos(pictures, "ftps")


def test_rclone_copies_over_explicit_ftps(
    ftp_server, celery_worker, ftp_user, album_folder, pictures, tmp_path: Path
) -> None:
    require_program("rclone", "rclone")
    env = {**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}
    obscured = run_client(["rclone", "obscure", PASSWORD], env=env).stdout.strip()
    remote = (
        f":ftp,host=127.0.0.1,port={ftp_server.port},user=photographer,pass={obscured},"
        f"explicit_tls=true,no_check_certificate=true:/{JOB}/{ALBUM}"
    )
    folder = next(iter(pictures.values())).parent
    result = run_client(
        ["rclone", "copy", "--retries", "1", "--low-level-retries", "1", "-v", str(folder), remote],
        env=env,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert_photos(pictures, "ftps")
