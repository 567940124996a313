"""The photographer is told over FTP and FTPS (DESIGN §12): the ``230`` reply and an album's REJECTED.txt.

Real clients against the real listeners: ftplib and lftp read the ``230`` text; ftplib lists, reads
and deletes REJECTED.txt; lftp's ``mirror -R`` and ``rclone copy`` upload into an album that holds
one. Rejections are real: the upload goes through the door and the worker's own code
(``albums.intake.upload_process``) rejects it.
"""

from __future__ import annotations

import ftplib
import os
from pathlib import Path

import pytest

from albums import intake
from albums.models import Upload
from jobs import services
from jobs.models import FTPUser
from tests.conftest import PASSWORD
from tests.ftpd.conftest import get, put, refusal, tls_context
from tests.helpers import require_program, run_client
from tests.images import jpeg

ALBUM = "/job00001/Class 1"
NOTICE = f"{ALBUM}/REJECTED.txt"
BANNER_START = "rejected in the last 24 hours"


def process_all(queued: list[int]) -> None:
    while queued:
        intake.upload_process(upload_id=queued.pop(0), token=intake.new_token())


def login(server, username: str = "photographer", *, plain: bool = False) -> tuple[ftplib.FTP, str]:
    """A logged-in client (explicit FTPS unless ``plain``) and the server's whole 230 reply."""
    client: ftplib.FTP = (
        ftplib.FTP(encoding="utf-8") if plain else ftplib.FTP_TLS(context=tls_context(), encoding="utf-8")
    )
    client.connect(server.host, server.port, timeout=30)
    if isinstance(client, ftplib.FTP_TLS):
        client.auth()
    reply = client.login(username, PASSWORD)
    if isinstance(client, ftplib.FTP_TLS):
        client.prot_p()
    return client, reply


def upload(server, name: str, data: bytes, queued: list[int]) -> None:
    client, _ = login(server)
    put(client, f"{ALBUM}/{name}", data)
    client.quit()
    process_all(queued)


def test_the_230_reply_lists_the_rejections_of_the_last_day(ftp_server, ftp_user, album, queued) -> None:
    client, quiet = login(ftp_server)
    client.quit()
    assert quiet.startswith("230 ") and "\n" not in quiet  # nothing to tell: the one usual line

    upload(ftp_server, "notes.jpg", b"a shopping list", queued)
    reason = Upload.objects.get().reason
    client, reply = login(ftp_server)
    client.quit()
    lines = reply.split("\n")
    assert lines[0] == "230-1 upload was rejected in the last 24 hours:"
    assert lines[1].startswith(f"230-- job00001/Class 1/notes.jpg: {reason} (")
    assert lines[-1] == "230 Logged in. Open a job folder, then an album folder, and upload."


def test_lftp_shows_the_230_text(ftp_server, ftp_user, album, queued, tmp_path: Path) -> None:
    require_program("lftp", "lftp")
    upload(ftp_server, "notes.jpg", b"a shopping list", queued)
    script = "; ".join(
        [
            "set net:timeout 20",
            "set cmd:fail-exit yes",
            "set net:max-retries 1",
            "set ssl:verify-certificate no",
            "set ftp:ssl-force true",
            f'open -u "photographer,{PASSWORD}" ftp://127.0.0.1:{ftp_server.port}',
            f'cls -1 "{ALBUM}/"',
        ]
    )
    result = run_client(["lftp", "-d", "-c", script], env={**os.environ, "HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "230-1 upload was rejected in the last 24 hours:" in result.stderr
    assert "REJECTED.txt" in result.stdout


def test_rejected_txt_over_ftps_is_listed_read_refused_for_writes_and_deleted_to_acknowledge(
    ftp_server, ftp_user, album, queued
) -> None:
    upload(ftp_server, "notes.jpg", b"a shopping list", queued)
    reason = Upload.objects.get().reason
    client, _ = login(ftp_server)
    try:
        assert "REJECTED.txt" in client.nlst(ALBUM)
        facts = dict(client.mlsd(ALBUM))["REJECTED.txt"]
        text = get(client, NOTICE)
        assert b"notes.jpg" in text and reason.encode() in text
        assert int(facts["size"]) == len(text) == client.size(NOTICE)
        assert client.sendcmd(f"MDTM {NOTICE}") == f"213 {facts['modify']}"

        for error in (
            refusal(put, client, NOTICE, b"mine now"),
            refusal(client.rename, NOTICE, f"{ALBUM}/read.txt"),
        ):
            assert str(error).startswith("550 REJECTED.txt is written by the server and cannot be changed")
        assert get(client, NOTICE) == text

        assert client.delete(NOTICE).startswith("250")
        assert "REJECTED.txt" not in client.nlst(ALBUM)
        assert str(refusal(client.size, NOTICE)).startswith("550")
    finally:
        client.quit()
    assert Upload.objects.get().acknowledged_at is not None

    upload(ftp_server, "later.jpg", b"no picture either", queued)
    client, reply = login(ftp_server)
    try:
        text = get(client, NOTICE)
    finally:
        client.quit()
    assert b"later.jpg" in text and b"notes.jpg" not in text
    assert "later.jpg" in reply and "notes.jpg" not in reply  # acknowledged: not in the banner either
    assert Upload.objects.count() == 2


def test_a_camera_on_plain_ftp_sees_neither_unless_its_owner_turns_notices_on(
    ftp_server, account, planned_job, queued
) -> None:
    from devices import services as device_services

    device = device_services.device_create(
        account=account, username="cam1", job=planned_job, album_name="Yard", password=PASSWORD, allow_plain_ftp=True
    )
    client, _ = login(ftp_server, "cam1", plain=True)
    put(client, "/0001.jpg", b"half a picture")
    client.quit()
    process_all(queued)
    assert Upload.objects.get().state == "rejected"

    client, reply = login(ftp_server, "cam1", plain=True)
    listed = client.nlst("/")
    client.quit()
    assert BANNER_START not in reply and listed == ["0001.jpg"]

    services.ftp_user_set_rejection_notices(ftp_user=FTPUser.objects.get(pk=device.ftp_user_id), enabled=True)
    client, reply = login(ftp_server, "cam1", plain=True)
    listed = client.nlst("/")
    text = get(client, "/REJECTED.txt")
    client.quit()
    assert BANNER_START in reply and sorted(listed) == ["0001.jpg", "REJECTED.txt"] and b"0001.jpg" in text


# --- mirroring clients with REJECTED.txt present -------------------------------------------------


@pytest.fixture
def local_album(tmp_path: Path) -> Path:
    folder = tmp_path / "local" / "Class 1"
    folder.mkdir(parents=True)
    for i in range(3):
        (folder / f"photo{i}.jpg").write_bytes(jpeg(colour=(60 * i, 80, 120)))
    return folder


def test_lftp_mirror_over_ftps_into_an_album_with_rejected_txt_succeeds(
    ftp_server, ftp_user, album, queued, local_album: Path
) -> None:
    require_program("lftp", "lftp")
    upload(ftp_server, "notes.jpg", b"a shopping list", queued)
    script = "; ".join(
        [
            "set net:timeout 20",
            "set cmd:fail-exit yes",
            "set net:max-retries 1",
            "set ssl:verify-certificate no",
            "set ftp:ssl-force true",
            "set ftp:ssl-protect-data true",
            f'open -u "photographer,{PASSWORD}" ftp://127.0.0.1:{ftp_server.port}',
            f'mirror -R --no-perms "{local_album}" "{ALBUM}"',
            f'mirror -R --no-perms "{local_album}" "{ALBUM}"',  # again: nothing to do
            f'cls -1 "{ALBUM}/"',
        ]
    )
    result = run_client(["lftp", "-c", script], env={**os.environ, "HOME": str(local_album.parent)}, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REJECTED.txt" in result.stdout and "photo2.jpg" in result.stdout
    assert Upload.objects.count() == 4


def test_rclone_copy_over_ftps_into_an_album_with_rejected_txt_succeeds(
    ftp_server, ftp_user, album, queued, local_album: Path, tmp_path: Path
) -> None:
    require_program("rclone", "rclone")
    upload(ftp_server, "notes.jpg", b"a shopping list", queued)
    env = {**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}
    obscured = run_client(["rclone", "obscure", PASSWORD], env=env).stdout.strip()
    remote = (
        f":ftp,host=127.0.0.1,port={ftp_server.port},user=photographer,pass={obscured},"
        f"explicit_tls=true,no_check_certificate=true:{ALBUM}"
    )
    command = ["rclone", "copy", "--retries", "1", "--low-level-retries", "1", "-v", str(local_album), remote]
    for _ in range(2):  # the second run finds everything in place
        result = run_client(command, env=env, timeout=180)
        assert result.returncode == 0, result.stderr
        process_all(queued)
    assert Upload.objects.count() == 4
    assert Upload.objects.filter(state="rejected", acknowledged_at__isnull=True).count() == 1
