"""The photographer is told over SFTP (DESIGN §12): the login banner and an album's REJECTED.txt.

Real clients against the real listener: OpenSSH ``sftp`` prints the authentication banner (on
stderr), asyncssh receives it, reads and deletes REJECTED.txt, and ``rclone copy`` and ``lftp mirror
-R`` upload into an album that holds one. Rejections are real: the upload goes through the door and
the worker's own code (``albums.intake.upload_process``) rejects it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import asyncssh
import pytest

from albums import intake
from albums.models import Upload
from jobs import services
from jobs.models import FTPUser
from tests.conftest import PASSWORD
from tests.helpers import connect, require_program, run_client
from tests.images import jpeg
from tests.sftpd.conftest import refusal, run, sftp_session

ALBUM = "/job00001/Class 1"
NOTICE = f"{ALBUM}/REJECTED.txt"
BANNER_START = "upload was rejected in the last 24 hours"
# As tests.helpers.SSH_OPTIONS, but at LogLevel INFO: OpenSSH prints a banner only from INFO up.
SSH_OPTIONS = [
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=INFO",
    "-o", "BatchMode=no",
    "-o", "PubkeyAuthentication=no",
    "-o", "PreferredAuthentications=password",
    "-o", "NumberOfPasswordPrompts=1",
]  # fmt: skip


def process_all(queued: list[int]) -> None:
    """Run the worker's own processing on what the door queued."""
    while queued:
        intake.upload_process(upload_id=queued.pop(0), token=intake.new_token())


def upload(port: int, name: str, data: bytes, queued: list[int], username: str = "photographer") -> None:
    async def scenario() -> None:
        async with sftp_session(port, username) as sftp, sftp.open(f"{ALBUM}/{name}", "wb") as f:
            await f.write(data)

    run(scenario)
    process_all(queued)


def openssh_sftp(port: int, username: str, commands: str, askpass: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_client(
        ["sftp", *SSH_OPTIONS, "-P", str(port), "-b", "-", f"{username}@127.0.0.1"], input=commands, env=askpass
    )


class BannerClient(asyncssh.SSHClient):
    def __init__(self) -> None:
        self.banners: list[str] = []

    def auth_banner_received(self, msg: str, lang: str) -> None:
        self.banners.append(msg)


async def banners(
    port: int, *, password: str | None = None, client_keys: list[asyncssh.SSHKey] | None = None
) -> list[str]:
    """The banners an asyncssh client is shown on its way in (its login must succeed)."""
    client = BannerClient()
    async with (
        connect(port, "photographer", password, client_keys=client_keys, client_factory=lambda: client) as conn,
        conn.start_sftp_client() as sftp,
    ):
        await sftp.listdir("/")
    return client.banners


def test_openssh_sftp_shows_the_rejections_of_the_last_day_at_login(
    sftp_server, ftp_user, album, queued, askpass
) -> None:
    quiet = openssh_sftp(sftp_server.port, ftp_user.username, "ls /\n", askpass)
    assert quiet.returncode == 0, quiet.stderr
    assert "rejected" not in quiet.stderr  # nothing to tell: no banner at all

    upload(sftp_server.port, "notes.jpg", b"a shopping list", queued)
    reason = Upload.objects.get().reason
    result = openssh_sftp(sftp_server.port, ftp_user.username, "ls /\n", askpass)
    assert result.returncode == 0, result.stderr
    assert f"1 {BANNER_START}:" in result.stderr
    assert f"- job00001/Class 1/notes.jpg: {reason}" in result.stderr
    assert "REJECTED.txt" in result.stderr


def test_the_banner_comes_only_with_a_proven_login_password_or_key(sftp_server, ftp_user, album, queued) -> None:
    upload(sftp_server.port, "notes.jpg", b"a shopping list", queued)
    key = asyncssh.generate_private_key("ssh-ed25519")
    services.ssh_key_add(ftp_user=ftp_user, public_key=key.export_public_key("openssh").decode())

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        by_password = await banners(sftp_server.port, password=PASSWORD)
        by_key = await banners(sftp_server.port, client_keys=[key])
        wrong = BannerClient()
        with pytest.raises(asyncssh.PermissionDenied):
            async with connect(sftp_server.port, "photographer", "wrong password", client_factory=lambda: wrong):
                pass
        return by_password, by_key, wrong.banners

    by_password, by_key, wrong = run(scenario)
    assert len(by_password) == 1 and BANNER_START in by_password[0] and "notes.jpg" in by_password[0]
    assert by_key == by_password
    assert wrong == []  # a wrong password learns nothing


def test_rejected_txt_is_read_refused_for_writes_deleted_to_acknowledge_and_comes_back(
    sftp_server, ftp_user, album, queued
) -> None:
    upload(sftp_server.port, "notes.jpg", b"a shopping list", queued)
    reason = Upload.objects.get().reason

    async def read_and_delete() -> tuple[Sequence[str], bytes, int, list[str], Sequence[str]]:
        async with sftp_session(sftp_server.port) as sftp:
            listed = await sftp.listdir(ALBUM)
            async with sftp.open(NOTICE, "rb") as f:
                text = cast(bytes, await f.read())
            size = (await sftp.stat(NOTICE)).size or 0
            errors = [
                (await refusal(sftp.open(NOTICE, "wb"))).reason,
                (await refusal(sftp.rename(NOTICE, f"{ALBUM}/read.txt"))).reason,
            ]
            await sftp.remove(NOTICE)
            return listed, text, size, errors, await sftp.listdir(ALBUM)

    listed, text, size, errors, after = run(read_and_delete)
    assert "REJECTED.txt" in listed and "notes.jpg" in listed
    assert b"notes.jpg" in text and reason.encode() in text and size == len(text)
    assert all("REJECTED.txt is written by the server and cannot be changed" in e for e in errors)
    assert "REJECTED.txt" not in after
    assert Upload.objects.get().acknowledged_at is not None

    upload(sftp_server.port, "later.jpg", b"no picture either", queued)

    async def again() -> bytes:
        async with sftp_session(sftp_server.port) as sftp, sftp.open(NOTICE, "rb") as f:
            return await f.read()

    text = run(again)
    assert b"later.jpg" in text and b"notes.jpg" not in text
    assert Upload.objects.count() == 2  # REJECTED.txt never became an upload


def test_a_device_sees_neither_unless_its_owner_turns_notices_on(
    sftp_server, account, planned_job, queued, tmp_path: Path
) -> None:
    from devices import services as device_services

    device = device_services.device_create(
        account=account, username="cam1", job=planned_job, album_name="Yard", password=PASSWORD
    )

    async def camera() -> tuple[list[str], Sequence[str]]:
        client = BannerClient()
        async with (
            connect(sftp_server.port, "cam1", PASSWORD, client_factory=lambda: client) as conn,
            conn.start_sftp_client() as sftp,
        ):
            listed = await sftp.listdir("/")
            async with sftp.open(f"/broken{len(listed)}.jpg", "wb") as f:
                await f.write(b"half a picture")
            return client.banners, listed

    run(camera)
    process_all(queued)
    assert Upload.objects.get().state == "rejected"
    banners_seen, listed = run(camera)
    process_all(queued)
    assert banners_seen == [] and listed == ["broken0.jpg"]

    services.ftp_user_set_rejection_notices(ftp_user=FTPUser.objects.get(pk=device.ftp_user_id), enabled=True)
    banners_seen, listed = run(camera)
    assert len(banners_seen) == 1 and "broken0.jpg" in banners_seen[0] and "broken1.jpg" in banners_seen[0]
    assert sorted(listed) == ["REJECTED.txt", "broken0.jpg", "broken1.jpg"]


# --- mirroring clients with REJECTED.txt present -------------------------------------------------


@pytest.fixture
def local_album(tmp_path: Path) -> Path:
    folder = tmp_path / "local" / "Class 1"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"photo{i}.jpg").write_bytes(jpeg(colour=(60 * i, 80, 120)))
    return folder


def test_rclone_copy_into_an_album_with_rejected_txt_succeeds_and_leaves_it_alone(
    sftp_server, ftp_user, album, queued, local_album: Path, tmp_path: Path
) -> None:
    require_program("rclone", "rclone")
    upload(sftp_server.port, "notes.jpg", b"a shopping list", queued)
    env = {**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}
    obscured = run_client(["rclone", "obscure", PASSWORD], env=env).stdout.strip()
    remote = f":sftp,host=127.0.0.1,port={sftp_server.port},user={ftp_user.username},pass={obscured}:{ALBUM}"
    command = ["rclone", "copy", "--retries", "1", "--low-level-retries", "1", "-v", str(local_album), remote]
    for _ in range(2):  # the second run finds everything in place and copies nothing
        result = run_client(command, env=env, timeout=90)
        assert result.returncode == 0, result.stderr
        process_all(queued)
    assert "There was nothing to transfer" in result.stderr or "Transferred:   \t          0 / 0" in result.stderr
    names = set(Upload.objects.values_list("filename", flat=True))
    assert names == {"notes.jpg", "photo0.jpg", "photo1.jpg", "photo2.jpg"}
    assert Upload.objects.filter(acknowledged_at__isnull=True, state="rejected").count() == 1


def test_lftp_mirror_into_an_album_with_rejected_txt_succeeds(
    sftp_server, ftp_user, album, queued, local_album: Path
) -> None:
    require_program("lftp", "lftp")
    upload(sftp_server.port, "notes.jpg", b"a shopping list", queued)
    ssh = "ssh -a -x " + " ".join(SSH_OPTIONS[:4]) + " -o LogLevel=ERROR"
    commands = "; ".join(
        [
            "set cmd:fail-exit yes",
            "set net:max-retries 1",
            "set sftp:auto-confirm yes",
            f'set sftp:connect-program "{ssh}"',
            f'open -u "{ftp_user.username},{PASSWORD}" -p {sftp_server.port} sftp://127.0.0.1',
            f'mirror -R --no-perms "{local_album}" "{ALBUM}"',
            f'mirror -R --no-perms "{local_album}" "{ALBUM}"',  # again: nothing to do
            f'cls -1 "{ALBUM}/"',
        ]
    )
    result = run_client(["lftp", "-c", commands], env={**os.environ, "HOME": str(local_album.parent)}, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REJECTED.txt" in result.stdout and "photo2.jpg" in result.stdout
    assert Upload.objects.count() == 4
