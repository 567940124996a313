"""Which cipher each real client lands on (``sftpd.algorithms``): the fastest it offers, and none is lost.

Each client uploads one photo at its own defaults; the session's log line says the cipher and MAC
the upload ran on. OpenSSH lists AES-CTR before AES-GCM, so the server re-keys it onto AES-GCM after
login; a client that offers only AES-CTR (libssh2 before 1.11, older PuTTY, cameras) keeps it.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import asyncssh
import pytest

from albums.models import Upload
from portal.connection import host_key_fingerprints
from sftpd import algorithms, compat, listener
from tests.conftest import PASSWORD
from tests.helpers import connect, openssh_sftp, require_program, run_client, wait_for
from tests.images import jpeg
from tests.sftpd.conftest import run

ALBUM = "/job00001/Class 1"
GCM = {alg.decode() for alg in algorithms.FASTEST}


def _fields(message: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', message)}


def _session(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """The fields of the one session line logged so far."""

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("session end ")]

    found = wait_for(lambda: lines() or None, timeout=15)
    assert len(found) == 1, found
    return _fields(found[0])


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "Anna.jpg"
    path.write_bytes(jpeg(size=(640, 480)))
    return path


def _uploaded(photo: Path) -> None:
    upload = Upload.objects.get()
    assert (upload.filename, upload.size) == (photo.name, photo.stat().st_size)


@pytest.mark.parametrize(
    ("options", "cipher", "mac"),
    [
        ([], "aes128-gcm@openssh.com", "aes128-gcm@openssh.com"),  # its default order picks CTR first
        (["-c", "aes128-ctr"], "aes128-ctr", "hmac-sha2-256-etm@openssh.com"),  # a CTR-only client keeps CTR
        (["-c", "aes256-ctr", "-o", "MACs=hmac-sha2-512"], "aes256-ctr", "hmac-sha2-512"),
        (["-c", "aes256-gcm@openssh.com"], "aes256-gcm@openssh.com", "aes256-gcm@openssh.com"),
    ],
)
def test_openssh_lands_on_the_fastest_cipher_it_offers(
    sftp_server, ftp_user, album, askpass, photo: Path, caplog, options: list[str], cipher: str, mac: str
) -> None:
    require_program("sftp", "openssh-client")
    caplog.set_level(logging.INFO)
    result = openssh_sftp(sftp_server.port, ftp_user.username, f'cd "{ALBUM}"\nput "{photo}"\n', askpass, extra=options)
    assert result.returncode == 0, result.stderr
    _uploaded(photo)
    logged = _session(caplog)
    assert (logged["cipher"], logged["mac"]) == (cipher, mac)
    assert logged["client"].startswith("SSH-2.0-OpenSSH_")


def test_psftp_the_ssh_core_of_winscp_and_filezilla_lands_on_aes_gcm(
    sftp_server, ftp_user, album, photo: Path, caplog
) -> None:
    require_program("psftp", "putty-tools")
    caplog.set_level(logging.INFO)
    ed25519 = next(fp for fp in host_key_fingerprints() if "ed25519" in fp.algorithm)
    login = ["-P", str(sftp_server.port), "-l", ftp_user.username, "-pw", PASSWORD, "-hostkey", ed25519.sha256]
    script = f'cd "{ALBUM}"\nput "{photo}" "{photo.name}"\n'
    result = run_client(["psftp", "-batch", *login, "-b", "/dev/stdin", "127.0.0.1"], input=script)
    assert result.returncode == 0, result.stdout + result.stderr
    _uploaded(photo)
    logged = _session(caplog)
    assert logged["client"].startswith("SSH-2.0-PuTTY")
    assert logged["cipher"] in GCM  # PuTTY 0.76 and later offer AES-GCM


def test_curl_libssh2_keeps_what_it_offers_and_lands_on_aes_gcm_when_it_can(
    sftp_server, ftp_user, album, photo: Path, caplog
) -> None:
    require_program("curl", "curl")
    version = run_client(["curl", "-V"]).stdout
    if "sftp" not in version.split("Protocols:")[-1]:
        pytest.skip("this curl has no SFTP (libssh2)")
    caplog.set_level(logging.INFO)
    target = f"sftp://127.0.0.1:{sftp_server.port}{ALBUM.replace(' ', '%20')}/{photo.name}"
    login = f"{ftp_user.username}:{PASSWORD}"
    result = run_client(["curl", "-sS", "--insecure", "-u", login, "-T", str(photo), target])
    assert result.returncode == 0, result.stderr
    _uploaded(photo)
    logged = _session(caplog)
    assert logged["client"].startswith("SSH-2.0-libssh2_")
    libssh2 = tuple(int(part) for part in logged["client"].split("_")[1].split(".")[:2])
    if libssh2 >= (1, 11):  # AES-GCM arrived in libssh2 1.11
        assert logged["cipher"] in GCM
    else:
        assert logged["cipher"] in {alg for alg in listener.ENCRYPTION_ALGS if alg not in GCM}


def test_rclone_go_ssh_lands_on_aes_gcm(sftp_server, ftp_user, album, photo: Path, tmp_path: Path, caplog) -> None:
    require_program("rclone", "rclone")
    caplog.set_level(logging.INFO)
    env = {**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")}
    obscured = run_client(["rclone", "obscure", PASSWORD], env=env).stdout.strip()
    remote = f":sftp,host=127.0.0.1,port={sftp_server.port},user={ftp_user.username},pass={obscured}"
    result = run_client(
        ["rclone", "copyto", "--sftp-disable-hashcheck", str(photo), f"{remote}:{ALBUM}/{photo.name}"], env=env
    )
    assert result.returncode == 0, result.stderr
    _uploaded(photo)
    logged = _session(caplog)
    assert logged["client"].startswith("SSH-2.0-rclone")  # Go's x/crypto/ssh
    assert logged["cipher"] in GCM


def test_asyncssh_keeps_its_aes_gcm_choice_and_a_real_connection_has_what_the_re_key_reads(
    sftp_server, ftp_user, album, caplog, monkeypatch
) -> None:
    caplog.set_level(logging.INFO)
    seen: list[asyncssh.SSHServerConnection] = []
    original = algorithms.upgrade

    def spy(conn: asyncssh.SSHServerConnection) -> bytes | None:
        seen.append(conn)
        return original(conn)

    monkeypatch.setattr(algorithms, "upgrade", spy)

    async def scenario() -> None:
        async with (
            connect(sftp_server.port, ftp_user.username, PASSWORD) as conn,
            conn.start_sftp_client() as sftp,
            sftp.open(f"{ALBUM}/a.jpg", "wb") as f,
        ):
            await f.write(jpeg(size=(64, 48)))

    run(scenario)
    assert seen and [name for name in compat.CONNECTION_ATTRIBUTES if not hasattr(seen[0], name)] == []
    assert b"aes128-ctr" in algorithms.client_ciphers(seen[0])  # the client's whole offer, parsed
    assert _session(caplog)["cipher"] in GCM
