"""Real clients, and the exact request sequences of the ones we cannot run here.

Protocol quirks first (each measured against stock asyncssh): OPENDIR of a missing folder, rclone's
trailing bytes after a WRITE, curl's and lftp's MKDIR of every path component, file-type bits in
OPEN. Then OpenSSH ``sftp``, PuTTY ``psftp`` (the SSH core of WinSCP), ``lftp``, ``rclone`` and
``curl`` upload an album tree with spaces and non-ASCII names, and WinSCP's and FileZilla's request
sequences are replayed packet by packet; each ends as the right photos in the right sections.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
from pathlib import Path
from typing import cast
from urllib.parse import quote

import asyncssh
import pytest
from asyncssh.packet import String, UInt64
from asyncssh.sftp import FXP_OPENDIR, FXP_WRITE
from PIL import Image

from albums.models import Photo, Upload
from portal.connection import host_key_fingerprints
from tests.conftest import PASSWORD
from tests.helpers import SSH_OPTIONS, openssh_sftp, require_program, run_client, wait_for
from tests.images import jpeg
from tests.sftpd.conftest import db, refusal, request, run, sftp_session

ALBUM = "Klasse 4ä"
# (local path inside the album folder, expected folder, expected section)
TREE = {
    "Zoë Portrait.jpg": ("", "individuals"),
    "individuals/Müller Anna.jpg": ("individuals", "individuals"),
    "group/Gruppe 1 (Ost).jpg": ("group", "group"),
}


@pytest.fixture
def album_tree(tmp_path: Path) -> Path:
    """A local album folder as a photographer has it, with spaces and non-ASCII names."""
    root = tmp_path / "upload" / ALBUM
    for i, relative in enumerate(TREE):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg(size=(640, 480), colour=(40 * i, 90, 200 - 40 * i)))
    # One picture of a few hundred KB, so clients send many writes and a short last one (where
    # rclone 1.60 appends its stray bytes).
    noisy = io.BytesIO()
    Image.effect_noise((900, 700), 80).convert("RGB").save(noisy, "JPEG", quality=95)
    (root / "Zoë Portrait.jpg").write_bytes(noisy.getvalue())
    return root


def _assert_photos(album_tree: Path, album_name: str = ALBUM) -> None:
    """Every file of the tree became one photo in the right album, folder and section, byte for byte."""
    wait_for(
        lambda: (
            Upload.objects.count() >= len(TREE)
            and not Upload.objects.filter(state__in=["received", "processing"]).exists()
        ),
        timeout=60,
    )
    photos = {(p.album.name, p.folder, p.section, p.filename): p for p in Photo.objects.select_related("album")}
    expected = {
        (album_name, folder, section, Path(relative).name): relative for relative, (folder, section) in TREE.items()
    }
    assert set(photos) == set(expected), Upload.objects.values_list("filename", "state", "reason")
    for key, relative in expected.items():
        with photos[key].original.open("rb") as f:
            assert f.read() == (album_tree / relative).read_bytes()


# --- protocol quirks --------------------------------------------------------------------------


def test_opendir_of_a_missing_folder_fails_at_opendir_not_at_readdir(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[asyncssh.SFTPError, bytes]:
        async with sftp_session(sftp_server.port) as sftp:
            missing = await refusal(request(sftp, FXP_OPENDIR, String("/job00001/No Such Album")))
            handle = await request(sftp, FXP_OPENDIR, String("/job00001/Class 1"))
            await sftp._handler.close(handle)
            return missing, handle

    missing, handle = run(scenario)
    assert isinstance(missing, asyncssh.SFTPNoSuchFile)
    assert missing.reason == "There is no album folder named 'No Such Album' in job00001."
    assert handle


def test_a_write_with_trailing_bytes_is_accepted_as_openssh_does(sftp_server, ftp_user, album) -> None:
    async def scenario() -> bytes:
        async with sftp_session(sftp_server.port) as sftp:
            f = await sftp.open("/job00001/Class 1/rclone.jpg", "wb")
            handle = f._handle
            assert handle is not None  # an open file has its handle
            # rclone 1.60's last short WRITE: the data, then bytes that belong to no field.
            await request(sftp, FXP_WRITE, String(handle), UInt64(0), String(b"photo bytes"), b"\x00" * 7)
            await f.close()
            async with sftp.open("/job00001/Class 1/rclone.jpg", "rb") as back:
                return await back.read()

    assert run(scenario) == b"photo bytes"


def test_mkdir_of_every_path_component_from_the_top_answers_at_once(sftp_server, ftp_user, planned_job) -> None:
    # curl --ftp-create-dirs and lftp mirror make every folder of the target path, from "/".
    async def scenario() -> list[object]:
        async with sftp_session(sftp_server.port) as sftp:
            results: list[object] = []
            for path in ("/", "/job00001", "/job00001/Neu 1", "/job00001/Neu 1/group", "/job00001/Neu 1"):
                try:
                    await sftp.mkdir(path)
                    results.append("ok")
                except asyncssh.SFTPError as exc:
                    results.append(exc)
            return results

    top, job, album, group, again = run(scenario)
    assert isinstance(top, asyncssh.SFTPPermissionDenied)
    assert "already exists" in cast(asyncssh.SFTPError, job).reason
    assert (album, group) == ("ok", "ok")
    assert "already exists" in cast(asyncssh.SFTPError, again).reason


def test_open_with_file_type_bits_in_the_permissions_works(sftp_server, ftp_user, album) -> None:
    # psftp and curl send S_IFREG | 0644 in OPEN's attributes.
    attrs = asyncssh.SFTPAttrs(permissions=stat.S_IFREG | 0o644)

    async def scenario() -> bytes:
        async with sftp_session(sftp_server.port) as sftp:
            pflags = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
            handle = await sftp._handler.open(b"/job00001/Class 1/typed.jpg", pflags, attrs)
            await sftp._handler.write(handle, 0, b"typed")
            await sftp._handler.close(handle)
            async with sftp.open("/job00001/Class 1/typed.jpg", "rb") as f:
                return await f.read()

    assert run(scenario) == b"typed"


# --- real clients -------------------------------------------------------------------------------


def test_openssh_scp_which_speaks_sftp_uploads_and_ends_with_success(
    sftp_server, ftp_user, album, askpass, tmp_path: Path
) -> None:
    # scp counts a session that ends without an exit status as failed, as stock asyncssh ends it.
    photo = tmp_path / "Zoë.jpg"
    photo.write_bytes(jpeg())
    result = run_client(
        ["scp", *SSH_OPTIONS, "-P", str(sftp_server.port), str(photo), "photographer@127.0.0.1:/job00001/Class 1/"],
        env=askpass,
    )
    assert result.returncode == 0, result.stderr
    upload = Upload.objects.get()
    assert (upload.filename, upload.size) == ("Zoë.jpg", photo.stat().st_size)


def test_openssh_sftp_uploads_an_album_tree(
    sftp_server, celery_worker, ftp_user, planned_job, askpass, album_tree: Path
) -> None:
    result = openssh_sftp(
        sftp_server.port,
        ftp_user.username,
        f'cd /job00001\nput -r "{album_tree}"\nls -l "{ALBUM}/group"\n',
        askpass,
    )
    assert result.returncode == 0, result.stderr
    assert "Gruppe 1 (Ost).jpg" in result.stdout
    _assert_photos(album_tree)


def test_psftp_uploads_an_album_tree(sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path) -> None:
    require_program("psftp", "putty-tools")
    ed25519 = next(fp for fp in host_key_fingerprints() if "ed25519" in fp.algorithm)
    script = [f'cd /job00001\nmkdir "{ALBUM}"\ncd "{ALBUM}"']
    for relative in TREE:
        script.append(f'put "{album_tree / relative}" "{relative}"')
    script.append("ls group")
    login = ["-P", str(sftp_server.port), "-l", ftp_user.username, "-pw", PASSWORD, "-hostkey", ed25519.sha256]
    result = run_client(["psftp", "-batch", *login, "-b", "/dev/stdin", "127.0.0.1"], input="\n".join(script) + "\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Gruppe 1 (Ost).jpg" in result.stdout
    _assert_photos(album_tree)


def test_lftp_mirrors_an_album_tree(sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path) -> None:
    require_program("lftp", "lftp")
    ssh = "ssh -a -x " + " ".join(SSH_OPTIONS[:6])  # no host key prompt, quiet
    commands = "; ".join(
        [
            "set cmd:fail-exit yes",
            "set net:max-retries 1",
            "set sftp:auto-confirm yes",
            f'set sftp:connect-program "{ssh}"',
            f'open -u "{ftp_user.username},{PASSWORD}" -p {sftp_server.port} sftp://127.0.0.1',
            f'mirror -R --no-perms "{album_tree}" "/job00001/{ALBUM}"',
            f'cls -1 "/job00001/{ALBUM}/group/"',
        ]
    )

    def mirror() -> subprocess.CompletedProcess[str]:
        return run_client(["lftp", "-c", commands], env={**os.environ, "HOME": str(album_tree.parent)}, timeout=90)

    result = mirror()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Gruppe 1 (Ost).jpg" in result.stdout
    _assert_photos(album_tree)
    # A corrected picture: lftp deletes the old file, then uploads the new one; the photo follows.
    before = Photo.objects.get(filename="Zoë Portrait.jpg")
    (album_tree / "Zoë Portrait.jpg").write_bytes(jpeg(size=(800, 600), colour=(1, 2, 3)))
    result = mirror()
    assert result.returncode == 0, result.stdout + result.stderr
    wait_for(lambda: Photo.objects.filter(filename="Zoë Portrait.jpg", width=800).exists(), timeout=60)
    _assert_photos(album_tree)
    assert Photo.objects.get(filename="Zoë Portrait.jpg").sha256 != before.sha256


def test_rclone_copies_an_album_tree(
    sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path, tmp_path: Path
) -> None:
    require_program("rclone", "rclone")
    env = {**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}
    obscured = run_client(["rclone", "obscure", PASSWORD], env=env).stdout.strip()
    remote = f":sftp,host=127.0.0.1,port={sftp_server.port},user={ftp_user.username},pass={obscured}:/job00001"
    # rclone probes with exec (md5sum, sha1sum, echo) and writes over several connections at once.
    result = run_client(
        ["rclone", "copy", "--retries", "1", "--low-level-retries", "1", "-v", str(album_tree.parent), remote],
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    _assert_photos(album_tree)


def test_curl_uploads_into_a_new_album_creating_every_folder(
    sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path
) -> None:
    require_program("curl", "curl")
    if "sftp" not in run_client(["curl", "-V"]).stdout.split("Protocols:")[-1]:
        pytest.skip("this curl is built without SFTP support")
    arguments = []
    for relative in TREE:
        url = f"sftp://127.0.0.1:{sftp_server.port}/job00001/{quote(ALBUM)}/{quote(relative)}"
        arguments += ["-T", str(album_tree / relative), url]
    result = run_client(
        ["curl", "-sS", "--insecure", "--ftp-create-dirs", "-u", f"{ftp_user.username}:{PASSWORD}", *arguments]
    )
    assert result.returncode == 0, result.stderr
    _assert_photos(album_tree)


# --- replayed request sequences -----------------------------------------------------------------


def test_winscp_sequence_filepart_fsetstat_rename_and_delete_then_rename(
    sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path
) -> None:
    mtime = 1_600_000_000
    newer = jpeg(size=(640, 480), colour=(250, 250, 10))

    async def upload(sftp: asyncssh.SFTPClient, local: bytes, remote: str) -> None:
        h = sftp._handler
        part = f"{remote}.filepart".encode()
        pflags = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
        handle = await h.open(part, pflags, asyncssh.SFTPAttrs())
        for start in range(0, len(local), 32768):
            await h.write(handle, start, local[start : start + 32768])
        await h.fsetstat(handle, asyncssh.SFTPAttrs(atime=mtime, mtime=mtime))
        await h.close(handle)
        try:
            await h.stat(remote.encode(), 0)
            exists = True
        except asyncssh.SFTPNoSuchFile:
            exists = False
        if exists:  # WinSCP deletes the target first, then renames (servers that refuse to overwrite)
            await h.remove(remote.encode())
        await h.rename(part, remote.encode(), 0)

    async def scenario() -> list[asyncssh.SFTPName]:
        async with sftp_session(sftp_server.port, sftp_version=6) as sftp:  # WinSCP offers 6, gets 3
            h = sftp._handler
            await h.realpath(b".")
            await h.mkdir(f"/job00001/{ALBUM}".encode(), asyncssh.SFTPAttrs())
            for relative in TREE:
                await upload(sftp, (album_tree / relative).read_bytes(), f"/job00001/{ALBUM}/{relative}")
            await sftp_wait_processed()
            # The photographer uploads a corrected portrait: same name, new bytes.
            await upload(sftp, newer, f"/job00001/{ALBUM}/Zoë Portrait.jpg")
            return list(await sftp.readdir(f"/job00001/{ALBUM}"))

    async def sftp_wait_processed() -> None:
        await db(_assert_photos, album_tree)

    # Names come back as str from the client (a str path) and as bytes from its handler.
    listing = {cast(str, n.filename): n.attrs for n in run(scenario)}
    assert listing["Zoë Portrait.jpg"].mtime == mtime
    assert not [name for name in listing if name.endswith(".filepart")]
    (album_tree / "Zoë Portrait.jpg").write_bytes(newer)  # what the album must now hold
    wait_for(lambda: not Upload.objects.filter(state__in=["received", "processing"]).exists(), timeout=60)
    _assert_photos(album_tree)
    assert Photo.objects.count() == len(TREE)  # replaced, not duplicated


def test_filezilla_sequence_realpath_list_mkdir_upload_setstat_list(
    sftp_server, celery_worker, ftp_user, planned_job, album_tree: Path
) -> None:
    mtime = 1_650_000_000

    async def listdir(h: asyncssh.sftp.SFTPClientHandler, path: str) -> list[str]:
        handle = await h.opendir(path.encode())
        names: list[str] = []
        try:
            while True:
                batch, _ = await h.readdir(handle)
                names += [cast(bytes, n.filename).decode() for n in batch]
        except asyncssh.SFTPEOFError:
            pass
        await h.close(handle)
        return names

    async def scenario() -> tuple[str, list[str], list[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            h = sftp._handler
            home = cast(bytes, (await h.realpath(b"."))[0][0].filename).decode()
            top = await listdir(h, "/job00001")
            folder = f"/job00001/{ALBUM}"
            for sub in ("", "/individuals", "/group"):
                try:  # FileZilla decides from OPENDIR whether the folder must be made
                    await listdir(h, folder + sub)
                except asyncssh.SFTPNoSuchFile:
                    await h.mkdir((folder + sub).encode(), asyncssh.SFTPAttrs())
            for relative in TREE:
                remote = f"{folder}/{relative}".encode()
                pflags = asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC
                handle = await h.open(remote, pflags, asyncssh.SFTPAttrs())
                data = (album_tree / relative).read_bytes()
                for start in range(0, len(data), 32768):
                    await h.write(handle, start, data[start : start + 32768])
                await h.close(handle)
                await h.setstat(remote, asyncssh.SFTPAttrs(atime=mtime, mtime=mtime))
            return home, top, await listdir(h, folder + "/group")

    home, top, group = run(scenario)
    assert home == "/" and top == []
    assert "Gruppe 1 (Ost).jpg" in group
    _assert_photos(album_tree)
    assert all(p.uploaded_by_id == ftp_user.pk for p in Photo.objects.all())
