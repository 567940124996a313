"""Only the sftp subsystem, and only modern algorithms: what the server offers on the wire and what it
refuses once a client is in."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import asyncssh
import pytest
from asyncssh.packet import Boolean, String, UInt32

from tests.conftest import PASSWORD
from tests.helpers import SSH_OPTIONS, connect, run_client
from tests.sftpd.conftest import run, sftp_session


def _server_kexinit(host: str, port: int) -> dict[str, list[str]]:
    """The name-lists of the server's KEXINIT, read off a raw socket before any encryption."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"SSH-2.0-KexProbe\r\n")
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(4096)
        version, data = data.split(b"\r\n", 1)
        assert version.startswith(b"SSH-2.0-PhotoPortal")
        while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
            data += sock.recv(4096)
    length, padding = int.from_bytes(data[:4], "big"), data[4]
    payload = data[5 : 4 + length - padding]
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    pos, lists = 1 + 16, []
    for _ in range(10):
        size = int.from_bytes(payload[pos : pos + 4], "big")
        lists.append(payload[pos + 4 : pos + 4 + size].decode().split(",") if size else [])
        pos += 4 + size
    names = ["kex", "host_key", "enc_cs", "enc_sc", "mac_cs", "mac_sc", "cmp_cs", "cmp_sc", "lang_cs", "lang_sc"]
    return dict(zip(names, lists, strict=True))


def test_the_server_offers_modern_algorithms_strict_kex_and_no_compression(sftp_server) -> None:
    offer = _server_kexinit(sftp_server.host, sftp_server.port)
    assert "kex-strict-s-v00@openssh.com" in offer["kex"]  # Terrapin counter-measure
    assert offer["kex"][0] in ("mlkem768x25519-sha256", "curve25519-sha256")
    assert not [k for k in offer["kex"] if "sha1" in k or "group1-" in k or "gex" in k]
    assert sorted(offer["host_key"]) == ["rsa-sha2-256", "rsa-sha2-512", "ssh-ed25519"]  # no SHA-1 "ssh-rsa"
    for direction in ("enc_cs", "enc_sc"):
        assert offer[direction] == [
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
            "aes128-ctr",
            "aes192-ctr",
            "aes256-ctr",
        ]  # AES only: chacha20-poly1305 would be picked by every client and is much slower here
    for direction in ("mac_cs", "mac_sc"):
        assert all(m.startswith("hmac-sha2-") for m in offer[direction])
    assert offer["cmp_cs"] == offer["cmp_sc"] == ["none"]


@pytest.mark.parametrize(
    "options",
    [
        {"encryption_algs": ["chacha20-poly1305@openssh.com"]},
        {"encryption_algs": ["aes128-cbc"]},
        {"server_host_key_algs": ["ssh-rsa"]},
        {"kex_algs": ["diffie-hellman-group14-sha1"]},
        {"mac_algs": ["hmac-sha1"], "encryption_algs": ["aes128-ctr"]},
    ],
    ids=["chacha20", "cbc", "sha1-host-key", "sha1-kex", "sha1-mac"],
)
def test_a_client_offering_only_old_or_slow_algorithms_cannot_connect(sftp_server, ftp_user, options) -> None:
    async def scenario() -> Exception:
        try:
            async with connect(sftp_server.port, "photographer", PASSWORD, **options):
                pass
        except (asyncssh.KeyExchangeFailed, asyncssh.DisconnectError) as exc:
            return exc
        raise AssertionError("negotiated an algorithm the server must not offer")

    assert isinstance(run(scenario), asyncssh.KeyExchangeFailed | asyncssh.DisconnectError)


def test_a_modern_client_gets_strict_kex_and_aes(sftp_server, ftp_user, planned_job) -> None:
    async def scenario() -> tuple[bool, str, str]:
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn:
            return (
                conn._strict_kex,  # asyncssh records the negotiation only here
                conn.get_extra_info("send_cipher"),
                conn.get_extra_info("send_compression"),
            )

    strict, cipher, compression = run(scenario)
    assert strict is True
    assert cipher.startswith("aes")
    assert compression == "none"


def test_exec_shell_pty_other_subsystems_and_forwarding_are_refused_promptly(
    sftp_server, ftp_user, planned_job
) -> None:
    async def scenario() -> dict[str, object]:
        results: dict[str, object] = {}
        async with connect(sftp_server.port, "photographer", PASSWORD) as conn:
            attempts: dict[str, Callable[[], Awaitable[object]]] = {
                # rclone probes with these before it starts; a prompt refusal and it carries on
                "exec md5sum": lambda: conn.run("md5sum", check=False),
                "exec sha1sum": lambda: conn.run("sha1sum", check=False),
                "exec echo": lambda: conn.run("echo ${ShellId}%ComSpec%", check=False),
                "exec scp": lambda: conn.run("scp -t /job00001", check=False),
                "shell": lambda: conn.create_session(asyncssh.SSHClientSession),
                "pty": lambda: conn.create_session(asyncssh.SSHClientSession, subsystem="sftp", term_type="xterm"),
                "subsystem": lambda: conn.create_session(asyncssh.SSHClientSession, subsystem="netconf"),
                "direct-tcpip": lambda: conn.open_connection("127.0.0.1", sftp_server.port),
                "remote forward": lambda: conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22),
                "unix socket": lambda: conn.open_unix_connection("/run/postgresql/.s.PGSQL.5432"),
            }
            for label, attempt in attempts.items():
                try:
                    await attempt()
                    results[label] = "accepted"
                except (asyncssh.ChannelOpenError, asyncssh.ChannelListenError) as exc:
                    results[label] = exc
            chan, _ = await conn.create_session(asyncssh.SSHClientSession, subsystem="sftp")
            results["agent"] = await chan._make_request(b"auth-agent-req@openssh.com")
            x11 = (Boolean(False), String("MIT-MAGIC-COOKIE-1"), String("00"), UInt32(0))
            results["x11"] = await chan._make_request(b"x11-req", *x11)
            sftp = await conn.start_sftp_client()  # and the connection still does its job
            results["sftp"] = await sftp.listdir("/")
        return results

    results = run(scenario)
    for label in ("exec md5sum", "exec sha1sum", "exec echo", "exec scp", "shell", "pty", "subsystem"):
        assert isinstance(results[label], asyncssh.ChannelOpenError), label
    for label in ("direct-tcpip", "remote forward", "unix socket"):
        assert isinstance(results[label], asyncssh.ChannelOpenError | asyncssh.ChannelListenError), label
    assert results["agent"] is False and results["x11"] is False
    assert results["sftp"] == ["job00001"]


def test_openssh_exec_and_legacy_scp_fail_at_once_instead_of_hanging(
    sftp_server, ftp_user, planned_job, askpass, tmp_path
) -> None:
    # Bounded by the subprocess timeouts: a server that left the client hanging fails the test.
    exec_result = run_client(
        ["ssh", *SSH_OPTIONS, "-p", str(sftp_server.port), "photographer@127.0.0.1", "md5sum"], env=askpass
    )
    (tmp_path / "a.jpg").write_bytes(b"x")
    target = "photographer@127.0.0.1:/job00001/a.jpg"
    scp_result = run_client(
        ["scp", "-O", *SSH_OPTIONS, "-P", str(sftp_server.port), str(tmp_path / "a.jpg"), target], env=askpass
    )
    assert exec_result.returncode != 0 and "exec request failed" in exec_result.stderr
    assert scp_result.returncode != 0


def test_the_sftp_version_is_3_even_when_a_client_offers_6_as_winscp_does(sftp_server, ftp_user, album) -> None:
    async def scenario() -> tuple[int, list[str]]:
        async with sftp_session(sftp_server.port, sftp_version=6) as sftp:
            async with sftp.open("/job00001/Class 1/v6.jpg", "wb") as f:
                await f.write(b"bytes")
            return sftp.version, list(await sftp.listdir("/job00001/Class 1"))

    version, listing = run(scenario)
    assert version == 3
    assert "v6.jpg" in listing
