"""The SFTP door's rows: the portal's ``runsftpd`` next to a throw-away OpenSSH sshd (internal-sftp).

Every row alternates rounds between the two servers (``report.alternate``) and reports medians.
Clients run at their own defaults, so each lands on the algorithms it would pick in the field
(which ones is printed in the row's note):

- 1 GiB with OpenSSH's ``sftp`` (one ``put``), and with asyncssh's client (``SFTPClient.put``);
- 500 x 2 MiB in one ``sftp`` session;
- 20 concurrent sessions x 50 x 2 MiB: one client process, 20 asyncio tasks with asyncssh;
- the server's CPU seconds per GB for each of those (its whole process tree, sessions included);
- 20 sequential and 20 simultaneous password logins (asyncssh client; 20 different FTP users on
  the portal so no login is answered from the record of a verified credential; sshd checks one
  system user's yescrypt hash), and how much a running 1 GiB transfer slows while 20 logins
  happen at once (its rate during the burst against its rate just before, read from the size of
  the file growing on the server).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import servers
from bench.report import Row, alternate, median_row
from bench.servers import MIB, Server

GB = 1e9
SESSIONS = 20
LOGINS = 20
LOGIN_USERS = [f"bench{i:02d}" for i in range(LOGINS)]
LOGIN_PASSWORD = "login bench password, long enough"  # noqa: S105 - throw-away users


def _ssh_options(key: Path) -> list[str]:
    return [
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        str(key),
    ]


_KEX = re.compile(r"kex: client->server cipher: (\S+) MAC: (\S+)")


def _sftp_put(server: Server, files: list[Path], sub: str, scratch: Path) -> tuple[float, str]:
    """Seconds OpenSSH's sftp takes to put ``files`` into a new folder (login included); its cipher."""
    assert server.key is not None
    batch = scratch / f"{server.name}-{sub}.batch"
    lines = [f'cd "{server.folder}"', f'mkdir "{sub}"', f'cd "{sub}"', *[f'put "{f}"' for f in files]]
    batch.write_text("\n".join(lines) + "\n")
    command = ["sftp", "-v", *_ssh_options(server.key), "-P", str(server.port), "-b", str(batch)]
    started = time.perf_counter()
    result = subprocess.run([*command, f"{server.username}@127.0.0.1"], capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if not line.startswith("debug")]
        raise RuntimeError(f"{server.name}: sftp failed: {' '.join(errors)[-300:]}{server.log_tail()}")
    found = _KEX.findall(result.stderr)  # the last key exchange: the portal re-keys onto AES-GCM
    return elapsed, f"{found[-1][0]} + {found[-1][1]}" if found else "?"


def _connect_options(server: Server, username: str | None = None, password: str | None = None) -> dict[str, object]:
    options: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": username or server.username,
        "known_hosts": None,
        "agent_path": None,
    }
    if password is not None:
        options.update(password=password, client_keys=None, preferred_auth="password")
    else:
        options.update(client_keys=[str(server.key)], preferred_auth="publickey")
    return options


async def _asyncssh_put(server: Server, files: list[Path], sub: str, prefix: str = "", mkdir: bool = True) -> str:
    import asyncssh

    async with asyncssh.connect(**_connect_options(server)) as conn, conn.start_sftp_client() as sftp:
        folder = f"{server.folder}/{sub}"
        if mkdir:
            await sftp.mkdir(folder)
        for path in files:
            await sftp.put(str(path), f"{folder}/{prefix}{path.name}")
        return f"{conn.get_extra_info('send_cipher')} + {conn.get_extra_info('send_mac')}"


async def _sessions(server: Server, files: list[Path], sub: str) -> None:
    import asyncssh

    async with asyncssh.connect(**_connect_options(server)) as conn, conn.start_sftp_client() as sftp:
        await sftp.mkdir(f"{server.folder}/{sub}")
    await asyncio.gather(*[_asyncssh_put(server, files, sub, f"s{i:02d}-", mkdir=False) for i in range(SESSIONS)])


class _Measured:
    """One timed run on a server: seconds and the server's CPU seconds, the page cache synced first."""

    def __init__(self, server: Server, run: Callable[[str], object]) -> None:
        self.server = server
        self.run = run
        self.seconds: list[float] = []
        self.cpu: list[float] = []
        self.note = ""

    def __call__(self, round_: int) -> float:
        sub = f"{self.server.name}-{len(self.seconds)}-{time.monotonic_ns()}"
        os.sync()
        self.server.settle()
        cpu = self.server.cpu()
        started = time.perf_counter()
        note = self.run(sub)
        elapsed = time.perf_counter() - started
        self.server.settle()
        self.cpu.append(self.server.cpu() - cpu)
        self.seconds.append(elapsed)
        if isinstance(note, str):
            self.note = note
        self.server.cleanup(sub)
        return elapsed


def _pair(
    rows: list[Row],
    name: str,
    portal: Server,
    sshd: Server,
    make_run: Callable[[Server], Callable[[str], object]],
    rounds: int,
    total_bytes: int,
    files: int,
    targets: tuple[str, str],
) -> None:
    ours, theirs = _Measured(portal, make_run(portal)), _Measured(sshd, make_run(sshd))
    alternate(rounds, ours, None if sshd.skipped else theirs)
    note = "; ".join(f"{side}: {m.note}" for side, m in (("portal", ours), ("sshd", theirs)) if m.note)
    if files > 1:
        rate = [files / s for s in ours.seconds], [files / s for s in theirs.seconds]
        rows.append(median_row(f"{name}", "files/s", *rate, reference_name="sshd", target=targets[0], note=note))
    else:
        rate = [total_bytes / 1e6 / s for s in ours.seconds], [total_bytes / 1e6 / s for s in theirs.seconds]
        rows.append(median_row(f"{name}", "MB/s", *rate, reference_name="sshd", target=targets[0], note=note))
    cpu = [c / (total_bytes / GB) for c in ours.cpu], [c / (total_bytes / GB) for c in theirs.cpu]
    rows.append(median_row(f"{name}: server CPU", "s/GB", *cpu, reference_name="sshd", target=targets[1]))


# --- logins -------------------------------------------------------------------------------------


async def _login(server: Server, username: str, password: str) -> None:
    import asyncssh

    async with asyncssh.connect(**_connect_options(server, username, password)):
        pass


def _users(server: Server) -> list[tuple[str, str]]:
    if server.name == "portal":
        return [(user, LOGIN_PASSWORD) for user in LOGIN_USERS]
    return [(server.username, server.password)] * LOGINS


def _logins_sequential(server: Server) -> float:
    async def run() -> None:
        for username, password in _users(server):
            await _login(server, username, password)

    started = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - started


async def _burst(server: Server) -> None:
    await asyncio.gather(*[_login(server, u, p) for u, p in _users(server)])


def _logins_simultaneous(server: Server) -> float:
    started = time.perf_counter()
    asyncio.run(_burst(server))
    return time.perf_counter() - started


def _growing_size(server: Server, var: Path, sub: str) -> Callable[[], int]:
    """The size of the upload in progress, as the server's disk shows it."""
    if server.name == "portal":
        from tree import layout

        staging = layout.staging_root()  # a folder per server process

        def portal_size() -> int:
            sizes = [path.stat().st_size for path in staging.glob("*/*") if path.is_file()]
            return max(sizes, default=0)

        return portal_size
    target = Path(server.folder) / sub / "big0000.jpg"
    return lambda: target.stat().st_size if target.exists() else 0


def _slowdown(server: Server, var: Path, big: list[Path], scratch: Path) -> float:
    """Fraction by which a 1 GiB upload's rate drops while 20 password logins happen at once."""
    sub = f"slow-{server.name}-{time.monotonic_ns()}"
    size = _growing_size(server, var, sub)
    assert server.key is not None
    batch = scratch / f"{sub}.batch"
    batch.write_text(f'cd "{server.folder}"\nmkdir "{sub}"\ncd "{sub}"\nput "{big[0]}"\n')
    command = ["sftp", *_ssh_options(server.key), "-P", str(server.port), "-b", str(batch)]
    os.sync()
    errors = scratch / f"{sub}.errors"
    with open(errors, "wb") as err:
        upload = subprocess.Popen([*command, f"{server.username}@127.0.0.1"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        while size() < 64 * MIB and upload.poll() is None:
            time.sleep(0.01)
        window = 0.5
        before, t0 = size(), time.perf_counter()
        time.sleep(window)
        mid, t1 = size(), time.perf_counter()
        asyncio.run(_burst(server))
        after, t2 = size(), time.perf_counter()
        if upload.wait(600) != 0 or mid <= before:
            reason = errors.read_text(errors="replace").strip()[-300:]
            sizes = f"{before} -> {mid} -> {after} bytes"
            raise RuntimeError(f"{server.name}: the transfer failed or stalled ({sizes}): {reason}{server.log_tail()}")
        if after >= big[0].stat().st_size:
            raise RuntimeError(f"{server.name}: the transfer ended before the logins did; use a bigger file")
    finally:
        servers.stop(upload)
    server.cleanup(sub)
    rate_before = (mid - before) / (t1 - t0)
    rate_during = (after - mid) / (t2 - t1)
    return max(0.0, 1 - rate_during / rate_before)


def _call(measure: Callable[[Server], float], server: Server, round_: int) -> float:
    return measure(server)


def _make_login_users() -> None:
    from jobs import selectors, services

    account = selectors.ftp_user_get(username="bench").account
    for username in LOGIN_USERS:
        services.ftp_user_create(account=account, username=username, password=LOGIN_PASSWORD)


# --- the rows -----------------------------------------------------------------------------------


def rows(var: Path, quick: bool) -> list[Row]:
    rounds = 1 if quick else 3
    scratch = var / "sftp-files"
    big_bytes = (256 if quick else 1024) * MIB
    small_count, session_files = (100, 5) if quick else (500, 50)
    big = servers.make_files(scratch / "big", 1, big_bytes, "big")
    slow_big = big if not quick else servers.make_files(scratch / "slow", 1, 1024 * MIB, "big")
    small = servers.make_files(scratch / "small", small_count, 2 * MIB, "small")
    _make_login_users()
    key = servers.client_key(var)
    out: list[Row] = []
    with servers.portal_sftpd(var) as portal, servers.sshd(var, key) as sshd:
        if portal.skipped:
            raise RuntimeError(portal.skipped)
        if sshd.skipped:
            print(f"  sshd skipped: {sshd.skipped}", flush=True)
        label = f"{big_bytes // MIB} MiB"
        print(f"SFTP ({rounds} alternating rounds per row):", flush=True)
        _pair(
            out,
            f"SFTP 1 x {label}, OpenSSH sftp",
            portal,
            sshd,
            lambda s: lambda sub: _sftp_put(s, big, sub, scratch)[1],
            rounds,
            big_bytes,
            1,
            (">= 0.9", "<= 1.5"),
        )
        _pair(
            out,
            f"SFTP 1 x {label}, asyncssh client",
            portal,
            sshd,
            lambda s: lambda sub: asyncio.run(_asyncssh_put(s, big, sub)),
            rounds,
            big_bytes,
            1,
            (">= 0.9", "<= 1.5"),
        )
        _pair(
            out,
            f"SFTP {small_count} x 2 MiB, one session",
            portal,
            sshd,
            lambda s: lambda sub: _sftp_put(s, small, sub, scratch)[1],
            rounds,
            small_count * 2 * MIB,
            small_count,
            (">= 0.8", "<= 1.5"),
        )
        per_session = small[:session_files]
        _pair(
            out,
            f"SFTP {SESSIONS} sessions x {session_files} x 2 MiB",
            portal,
            sshd,
            lambda s: lambda sub: asyncio.run(_sessions(s, per_session, sub)),
            rounds,
            SESSIONS * session_files * 2 * MIB,
            SESSIONS * session_files,
            (">= 0.9", "<= 1.5"),
        )
        if sshd.skipped:
            return out
        logins: list[tuple[str, Callable[[Server], float], str]] = [
            (f"SFTP {LOGINS} password logins, sequential", _logins_sequential, ""),
            (f"SFTP {LOGINS} password logins, simultaneous", _logins_simultaneous, "<= 1.5"),
        ]
        for name, measure, target in logins:
            ours, theirs = alternate(rounds, partial(_call, measure, portal), partial(_call, measure, sshd))
            out.append(median_row(name, "s", ours, theirs, reference_name="sshd", target=target))
        ours, theirs = alternate(
            rounds,
            lambda _: _slowdown(portal, var, slow_big, scratch),
            lambda _: _slowdown(sshd, var, slow_big, scratch),
        )
        out.append(
            Row(
                "SFTP 1 GiB transfer slowed by 20 simultaneous logins",
                "fraction",
                statistics.median(ours),
                None,
                rounds=rounds,
                target="<= 0.2",
                note=f"sshd's transfer slowed by {statistics.median(theirs):.2f} meanwhile",
                portal_rounds=ours,
                reference_rounds=theirs,
            )
        )
    return out
