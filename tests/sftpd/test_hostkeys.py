"""Host keys: made once (race-free), kept private, reused; fingerprints printed the way ``ssh-keygen -l``
does, and reading them never makes keys."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from portal.connection import fingerprint, host_key_fingerprints
from sftpd import hostkeys
from tests.conftest import PASSWORD
from tests.helpers import connect
from tests.sftpd.conftest import run


def test_host_keys_are_made_once_with_private_files_and_reused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    first = hostkeys.load_or_create(key_dir)
    again = hostkeys.load_or_create(key_dir)
    assert [k.get_algorithm() for k in first] == ["ssh-ed25519", "ssh-rsa"]
    assert [k.public_data for k in first] == [k.public_data for k in again]
    for name in ("ssh_host_ed25519_key", "ssh_host_rsa_key"):
        assert (key_dir / name).stat().st_mode & 0o777 == 0o600
        assert (key_dir / f"{name}.pub").exists()
    assert key_dir.stat().st_mode & 0o777 == 0o700
    assert fingerprint(first[1]).bits >= 3072


def test_a_private_key_left_readable_is_made_private_again(tmp_path: Path) -> None:
    hostkeys.load_or_create(tmp_path)
    (tmp_path / "ssh_host_rsa_key").chmod(0o644)
    hostkeys.load_or_create(tmp_path)
    assert (tmp_path / "ssh_host_rsa_key").stat().st_mode & 0o777 == 0o600


def test_servers_starting_at_the_same_moment_end_up_with_the_same_keys(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: hostkeys.load_or_create(key_dir), range(4)))
    on_disk = [k.public_data for k in hostkeys.load_or_create(key_dir)]
    assert all([k.public_data for k in keys] == on_disk for keys in results)
    assert sorted(p.name for p in key_dir.iterdir()) == [
        "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "ssh_host_rsa_key", "ssh_host_rsa_key.pub"
    ]  # fmt: skip


def test_reading_fingerprints_never_makes_keys(settings, tmp_path: Path) -> None:
    settings.SFTPD_HOST_KEY_DIR = tmp_path / "keys"
    assert host_key_fingerprints() == []
    with pytest.raises(CommandError, match=r"There are no host keys .* yet"):
        call_command("sftpd", "fingerprints")
    assert not (tmp_path / "keys").exists()
    call_command("sftpd", "create-keys", stdout=StringIO())
    assert len(host_key_fingerprints()) == 2


def test_the_fingerprints_command_prints_what_ssh_keygen_prints(settings, tmp_path: Path) -> None:
    settings.SFTPD_HOST_KEY_DIR = tmp_path
    hostkeys.load_or_create(tmp_path)
    out = StringIO()
    call_command("sftpd", "fingerprints", stdout=out)
    printed = out.getvalue().splitlines()
    expected = []
    for name in ("ssh_host_ed25519_key.pub", "ssh_host_rsa_key.pub"):
        for hash_name in ("sha256", "md5"):
            keygen = subprocess.run(
                ["ssh-keygen", "-l", "-E", hash_name, "-f", str(tmp_path / name)],
                capture_output=True,
                text=True,
                check=True,
            )
            expected.append(keygen.stdout.strip())
    assert printed == expected
    assert printed[0].endswith("photo-portal (ED25519)") and printed[1].split()[1].startswith("MD5:")


def test_clients_see_the_keys_whose_fingerprints_are_printed(sftp_server, ftp_user) -> None:
    out = StringIO()
    call_command("sftpd", "fingerprints", stdout=out)

    async def seen(algorithm: str) -> str:
        async with connect(sftp_server.port, "photographer", PASSWORD, server_host_key_algs=[algorithm]) as conn:
            key = conn.get_server_host_key()
            assert key is not None
            return key.get_fingerprint("sha256")

    assert run(seen, "ssh-ed25519") in out.getvalue()
    assert run(seen, "rsa-sha2-256") in out.getvalue()


def test_fingerprints_come_in_the_forms_clients_and_cameras_show(tmp_path: Path) -> None:
    hostkeys.load_or_create(tmp_path)
    keys = host_key_fingerprints(tmp_path)
    assert {fp.algorithm for fp in keys} == {"ssh-ed25519", "ssh-rsa"}
    assert all(fp.sha256.startswith("SHA256:") and not fp.sha256.endswith("=") for fp in keys)
    assert all(len(fp.md5.split(":")) == 17 for fp in keys)  # "MD5:" and 16 hex pairs
