"""The benchmark's processes: the throw-away portal, the servers under test and what they cost.

What lives here:

- ``setup_portal``: a throw-away portal in a temporary folder (SQLite, or PostgreSQL with
  ``BENCH_DATABASE_URL``; the embedded broker), its FTP user ``bench`` with a password and an
  album ``/job00001/Class 1``.
- ``Server``: one server under test as the workloads see it (port, user, folder, CPU so far).
- ``portal_sftpd``: ``manage.py runsftpd`` on a free loopback port with DEBUG=False, as in
  production; its CPU is that of its whole process tree (``tree_cpu``).
- ``sshd``: a throw-away OpenSSH sshd (``internal-sftp``, its own config and host key, every
  algorithm at OpenSSH's defaults) that logs in the throw-away system user by key or password.
- ``system_user``: that user (``useradd``, a random password; only when the bench runs as root,
  as sshd's password logins and vsftpd need a real account), removed afterwards.
- ``reap_main``: ``python -m bench.servers reap -- command``: runs a command as a subreaper so
  the CPU of every descendant (vsftpd's and sshd's session processes) is counted.
- Small helpers: ``free_port``, ``wait_for_port``, ``stop`` (by PID: SIGTERM, then SIGKILL),
  ``make_files`` (incompressible, every file different).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench password, long enough"  # noqa: S105 - a throw-away user of a throw-away portal
SSHD = Path("/usr/sbin/sshd")
BENCH_USER = "portalbench"  # the throw-away system user (only made when running as root)
BENCH_USER_COMMENT = "portal bench, throw-away"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36
MIB = 1024 * 1024
BENCH_REDIS_DB = 12  # the login guard's state while the bench runs (flushed first)


@dataclass
class Server:
    """One server under test: where a client logs in, where uploads go, and its CPU so far."""

    name: str
    port: int = 0
    username: str = ""
    password: str = ""
    folder: str = ""  # where each run makes its own folder (an album folder on the portal)
    cpu: Callable[[], float] = lambda: 0.0  # CPU seconds the server spent so far
    settle: Callable[[], None] = lambda: None  # waits until a finished session's CPU is counted
    cleanup: Callable[[str], None] = lambda sub: None  # drops a run's uploaded files (untimed)
    skipped: str = ""
    log: Path | None = None  # the server's own output, quoted when a run fails
    key: Path | None = None  # a client key this server accepts for ``username``
    results: dict[str, float] = field(default_factory=dict)

    def log_tail(self, lines: int = 5) -> str:
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_text(errors="replace").strip().splitlines()[-lines:]
        return "\n  ".join(["", f"{self.name}'s log ends:", *tail]) if tail else ""


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, alive: Callable[[], bool] = lambda: True, deadline: float = 30.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end and alive():
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to this one PID, SIGKILL if it does not end in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stat_times(pid: int) -> tuple[int, int, int, int]:
    """utime, stime, cutime, cstime of a process, in clock ticks."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3, the state
    return int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants: live ones read, ended ones as reaped."""
    try:
        utime, stime, cutime, cstime = stat_times(pid)
    except (OSError, ValueError):
        return 0.0
    return (utime + stime + cutime + cstime) / CLOCK_TICKS + sum(tree_cpu(child) for child in children(pid))


def settle_children(pid: int, keep: int = 0, deadline: float = 10) -> None:
    """Wait until ``pid`` has at most ``keep`` children: finished sessions are reaped (CPU counted)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end and len(children(pid)) > keep:
        time.sleep(0.02)


def reap_main(argv: list[str]) -> None:
    """``python -m bench.servers reap -- command ...``: run command as a subreaper that reaps everything.

    Every descendant that outlives its parent is handed to this process and reaped here, so this
    process's cutime + cstime (plus the command's own times) is all the CPU the command's process
    tree spent. SIGTERM is passed on to the command; this ends when no descendant is left.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")
    pid = os.posix_spawn(argv[0], argv, os.environ)

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    status = 0
    while True:
        try:
            done, code = os.wait()
        except ChildProcessError:
            break
        if done == pid:
            status = os.waitstatus_to_exitcode(code)
    raise SystemExit(status if status >= 0 else 128 - status)


def make_files(folder: Path, count: int, size: int, prefix: str) -> list[Path]:
    """``count`` files of ``size`` bytes, incompressible like JPEG data, every one different."""
    folder.mkdir(parents=True, exist_ok=True)
    block = os.urandom(min(size, MIB))
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:04d}.jpg"
        with open(path, "wb") as f:
            f.write(i.to_bytes(8, "big"))
            remaining = size - 8
            while remaining > 0:
                remaining -= f.write(block[: min(remaining, len(block))])
        paths.append(path)
    return paths


# --- the throw-away portal -----------------------------------------------------------------------


BENCH_DATABASE = "portal_bench"  # the throw-away database on BENCH_DATABASE_URL's server


def _throw_away_database(url: str) -> str:
    """A new, empty database ``BENCH_DATABASE`` on the PostgreSQL server of ``url`` (an earlier one dropped)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"BENCH_DATABASE_URL must be a postgres:// URL, not {url!r}")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DATABASE}")
    return urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def drop_database() -> None:
    """Drops the throw-away database of ``setup_portal`` if it made one (after the servers stopped)."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return
    import psycopg
    from django.db import connections

    connections.close_all()
    with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")


def setup_portal(var: Path, max_file_bytes: int) -> None:
    """A throw-away portal: environment first, then Django (settings read the environment once).

    Its database is SQLite under ``var`` (the embedded run's), or with ``BENCH_DATABASE_URL``
    (a PostgreSQL server's URL, as production runs) a new database ``portal_bench`` there,
    dropped again by ``drop_database``.
    """
    database = os.environ.get("BENCH_DATABASE_URL", "")
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "LOGIN_REDIS_URL", "MEDIA_ROOT", "TREE_ROOT"):
        os.environ.pop(name, None)
    os.environ.update(
        PORTAL_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="portal.settings",
        # As in production: DEBUG=True keeps every SQL query of the process in memory, at a cost per query.
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        LOG_LEVEL="WARNING",
        TREE_MAX_FILE_BYTES=str(max_file_bytes),  # the big files are throughput probes, not photos
        LOGIN_MAX_SESSIONS_PER_USER="100",
        LOGIN_MAX_UNAUTH_PER_ADDRESS="100",
        # The login figures time real checks, not the cheaper refusal of a ban.
        LOGIN_BAN_USER_FAILURES="1000",
        LOGIN_BAN_ADDRESS_FAILURES="1000",
    )
    if database:
        os.environ["DATABASE_URL"] = _throw_away_database(database)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from albums.services import album_create
    from jobs import services

    account = services.account_create(name="Bench Studio")
    user = services.ftp_user_create(account=account, username="bench", password=PASSWORD)
    job = services.job_create(account=account, internal_name="job00001", title="Bench")
    album_create(job=job, name="Class 1", ftp_user=user)


def client_key(var: Path) -> Path:
    """An Ed25519 client key, added to the portal's FTP user ``bench``."""
    key = var / "client_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        from jobs import selectors, services

        user = selectors.ftp_user_get(username="bench")
        services.ssh_key_add(ftp_user=user, public_key=key.with_suffix(".pub").read_text())
    return key


def _clean_uploads() -> Callable[[str], None]:
    from django.conf import settings

    uploads = Path(settings.MEDIA_ROOT) / "uploads"

    def cleanup(sub: str) -> None:
        """The uploads' bytes go (a run's GBs add up); their records stay, nobody reads them."""
        for path in uploads.rglob("*"):
            if path.is_file():
                path.unlink()

    return cleanup


def login_redis() -> dict[str, str]:
    """Production's setting for the login guard when a Redis answers on this machine: shared state.

    With it ``runsftpd`` runs one process per core (``SFTPD_PROCESSES=auto``); its database
    (``BENCH_REDIS_DB``) is emptied first. Without a Redis the bench says so and runs one per core anyway.
    """
    url = f"redis://127.0.0.1:6379/{BENCH_REDIS_DB}"
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        client.flushdb()
        client.close()
    except Exception as exc:  # no Redis here: per-process guard state, which the bench does not test
        print(f"  no Redis at {url} ({type(exc).__name__}): SFTPD_PROCESSES set to the cores", flush=True)
        return {"SFTPD_PROCESSES": str(os.cpu_count() or 1)}
    return {"LOGIN_REDIS_URL": url}


@contextmanager
def portal_sftpd(var: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """``manage.py runsftpd`` of the throw-away portal on a free loopback port, as production runs it."""
    env = {**login_redis(), **(env or {})}
    port = free_port()
    log_path = var / f"runsftpd-{port}.log"
    command = [sys.executable, str(ROOT / "manage.py"), "runsftpd", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **env})
    try:
        if not wait_for_port(port, lambda: server.poll() is None):
            reason = log_path.read_text(errors="replace").strip()[-300:]
            yield Server("portal", skipped=f"runsftpd did not start: {reason}")
            return
        yield Server(
            "portal",
            port,
            "bench",
            PASSWORD,
            "/job00001",
            cpu=lambda: tree_cpu(server.pid),
            cleanup=_clean_uploads(),
            log=log_path,
            key=client_key(var),
        )
    finally:
        stop(server)


@contextmanager
def system_user(home: Path) -> Iterator[tuple[str, str]]:
    """A throw-away system user (name, password) that sshd and vsftpd log in (shell /bin/sh for PAM)."""
    try:
        existing = pwd.getpwnam(BENCH_USER)
    except KeyError:
        existing = None
    if existing is not None and existing.pw_gecos != BENCH_USER_COMMENT:
        raise RuntimeError(f"a user {BENCH_USER} exists that the bench did not make")
    if existing is None:
        options = ["--system", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh"]
        subprocess.run(
            ["useradd", *options, "--comment", BENCH_USER_COMMENT, BENCH_USER], check=True, capture_output=True
        )
    else:  # left over by a run that was killed: take it over
        subprocess.run(["usermod", "--home", str(home), BENCH_USER], check=True, capture_output=True)
    try:
        password = secrets.token_urlsafe(18)
        subprocess.run(["chpasswd"], input=f"{BENCH_USER}:{password}\n".encode(), check=True, capture_output=True)
        yield BENCH_USER, password
    finally:
        subprocess.run(["userdel", BENCH_USER], check=False, capture_output=True)


@contextmanager
def sshd(var: Path, key: Path) -> Iterator[Server]:
    """A throw-away OpenSSH sshd with internal-sftp, at OpenSSH's default algorithms, or why not.

    Logs in the throw-away system user by ``key`` or by password (sshd checks /etc/shadow's
    yescrypt hash itself: ``UsePAM no``). It runs under ``reap_main`` so the CPU of its session
    processes counts.
    """
    if not SSHD.exists():
        yield Server("sshd", skipped="sshd not installed (Debian package openssh-server)")
        return
    if os.geteuid() != 0:
        yield Server("sshd", skipped="sshd logs in a system user by password: run the bench as root (throw-away user)")
        return
    if not Path("/run/sshd").is_dir():
        Path("/run/sshd").mkdir(mode=0o755)  # sshd's privilege separation directory, as systemd makes it
    folder = var / "sshd"
    folder.mkdir()
    home = folder / "home"
    home.mkdir()
    for traversed in (var, folder):
        traversed.chmod(0o711)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")], check=True)
    shutil.copy(key.with_suffix(".pub"), folder / "authorized_keys")
    port = free_port()
    config = folder / "sshd_config"
    settings = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {folder / 'host_key'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}",
        f"PidFile {folder / 'sshd.pid'}",
        "PasswordAuthentication yes",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "MaxStartups 100:30:200",
        "MaxSessions 100",
        "Subsystem sftp internal-sftp",
        "LogLevel ERROR",
    ]
    config.write_text("\n".join(settings) + "\n")
    with system_user(home) as (user, password):
        shutil.chown(home, user)
        log_path = folder / "log"
        with open(log_path, "wb") as log:
            reaper = subprocess.Popen(
                [sys.executable, "-m", "bench.servers", "reap", "--", str(SSHD), "-D", "-e", "-f", str(config)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            if not wait_for_port(port, lambda: reaper.poll() is None, 10):
                reason = log_path.read_text(errors="replace").strip()[:300]
                yield Server("sshd", skipped=f"sshd did not start: {reason}")
                return
            listener = next(iter(children(reaper.pid)), 0)

            def settle() -> None:
                settle_children(listener)
                settle_children(reaper.pid, keep=1)

            def cleanup(sub: str) -> None:
                shutil.rmtree(home / sub, ignore_errors=True)

            yield Server(
                "sshd",
                port,
                user,
                password,
                str(home),
                cpu=lambda: tree_cpu(reaper.pid),
                settle=settle,
                cleanup=cleanup,
                log=log_path,
                key=key,
            )
        finally:
            stop(reaper)


if __name__ == "__main__":
    if sys.argv[1:2] == ["reap"]:
        with contextlib.suppress(KeyboardInterrupt):
            reap_main(sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.servers reap -- command ...  (the bench runs from python -m bench)")
