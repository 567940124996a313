"""The FTP door's benchmark: the portal's ``runftpd`` next to a throw-away vsftpd (``python -m bench``).

What lives here:

- ``run``: starts both servers on free loopback ports, uploads the same files to each with the
  same client (lftp, one session per workload: ``put`` of one big file, ``mput`` of many small
  ones), over plain FTP and over explicit FTPS (AUTH TLS, PROT P), times sessions that only log
  in, and prints a table of MB/s, files/s and the server's CPU seconds per GB with the portal's
  ratio to vsftpd (``print_table``). Each upload is checked afterwards (a listing of its folder;
  an lftp that had to reconnect is a failure), and its bytes are deleted.
- The portal side (``portal_ftpd``): ``manage.py runftpd`` in the throw-away portal
  ``bench.__main__`` set up, with DEBUG=False as in production. Its FTP user ``bench`` is allowed
  plain FTP for the FTP rows; uploads go into a new album folder of ``/job00001``. Its flood limit
  (FTPD_MAX_COMMANDS_PER_SECOND, which counts PASV but not TYPE or the transfers) is raised so that
  it can never shape a figure. Its CPU is the process's utime + stime (one process, a thread per session).
- The vsftpd side (``vsftpd``; Debian package ``vsftpd``): its own config file, a self-signed
  certificate and a folder in the bench's temporary directory. vsftpd logs local users in through
  PAM and refuses root (``/etc/ftpusers``), so when the bench runs as root it adds a throw-away
  system user (``useradd``; shell /bin/sh for ``pam_shells``, a random password) and removes it
  afterwards (``userdel``); as anyone else the vsftpd rows are skipped with that reason. vsftpd
  forks processes per session, some of which outlive their parent, so it runs under a small
  subreaper (``python -m bench.ftp reap -- vsftpd ...``, ``PR_SET_CHILD_SUBREAPER``, ``reap_main``)
  that reaps every one of them: its cutime + cstime plus the listener's own times (cutime
  included) is all the CPU vsftpd spent. It is stopped by its PID (SIGTERM to the reaper, passed on).

Fair race: both servers write into the same filesystem; the page cache is synced before every
timed run (not during it). The portal hashes and fsyncs every finished file and records it
(storage link, upload row, queued task); vsftpd only writes the bytes. lftp sends no FEAT, so both
servers see the same commands (PASV + STOR per file; no MFMT, which only the portal offers). FTPS
is TLS 1.2 with AES-256-GCM for both (the portal allows at most TLS 1.2; lftp is pinned to it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import pwd
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VSFTPD = Path("/usr/sbin/vsftpd")
VSFTPD_USER = "portalbenchftp"  # the throw-away system user (only made when running as root)
VSFTPD_USER_COMMENT = "portal bench, throw-away"
# GnuTLS priority for lftp: the portal speaks TLS 1.2 at most; one cipher both servers offer.
TLS_PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36
MIB = 1024 * 1024
SMALL_FILE_BYTES = 2 * MIB
COMMANDS_PER_SECOND = 100_000  # the portal's flood limit, out of the way (see portal_ftpd)
LOGINS = 10  # sessions per login figure
TARGET = 0.8  # the portal should reach this fraction of vsftpd on every row


@dataclass
class FtpServer:
    """One FTP server under test: where lftp logs in, where uploads go, and its CPU so far."""

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
    results: dict[str, float] = field(default_factory=dict)

    def log_tail(self, lines: int = 5) -> str:
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_text(errors="replace").strip().splitlines()[-lines:]
        return "\n  ".join(["", f"{self.name}'s log ends:", *tail]) if tail else ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ftp-big-mb", type=int, default=1024, help="FTP: size of the big file in MiB (default 1024)")
    parser.add_argument("--ftp-files", type=int, default=500, help="FTP: number of 2 MiB files (default 500)")


def quick(args: argparse.Namespace) -> None:
    args.ftp_big_mb, args.ftp_files = 100, 50


def max_file_bytes(args: argparse.Namespace) -> int:
    """What TREE_MAX_FILE_BYTES must allow for the big file (with room to spare)."""
    return max(1024**3, args.ftp_big_mb * MIB) + 64 * MIB


# --- CPU accounting ----------------------------------------------------------------------------


def _stat_times(pid: int) -> tuple[int, int, int, int]:
    """utime, stime, cutime, cstime of a process, in clock ticks."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; fields[0] is field 3, the state
    return int(fields[11]), int(fields[12]), int(fields[13]), int(fields[14])


def _children(pid: int) -> list[int]:
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


def reap_main(argv: list[str]) -> None:
    """``python -m bench.ftp reap -- command ...``: run command as a subreaper that reaps everything.

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


# --- the servers ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, alive: Callable[[], bool], deadline: float = 30.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end and alive():
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM to this one PID, SIGKILL if it does not end in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def portal_ftpd(var: Path, password: str) -> Iterator[FtpServer]:
    """``manage.py runftpd`` of the throw-away portal, its FTP user ``bench`` allowed plain FTP."""
    from django.conf import settings

    from jobs import selectors, services

    services.ftp_user_set_plain_ftp(ftp_user=selectors.ftp_user_get(username="bench"), allowed=True)
    uploads = Path(settings.MEDIA_ROOT) / "uploads"  # where finished uploads are stored

    port, implicit_port = _free_port(), _free_port()
    env = dict(
        os.environ,
        FTPD_PASSIVE_PORTS="",  # any free port
        FTPD_TLS_DIR=str(var / "tls"),
        FTPD_PUBLIC_HOST="127.0.0.1",
        # vsftpd has no flood limit; the portal's (PASV counts) must not shape the small-file figures.
        FTPD_MAX_COMMANDS_PER_SECOND=str(COMMANDS_PER_SECOND),
        # As in production: DEBUG=True keeps every SQL query of the process in memory, at a cost per query.
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    command = [sys.executable, str(ROOT / "manage.py"), "runftpd", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--implicit-port", str(implicit_port)]
    with open(var / "runftpd.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        if not _wait_for_port(port, lambda: server.poll() is None):
            reason = (var / "runftpd.log").read_text(errors="replace").strip()[-300:]
            yield FtpServer("portal", skipped=f"runftpd did not start: {reason}")
            return

        def cpu() -> float:
            utime, stime, _, _ = _stat_times(server.pid)
            return (utime + stime) / CLOCK_TICKS

        def cleanup(sub: str) -> None:
            """The uploads' bytes go (a run's GBs add up); their records stay, nobody reads them."""
            for path in uploads.rglob("*"):
                if path.is_file():
                    path.unlink()

        yield FtpServer("portal", port, "bench", password, "/job00001", cpu, cleanup=cleanup, log=var / "runftpd.log")
    finally:
        _stop(server)


@contextmanager
def _system_user(home: Path) -> Iterator[str]:
    """A throw-away system user vsftpd lets log in (PAM: a password, a shell in /etc/shells)."""
    try:
        existing = pwd.getpwnam(VSFTPD_USER)
    except KeyError:
        existing = None
    if existing is not None and existing.pw_gecos != VSFTPD_USER_COMMENT:
        raise RuntimeError(f"a user {VSFTPD_USER} exists that the bench did not make")
    if existing is None:
        options = ["--system", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/sh"]
        subprocess.run(
            ["useradd", *options, "--comment", VSFTPD_USER_COMMENT, VSFTPD_USER],
            check=True,
            capture_output=True,
        )
    else:  # left over by a run that was killed: take it over
        subprocess.run(["usermod", "--home", str(home), VSFTPD_USER], check=True, capture_output=True)
    try:
        password = secrets.token_urlsafe(18)
        subprocess.run(["chpasswd"], input=f"{VSFTPD_USER}:{password}\n".encode(), check=True, capture_output=True)
        yield password
    finally:
        subprocess.run(["userdel", VSFTPD_USER], check=False, capture_output=True)


def _vsftpd_config(folder: Path, port: int, root: Path) -> Path:
    (folder / "empty").mkdir(mode=0o755)  # secure_chroot_dir: empty, not writable by the user
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [*request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    passive = _free_port()  # vsftpd takes a range; a small one next to a port that was free
    settings = {
        "listen": "YES",
        "listen_ipv6": "NO",
        "listen_address": "127.0.0.1",
        "listen_port": str(port),
        "background": "NO",
        "seccomp_sandbox": "NO",
        "anonymous_enable": "NO",
        "local_enable": "YES",
        "write_enable": "YES",
        "local_umask": "022",
        "local_root": str(root),
        "chroot_local_user": "NO",
        "secure_chroot_dir": str(folder / "empty"),
        "pam_service_name": "vsftpd",
        "userlist_enable": "NO",
        "pasv_enable": "YES",
        "pasv_address": "127.0.0.1",
        "pasv_min_port": str(passive),
        "pasv_max_port": str(min(passive + 50, 65535)),
        "ssl_enable": "YES",
        "allow_anon_ssl": "NO",
        "force_local_data_ssl": "NO",  # plain FTP for the FTP rows; lftp insists on TLS for the FTPS rows
        "force_local_logins_ssl": "NO",
        "ssl_tlsv1": "YES",  # vsftpd 3.0.3 has no ssl_tlsv1_2 switch: TLS 1.x, pinned to 1.2 by lftp
        "ssl_sslv2": "NO",
        "ssl_sslv3": "NO",
        "ssl_ciphers": "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM",  # the portal's list (ftpd/tls.py)
        "require_ssl_reuse": "NO",
        "strict_ssl_read_eof": "YES",  # as the portal: no close_notify, no finished upload
        "rsa_cert_file": str(cert),
        "rsa_private_key_file": str(key),
        "xferlog_enable": "NO",
        "dual_log_enable": "NO",
        "vsftpd_log_file": str(folder / "vsftpd.log"),
    }
    config = folder / "vsftpd.conf"
    config.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    return config


@contextmanager
def vsftpd(var: Path) -> Iterator[FtpServer]:
    """A throw-away vsftpd on a free loopback port, or a reason it cannot run."""
    if not VSFTPD.exists():
        yield FtpServer("vsftpd", skipped="vsftpd not installed (Debian package vsftpd)")
        return
    if os.geteuid() != 0:
        yield FtpServer("vsftpd", skipped="vsftpd logs in system users only: run the bench as root (throw-away user)")
        return
    folder = var / "vsftpd"
    folder.mkdir()
    root = folder / "root"  # the user's login folder: uploads land here
    root.mkdir()
    for traversed in (var, folder):
        traversed.chmod(0o711)  # the unprivileged session process must reach root/
    port = _free_port()
    config = _vsftpd_config(folder, port, root)
    with _system_user(root) as password:
        shutil.chown(root, VSFTPD_USER)
        errors = folder / "errors"  # vsftpd writes its "500 OOPS" to file descriptor 0
        with open(errors, "wb") as err:
            reaper = subprocess.Popen(
                [sys.executable, "-m", "bench.ftp", "reap", "--", str(VSFTPD), str(config)],
                cwd=ROOT,
                stdin=err,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            listener = 0
            end = time.monotonic() + 10
            while not listener and time.monotonic() < end and reaper.poll() is None:
                listener = next(iter(_children(reaper.pid)), 0)
                time.sleep(0.05)
            if not listener or not _wait_for_port(port, lambda: reaper.poll() is None, 10):
                reason = errors.read_text(errors="replace").strip()[:300] or "no reason given"
                yield FtpServer("vsftpd", skipped=f"vsftpd did not start: {reason}")
                return

            def cpu() -> float:
                _, _, reaped_user, reaped_system = _stat_times(reaper.pid)
                utime, stime, cutime, cstime = _stat_times(listener)
                return (reaped_user + reaped_system + utime + stime + cutime + cstime) / CLOCK_TICKS

            def settle() -> None:
                """Wait until every session process is gone and reaped (its CPU counted)."""
                end = time.monotonic() + 10
                while time.monotonic() < end:
                    if not _children(listener) and _children(reaper.pid) == [listener]:
                        return
                    time.sleep(0.02)

            def cleanup(sub: str) -> None:
                shutil.rmtree(root / sub, ignore_errors=True)

            yield FtpServer("vsftpd", port, VSFTPD_USER, password, ".", cpu, settle, cleanup, log=errors)
        finally:
            _stop(reaper)


# --- the client and the workloads -----------------------------------------------------------------


def _lftp_script(server: FtpServer, tls: bool, log: Path) -> list[str]:
    lines = [
        f"debug -o {log} 3",  # connections and replies: a reconnect is seen, not hidden
        "set cmd:fail-exit yes",
        "set net:max-retries 1",
        "set net:timeout 60",
        "set ftp:passive-mode yes",
        # No FEAT: the same commands for both servers (PASV + STOR per file). With FEAT lftp would
        # send OPTS UTF8 and, to the portal only (vsftpd 3.0.3 has none), an MFMT after every file.
        "set ftp:use-feat no",
        "set ftp:use-site-utime no",
        "set ftp:use-site-utime2 no",
    ]
    if tls:
        lines += [
            "set ftp:ssl-force yes",
            "set ftp:ssl-protect-data yes",
            "set ftp:ssl-protect-list yes",
            "set ssl:verify-certificate no",  # both certificates are self-signed and throw-away
            f'set ssl:priority "{TLS_PRIORITY}"',
        ]
    else:
        lines.append("set ftp:ssl-allow no")
    lines += [f"open -p {server.port} 127.0.0.1", f'user {server.username} "{server.password}"']
    return lines


def _lftp(server: FtpServer, tls: bool, commands: list[str], path: Path, timeout: float = 900) -> str:
    """Run one lftp session; its output. Raises when lftp failed or had to connect more than once."""
    log = path.with_suffix(".log")
    log.unlink(missing_ok=True)
    path.write_text("\n".join([*_lftp_script(server, tls, log), *commands, "quit"]) + "\n")
    result = subprocess.run(["lftp", "-f", str(path)], capture_output=True, text=True, timeout=timeout)
    debug = log.read_text(errors="replace").splitlines() if log.exists() else []
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-400:]
        raise RuntimeError(f"{server.name}: lftp failed: {output}{server.log_tail()}")
    if sum(line.startswith("---- Connecting") for line in debug) > 1:
        refusals = [line for line in debug if line.startswith("<--- 4")]
        last = refusals[-1] if refusals else "no 4xx reply"
        raise RuntimeError(f"{server.name}: lftp had to reconnect ({last}){server.log_tail()}")
    return result.stdout


def _upload(server: FtpServer, tls: bool, files: Path, sub: str, scratch: Path) -> tuple[float, float]:
    """Seconds and server CPU seconds for one lftp session putting ``files`` into a new folder."""
    names = sorted(p.name for p in files.iterdir())
    assert " " not in str(files), "lftp's mput globs an unquoted path"
    commands = [f'cd "{server.folder}"', f'mkdir "{sub}"', f'cd "{sub}"']
    commands.append(f'put "{files / names[0]}"' if len(names) == 1 else f"mput {files}/*.jpg")
    os.sync()  # the last run's dirty pages are not this run's work
    server.settle()
    cpu = server.cpu()
    started = time.perf_counter()
    _lftp(server, tls, commands, scratch / f"{server.name}-{sub}.lftp")
    elapsed = time.perf_counter() - started
    server.settle()
    cpu = server.cpu() - cpu
    listed = _lftp(server, tls, [f'cls -1 "{server.folder}/{sub}/"'], scratch / "check.lftp")
    got = sorted(line.rstrip("/").rsplit("/", 1)[-1] for line in listed.split() if line.endswith(".jpg"))
    if got != names:
        listed_count = f"{len(got)} of {len(names)} files listed after the upload"
        raise RuntimeError(f"{server.name}: {listed_count}{server.log_tail()}")
    server.cleanup(sub)
    return elapsed, cpu


def _logins(server: FtpServer, tls: bool, scratch: Path, count: int) -> tuple[float, float]:
    """Median seconds of a whole session that only logs in (connect, login, NOOP, QUIT); CPU per session."""
    times = []
    server.settle()
    cpu = server.cpu()
    for _ in range(count):
        started = time.perf_counter()
        _lftp(server, tls, ["quote NOOP"], scratch / f"{server.name}-login.lftp")
        times.append(time.perf_counter() - started)
    server.settle()
    return statistics.median(times), (server.cpu() - cpu) / count


def _make_files(folder: Path, count: int, size: int, prefix: str) -> Path:
    folder.mkdir(parents=True)
    block = os.urandom(MIB)  # incompressible, like JPEG data
    for i in range(count):
        with open(folder / f"{prefix}{i:04d}.jpg", "wb") as f:
            f.write(i.to_bytes(8, "big"))  # every file different
            remaining = size - 8
            while remaining > 0:
                remaining -= f.write(block[: min(remaining, len(block))])
    return folder


@dataclass(frozen=True)
class Workload:
    label: str
    files: Path
    count: int
    size: int  # bytes per file


def _rows(workload: Workload, mode: str) -> tuple[str, str, str]:
    """Row names: throughput, files/s, CPU per GB."""
    prefix = f"{mode:<4} {workload.label}"
    return f"{prefix}  MB/s", f"{prefix}  files/s", f"{prefix}  CPU s/GB"


def run(var: Path, args: argparse.Namespace, password: str) -> None:
    """Both FTP servers, both modes, both workloads; prints progress and the table.

    ``var`` is the throw-away portal's folder, ``password`` its FTP user's (``bench``).
    """
    if shutil.which("lftp") is None:
        print("FTP door skipped: the lftp client is needed (Debian package lftp)", flush=True)
        return
    scratch = var / "ftp-files"
    big_mb = args.ftp_big_mb
    workloads = [
        Workload(f"1 x {big_mb} MiB", _make_files(scratch / "big", 1, big_mb * MIB, "big"), 1, big_mb * MIB),
        Workload(
            f"{args.ftp_files} x 2 MiB",
            _make_files(scratch / "small", args.ftp_files, SMALL_FILE_BYTES, "small"),
            args.ftp_files,
            SMALL_FILE_BYTES,
        ),
    ]
    with portal_ftpd(var, password) as portal, vsftpd(var) as reference:
        servers = [portal, reference]
        print(f"FTP uploads with lftp, one session per upload (best of {args.repeat}):", flush=True)
        for mode, tls in (("FTP", False), ("FTPS", True)):
            for workload in workloads:
                rate, per_file, cpu_row = _rows(workload, mode)
                total = workload.count * workload.size
                for server in servers:
                    if server.skipped:
                        continue
                    runs = [
                        _upload(server, tls, workload.files, f"{mode}-{workload.count}-{server.name}-{n}", scratch)
                        for n in range(args.repeat)
                    ]
                    seconds = min(s for s, _ in runs)
                    server.results[rate] = total / 1e6 / seconds
                    if workload.count > 1:
                        server.results[per_file] = workload.count / seconds
                    server.results[cpu_row] = min(c for _, c in runs) / (total / 1e9)
                    shown = ", ".join(
                        f"{row.split('  ')[-1]} {server.results[row]:.2f}"
                        for row in (rate, per_file, cpu_row)
                        if row in server.results
                    )
                    print(f"  {server.name:<7} {mode:<4} {workload.label:<14} {shown}", flush=True)
            for server in servers:
                if server.skipped:
                    continue
                seconds, cpu = _logins(server, tls, scratch, LOGINS)
                server.results[f"{mode:<4} login only  ms"] = seconds * 1000
                server.results[f"{mode:<4} login only  CPU ms"] = cpu * 1000
                shown = f"{seconds * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms"
                print(f"  {server.name:<7} {mode:<4} {'login only':<14} {shown}", flush=True)
    print_table(portal, reference, args)


def print_table(portal: FtpServer, reference: FtpServer, args: argparse.Namespace) -> None:
    rows = list(portal.results) + [r for r in reference.results if r not in portal.results]
    headers = ["FTP door", "portal (runftpd)", "vsftpd", "portal vs vsftpd"]
    table = []
    for row in rows:
        ours, theirs = portal.results.get(row), reference.results.get(row)
        ratio = "-"
        if ours and theirs:
            # Higher is better: throughput portal/vsftpd; CPU and time vsftpd/portal.
            value = theirs / ours if row.endswith(("CPU s/GB", "ms")) else ours / theirs
            ratio = f"{value:.2f}x"
            if value < TARGET and "login" not in row:
                ratio += f"  (below {TARGET}x)"
        table.append([row, _figure(ours), _figure(theirs), ratio])
    widths = [max(len(r[i]) for r in [headers, *table]) for i in range(len(headers))]
    print()
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in table:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    for server in (portal, reference):
        if server.skipped:
            print(f"{server.name}: skipped, {server.skipped}")
    print(
        f"\nSame machine, loopback, lftp client (one session per upload, best of {args.repeat}); FTPS is explicit "
        f"(AUTH TLS, PROT P), TLS 1.2 AES-256-GCM for both; {os.cpu_count()} CPUs. MB = 10^6 bytes. "
        "'portal vs vsftpd' is higher-is-better: portal/vsftpd for MB/s and files/s, vsftpd/portal for "
        f"CPU s/GB (server CPU per 10^9 bytes uploaded, login included) and for ms; the target is {TARGET}x on "
        "every upload row. Login rows: a whole session that only logs in (median of "
        f"{LOGINS}; the portal checks a PBKDF2 password hash, vsftpd a crypt(3) one through PAM). The portal's "
        "figures include its real work per file (SHA-256, fsync, storage link, upload record, queued task; "
        "DEBUG=False, the embedded SQLite); "
        f"vsftpd only writes the bytes. The portal's flood limit is raised to {COMMANDS_PER_SECOND} commands/s."
    )


def _figure(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.2f}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["reap"]:
        with contextlib.suppress(KeyboardInterrupt):
            reap_main(sys.argv[3:] if sys.argv[2:3] == ["--"] else sys.argv[2:])
    else:
        raise SystemExit("usage: python -m bench.ftp reap -- command ...  (the benchmark runs from python -m bench)")
