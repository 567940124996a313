"""Logging in: passwords through Django's hasher, SSH keys from the FTP user's keys, and every failure
alike (unknown user, inactive user, wrong credentials)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncssh
import pytest

from jobs import services
from jobs.models import FTPUser, SSHKey
from tests.conftest import PASSWORD
from tests.helpers import connect, run_client, wait_for
from tests.sftpd.conftest import run, sftp_session


async def _login_error(
    port: int, username: str, password: str | None = None, **kwargs: object
) -> asyncssh.DisconnectError:
    try:
        async with connect(port, username, password, **kwargs) as conn:
            await conn.start_sftp_client()
    except (asyncssh.PermissionDenied, asyncssh.DisconnectError) as exc:
        return exc
    raise AssertionError(f"{username} logged in but should not have")


def test_a_password_login_works_and_is_recorded(sftp_server, ftp_user, planned_job) -> None:
    async def scenario() -> list[str]:
        async with sftp_session(sftp_server.port) as sftp:
            return list(await sftp.listdir("/"))

    assert run(scenario) == ["job00001"]
    # Recorded beside the session, not before it: the client may be gone first.
    user = wait_for(lambda: FTPUser.objects.filter(pk=ftp_user.pk, last_login_at__isnull=False).first())
    assert user.last_login_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("algorithm", "options"),
    [("ssh-ed25519", {}), ("ecdsa-sha2-nistp256", {}), ("ecdsa-sha2-nistp384", {}), ("ssh-rsa", {"key_size": 2048})],
)
def test_ssh_keys_of_the_ftp_user_log_in(sftp_server, ftp_user, planned_job, algorithm: str, options: dict) -> None:
    key = asyncssh.generate_private_key(algorithm, **options)
    stored = services.ssh_key_add(ftp_user=ftp_user, public_key=key.export_public_key().decode())

    async def scenario() -> list[str]:
        async with sftp_session(sftp_server.port, password=None, client_keys=[key]) as sftp:
            return list(await sftp.listdir("/"))

    assert run(scenario) == ["job00001"]
    wait_for(lambda: SSHKey.objects.filter(pk=stored.pk, last_used_at__isnull=False).exists())


def test_openssh_sftp_logs_in_with_a_key_file(sftp_server, ftp_user, planned_job, tmp_path: Path) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")
    key_file = tmp_path / "id_ed25519"
    key.write_private_key(key_file)
    key_file.chmod(0o600)
    services.ssh_key_add(ftp_user=ftp_user, public_key=key.export_public_key().decode())
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
    options += ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no"]
    result = run_client(
        ["sftp", *options, "-i", str(key_file), "-P", str(sftp_server.port), "-b", "-", "photographer@127.0.0.1"],
        input="ls /\n",
    )
    assert result.returncode == 0, result.stderr
    assert "job00001" in result.stdout


def test_a_key_that_is_not_the_users_does_not_log_in(sftp_server, ftp_user, account, planned_job) -> None:
    other_user = services.ftp_user_create(account=account, username="other", password=PASSWORD)
    others_key = asyncssh.generate_private_key("ssh-ed25519")
    services.ssh_key_add(ftp_user=other_user, public_key=others_key.export_public_key().decode())
    error = run(_login_error, sftp_server.port, "photographer", None, client_keys=[others_key])
    assert isinstance(error, asyncssh.PermissionDenied)


def test_a_weak_rsa_key_written_straight_into_the_database_is_not_accepted(sftp_server, ftp_user) -> None:
    weak = asyncssh.generate_private_key("ssh-rsa", key_size=1024)
    line = weak.export_public_key().decode().split()
    SSHKey.objects.create(
        ftp_user=ftp_user, key_type="ssh-rsa", public_key=f"{line[0]} {line[1]}", fingerprint="SHA256:weak"
    )
    error = run(_login_error, sftp_server.port, "photographer", None, client_keys=[weak])
    assert isinstance(error, asyncssh.PermissionDenied)


def test_an_unknown_user_cannot_get_in_with_no_credentials_a_password_or_a_key(sftp_server, ftp_user) -> None:
    key = asyncssh.generate_private_key("ssh-ed25519")

    async def scenario() -> list[Exception]:
        return [
            # No credentials at all ("none" auth): what a begin_auth answering False would let through.
            await _login_error(sftp_server.port, "nobody", None, preferred_auth="none"),
            await _login_error(sftp_server.port, "nobody", PASSWORD),
            await _login_error(sftp_server.port, "nobody", None, client_keys=[key]),
            await _login_error(sftp_server.port, "photographer", None, preferred_auth="none"),
            await _login_error(sftp_server.port, "", PASSWORD),
        ]

    errors = run(scenario)
    assert all(isinstance(e, asyncssh.PermissionDenied) for e in errors), errors


def test_unknown_inactive_and_wrong_password_fail_alike_each_after_one_hash(
    sftp_server, ftp_user, account, monkeypatch
) -> None:
    inactive = services.ftp_user_create(account=account, username="retired", password=PASSWORD)
    services.ftp_user_set_active(ftp_user=inactive, is_active=False)
    services.ftp_user_create(account=account, username="keyonly")  # no password at all
    hashes: list[str] = []
    real_check = services.check_password

    def counting_check(password: str, encoded: str, *args: Any, **kwargs: Any) -> bool:
        hashes.append(encoded.split("$")[0])
        return real_check(password, encoded, *args, **kwargs)

    monkeypatch.setattr(services, "check_password", counting_check)

    names = ["nobody", "retired", "photographer", "keyonly"]

    async def scenario() -> list[asyncssh.DisconnectError]:
        return [
            await _login_error(sftp_server.port, "nobody", PASSWORD),
            await _login_error(sftp_server.port, "retired", PASSWORD),
            await _login_error(sftp_server.port, "photographer", "wrong password"),
            await _login_error(sftp_server.port, "keyonly", PASSWORD),
        ]

    errors = run(scenario)
    assert [type(e) for e in errors] == [asyncssh.PermissionDenied] * 4
    answers = {(e.code, str(e).replace(name, "USER")) for e, name in zip(errors, names, strict=True)}
    assert len(answers) == 1  # the same answer for each
    # One hash with the same (default) hasher each time: the time taken does not tell them apart.
    assert len(hashes) == 4 and len(set(hashes)) == 1
    assert FTPUser.objects.get(username="retired").last_login_at is None


def test_a_database_failure_during_login_is_a_plain_message_not_a_traceback(sftp_server, ftp_user, monkeypatch) -> None:
    from django.db import OperationalError

    from tree import principal

    def broken(*args: object) -> None:
        raise OperationalError("connection to server at 10.0.0.5 failed")

    monkeypatch.setattr(principal, "authenticate_password", broken)
    error = run(_login_error, sftp_server.port, "photographer", PASSWORD)
    assert isinstance(error, asyncssh.DisconnectError)
    assert "The server cannot check logins right now" in error.reason
    assert "10.0.0.5" not in error.reason and "Traceback" not in error.reason
