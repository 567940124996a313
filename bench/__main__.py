"""``python -m bench [--doors sftp,ftp] [--quick] [--big-mb N] [--files N] [--small N] [--ftp-big-mb N]
[--ftp-files N]``: upload throughput, small-file rate and login latency of the portal's SFTP server
next to OpenSSH, and upload throughput and CPU of its FTP/FTPS server next to vsftpd (``bench.ftp``).
See ``bench/__init__.py``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import ftp

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password, long enough"  # noqa: S105 - a throw-away user of a throw-away portal
CIPHER = "aes128-gcm@openssh.com"  # what our server prefers; forced on sshd too, for a fair race
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
SSHD = Path("/usr/sbin/sshd")


@dataclass
class Target:
    """One server under test: how OpenSSH's sftp reaches it and where relative paths land."""

    name: str
    command: list[str]  # the sftp command line without "-b batchfile" and the destination
    destination: list[str]  # user@host, or nothing for "sftp -D"
    folder: str  # where each run makes its own folder, as the server sees it
    skipped: str = ""
    results: dict[str, str] = field(default_factory=dict)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def _setup_portal(var: Path, max_file_bytes: int) -> None:
    """A throw-away portal: environment first, then Django (settings read the environment once)."""
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "LOGIN_REDIS_URL", "MEDIA_ROOT", "TREE_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        PORTAL_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="True",
        LOG_LEVEL="WARNING",
        TREE_MAX_FILE_BYTES=str(max_file_bytes),  # the big files are throughput probes, not photos
        LOGIN_MAX_SESSIONS_PER_USER="100",
        LOGIN_MAX_UNAUTH_PER_ADDRESS="100",
        # The failed-login figures time real refusals, not the cheaper refusal of a ban.
        LOGIN_BAN_USER_FAILURES="1000",
        LOGIN_BAN_ADDRESS_FAILURES="1000",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from jobs import services

    account = services.account_create(name="Bench Studio")
    user = services.ftp_user_create(account=account, username="bench", password=PASSWORD)
    services.job_create(account=account, internal_name="job00001", title="Bench")
    from albums.services import album_create
    from jobs.models import PhotoJob

    album_create(job=PhotoJob.objects.get(internal_name="job00001"), name="Class 1", ftp_user=user)


def _add_key(var: Path) -> Path:
    key = var / "client_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    from jobs import selectors, services

    user = selectors.ftp_user_get(username="bench")
    services.ssh_key_add(ftp_user=user, public_key=key.with_suffix(".pub").read_text())
    return key


@contextmanager
def _portal_server(var: Path) -> Iterator[int]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runsftpd", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=open(var / "runsftpd.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    try:
        _wait_for_port(port)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextmanager
def _sshd(var: Path, key: Path) -> Iterator[tuple[int, str]]:
    """A throw-away OpenSSH sshd on a free loopback port (key login only), or a reason it cannot run."""
    if not SSHD.exists():
        yield 0, "sshd not installed (Debian package openssh-server)"
        return
    if os.geteuid() == 0 and not Path("/run/sshd").is_dir():
        Path("/run/sshd").mkdir(mode=0o755)  # sshd's privilege separation directory, as systemd makes it
    folder = var / "sshd"
    folder.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")], check=True)
    shutil.copy(key.with_suffix(".pub"), folder / "authorized_keys")
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {folder / 'host_key'}",
                f"AuthorizedKeysFile {folder / 'authorized_keys'}",
                f"PidFile {folder / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                f"Ciphers {CIPHER}",
                "Subsystem sftp internal-sftp",
                "LogLevel ERROR",
            ]
        )
        + "\n"
    )
    sshd = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=open(folder / "log", "wb"))  # noqa: SIM115
    try:
        try:
            _wait_for_port(port, 10)
        except RuntimeError:
            yield 0, "sshd did not start: " + (folder / "log").read_text().strip()[:200]
            return
        yield port, ""
    finally:
        sshd.terminate()
        try:
            sshd.wait(10)
        except subprocess.TimeoutExpired:
            sshd.kill()
            sshd.wait()


def _ssh_options(key: Path) -> list[str]:
    return [
        "-F",
        "/dev/null",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        f"Ciphers={CIPHER}",
        "-i",
        str(key),
    ]


def _upload(target: Target, files: list[Path], batch_dir: Path, remote_sub: str) -> float:
    """Seconds the sftp client takes to put ``files`` into a fresh folder (login included)."""
    batch = batch_dir / f"{target.name}-{remote_sub}.batch"
    lines = [f'cd "{target.folder}"', f'mkdir "{remote_sub}"', f'cd "{remote_sub}"']  # an album, on the portal
    lines += [f'put "{f}"' for f in files]
    batch.write_text("\n".join(lines) + "\n")
    command = [*target.command, "-b", str(batch), *target.destination]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{target.name}: sftp failed: {result.stderr.strip()[:300]}")
    return elapsed


def _make_files(folder: Path, count: int, size: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(min(size, 1024 * 1024))  # incompressible, like JPEG data
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:04d}.jpg"
        with open(path, "wb") as f:
            remaining = size
            f.write(i.to_bytes(8, "big"))  # every file different
            remaining -= 8
            while remaining > 0:
                f.write(block[:remaining])
                remaining -= min(remaining, len(block))
        paths.append(path)
    return paths


async def _login_times(port: int, username: str, password: str | None, key: Path | None, n: int) -> list[float]:
    import asyncssh

    times = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            async with asyncssh.connect(
                "127.0.0.1",
                port,
                username=username,
                password=password,
                client_keys=[str(key)] if key else None,
                known_hosts=None,
                agent_path=None,
                preferred_auth="publickey" if key else "password",
                encryption_algs=[CIPHER],
            ):
                pass
        except asyncssh.PermissionDenied:
            pass  # the failure figures time a refused login
        times.append(time.perf_counter() - started)
    return times


def _ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} ms"


def _run_workloads(targets: list[Target], scratch: Path, args: argparse.Namespace) -> None:
    photos = _make_files(scratch / "photos", args.files, 5 * 1024 * 1024, "photo")
    big = _make_files(scratch / "big", 1, args.big_mb * 1024 * 1024, "big")
    small = _make_files(scratch / "small", args.small, 20 * 1024, "small")
    workloads: list[tuple[str, list[Path], Callable[[float], str]]] = [
        (f"{args.files} x 5 MB upload", photos, lambda s: f"{args.files * 5 / s:.1f} MB/s"),
        (f"1 x {args.big_mb} MB upload", big, lambda s: f"{args.big_mb / s:.1f} MB/s"),
        (f"{args.small} x 20 KB upload", small, lambda s: f"{args.small / s:.0f} files/s"),
    ]
    for label, files, figure in workloads:
        for target in targets:
            if target.skipped:
                continue
            sub = label.split()[0] + label.split()[2]
            seconds = min(
                _upload(target, files, scratch, f"{target.name}-{sub}-{attempt}") for attempt in range(args.repeat)
            )
            target.results[label] = figure(seconds)
            print(f"  {target.name:<12} {label:<22} {target.results[label]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller files, one run each")
    parser.add_argument("--files", type=int, default=20, help="number of 5 MB files (default 20)")
    parser.add_argument("--big-mb", type=int, default=200, help="size of the single big file (default 200)")
    parser.add_argument("--small", type=int, default=200, help="number of 20 KB files (default 200)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure, best kept (default 2)")
    parser.add_argument(
        "--doors",
        default="sftp,ftp,subjects",
        help="what to measure, comma-separated: sftp, ftp, subjects (QR-card detection; default all)",
    )
    ftp.add_arguments(parser)
    args = parser.parse_args()
    doors = {door.strip() for door in args.doors.split(",") if door.strip()}
    if not doors or doors - {"sftp", "ftp", "subjects"}:
        parser.error("--doors takes sftp, ftp and subjects (comma-separated)")
    if args.quick:
        args.files, args.big_mb, args.small, args.repeat = 5, 50, 50, 1
        ftp.quick(args)
    if "sftp" in doors and shutil.which("sftp") is None:
        raise SystemExit("OpenSSH's sftp client is needed (Debian package openssh-client)")

    var = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    try:
        print(f"setting up a throw-away portal in {var}", flush=True)
        _setup_portal(var, max(args.big_mb * 1024 * 1024, ftp.max_file_bytes(args)))
        if "sftp" in doors:
            _sftp(var, args)
        if "ftp" in doors:
            ftp.run(var, args, PASSWORD)
        if "subjects" in doors:
            from bench import subjects

            print("\nQR-card detection in the worker (24 MP photos):", flush=True)
            for label, figure in subjects.run(photos_per_size=2 if args.quick else 8, repeat=1 if args.quick else 5):
                print(f"  {label:<60} {figure}", flush=True)
    finally:
        shutil.rmtree(var, ignore_errors=True)


def _sftp(var: Path, args: argparse.Namespace) -> None:
    """The SFTP door: the portal's runsftpd next to OpenSSH (sshd and sftp-server), then the table."""
    key = _add_key(var)
    with _portal_server(var) as port, _sshd(var, key) as (sshd_port, sshd_skipped):
        ssh = _ssh_options(key)
        ref_dir = var / "reference"
        ref_dir.mkdir()
        user = getpass.getuser()
        targets = [
            Target("portal", ["sftp", *ssh, "-P", str(port)], ["bench@127.0.0.1"], "/job00001"),
            Target("sshd", ["sftp", *ssh, "-P", str(sshd_port)], [f"{user}@127.0.0.1"], str(ref_dir), sshd_skipped),
            Target(
                "sftp-server",
                ["sftp", "-D", str(SFTP_SERVER)],
                [],
                str(ref_dir),
                "" if SFTP_SERVER.exists() else "not installed (Debian package openssh-sftp-server)",
            ),
        ]
        print(f"uploads with OpenSSH sftp (best of {args.repeat}):", flush=True)
        _run_workloads(targets, var / "files", args)

        print("logins (asyncssh client, median of 10):", flush=True)
        logins = [
            ("login, password", targets[0], lambda: _login_times(port, "bench", PASSWORD, None, 10)),
            ("login, public key", targets[0], lambda: _login_times(port, "bench", None, key, 10)),
            ("failed: wrong password", targets[0], lambda: _login_times(port, "bench", "wrong", None, 10)),
            ("failed: unknown user", targets[0], lambda: _login_times(port, "nobody", PASSWORD, None, 10)),
        ]
        if not sshd_skipped:
            logins.append(("login, public key", targets[1], lambda: _login_times(sshd_port, user, None, key, 10)))
        for label, target, measure in logins:
            target.results[label] = _ms(asyncio.run(measure()))
            print(f"  {target.name:<12} {label:<22} {target.results[label]}", flush=True)
    _print_table(targets)


def _print_table(targets: list[Target]) -> None:
    rows: list[str] = []
    for target in targets:
        rows += [r for r in target.results if r not in rows]
    headers = ["", "portal (asyncssh)", "OpenSSH sshd", "OpenSSH sftp-server, no SSH"]
    table = [[row] + [t.results.get(row, "-") for t in targets] for row in rows]
    widths = [max(len(str(r[i])) for r in [headers, *table]) for i in range(len(headers))]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in table:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    for target in targets:
        if target.skipped:
            print(f"{target.name}: skipped, {target.skipped}")
    print(
        f"\nSame machine, loopback, OpenSSH sftp client, cipher {CIPHER} for both SSH servers; "
        f"{os.cpu_count()} CPUs. The portal's figures include its real work per file "
        "(fsync, storage link, upload record, queued task)."
    )


if __name__ == "__main__":
    main()
