"""The FTP door's rows: the portal's ``runftpd`` next to a throw-away vsftpd (``python -m bench --only ftp``).

What lives here:

- ``rows``: the same lftp client uploads the same files to both servers, one session per upload
  (``put`` of one 1 GiB file, ``mput`` of 500 x 2 MiB; 100 MiB and 50 files with ``--quick``),
  over plain FTP and over explicit FTPS (AUTH TLS, PROT P), and times sessions that only log in.
  Every row alternates rounds between the two servers (``report.alternate``, 3 rounds, 1 with
  ``--quick``) and reports medians: MB/s (one file) or files/s (many), the server's CPU seconds per
  GB, and for the login-only sessions milliseconds and server CPU milliseconds per session. Each
  upload is checked afterwards (a listing of its folder; an lftp that had to reconnect is a
  failure), and its bytes are deleted.
- ``portal_ftpd``: ``manage.py runftpd`` in the throw-away portal ``bench.servers.setup_portal``
  made (DEBUG=False, as in production). Its FTP user ``bench`` is allowed plain FTP for the FTP
  rows; uploads go into a new album folder of ``/job00001``. Its flood limit
  (FTPD_MAX_COMMANDS_PER_SECOND, which counts PASV but not TYPE or the transfers) is raised so that
  it can never shape a figure. The login-only sessions each log in a different FTP user, so each
  one computes its Argon2id check, as vsftpd computes its crypt(3) one; a client's further
  connections within LOGIN_VERIFIED_TTL would skip it.
- ``vsftpd`` (Debian package ``vsftpd``): its own config file, a self-signed certificate and a
  folder in the bench's temporary directory. vsftpd logs in local users through PAM and refuses
  root (``/etc/ftpusers``), so it logs in ``bench.servers.system_user``, made only when the bench
  runs as root; as anyone else the vsftpd side is skipped with that reason. vsftpd forks processes
  per session, some of which outlive their parent, so it runs under ``python -m bench.servers reap``
  and its CPU is that whole process tree's (``servers.tree_cpu``). It is stopped by its PID.

Fair race: both servers write into the same filesystem; the page cache is synced before every
timed run (not during it). The portal hashes and fsyncs every finished file and records it
(storage link, upload row, queued task); vsftpd only writes the bytes. lftp sends no FEAT, so both
servers see the same commands (PASV + STOR per file; no MFMT, which only the portal offers). FTPS
is TLS 1.2 with AES-256-GCM for both (the portal allows at most TLS 1.2; lftp is pinned to it).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench import servers
from bench.report import Row, alternate, median_row
from bench.servers import MIB, ROOT, Server

VSFTPD = Path("/usr/sbin/vsftpd")
# GnuTLS priority for lftp: the portal speaks TLS 1.2 at most; one cipher both servers offer.
TLS_PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM"
GB = 1e9
COMMANDS_PER_SECOND = 100_000  # the portal's flood limit, out of the way (see portal_ftpd)
LOGINS = 10  # login-only sessions per round
THROUGHPUT_TARGET = ">= 0.8"  # the FTP door's own target (issue 9)
CPU_TARGET = "<= 1.5"


# --- the servers ---------------------------------------------------------------------------------


@contextmanager
def portal_ftpd(var: Path) -> Iterator[Server]:
    """``manage.py runftpd`` of the throw-away portal, its FTP user ``bench`` allowed plain FTP."""
    from jobs import selectors, services

    services.ftp_user_set_plain_ftp(ftp_user=selectors.ftp_user_get(username="bench"), allowed=True)
    port, implicit_port = servers.free_port(), servers.free_port()
    env = dict(
        os.environ,  # setup_portal's: the throw-away portal, DEBUG=False
        FTPD_PASSIVE_PORTS="",  # any free port
        FTPD_TLS_DIR=str(var / "tls"),
        FTPD_PUBLIC_HOST="127.0.0.1",
        # vsftpd has no flood limit; the portal's (PASV counts) must not shape the small-file figures.
        FTPD_MAX_COMMANDS_PER_SECOND=str(COMMANDS_PER_SECOND),
    )
    command = [sys.executable, str(ROOT / "manage.py"), "runftpd", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--implicit-port", str(implicit_port)]
    log_path = var / "runftpd.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        if not servers.wait_for_port(port, lambda: server.poll() is None):
            reason = log_path.read_text(errors="replace").strip()[-300:]
            yield Server("portal", skipped=f"runftpd did not start: {reason}")
            return
        yield Server(
            "portal",
            port,
            "bench",
            servers.PASSWORD,
            "/job00001",
            cpu=lambda: servers.tree_cpu(server.pid),
            cleanup=servers._clean_uploads(),
            log=log_path,
        )
    finally:
        servers.stop(server)


def _vsftpd_config(folder: Path, port: int, root: Path) -> Path:
    (folder / "empty").mkdir(mode=0o755)  # secure_chroot_dir: empty, not writable by the user
    cert, key = folder / "cert.pem", folder / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    subprocess.run([*request, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    passive = servers.free_port()  # vsftpd takes a range; a small one next to a port that was free
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
def vsftpd(var: Path) -> Iterator[Server]:
    """A throw-away vsftpd on a free loopback port, or a reason it cannot run."""
    if not VSFTPD.exists():
        yield Server("vsftpd", skipped="vsftpd not installed (Debian package vsftpd)")
        return
    if os.geteuid() != 0:
        yield Server("vsftpd", skipped="vsftpd logs in system users only: run the bench as root (throw-away user)")
        return
    folder = var / "vsftpd"
    folder.mkdir()
    root = folder / "root"  # the user's login folder: uploads land here
    root.mkdir()
    for traversed in (var, folder):
        traversed.chmod(0o711)  # the unprivileged session process must reach root/
    port = servers.free_port()
    config = _vsftpd_config(folder, port, root)
    with servers.system_user(root) as (user, password):
        shutil.chown(root, user)
        errors = folder / "errors"  # vsftpd writes its "500 OOPS" to file descriptor 0
        with open(errors, "wb") as err:
            reaper = subprocess.Popen(
                [sys.executable, "-m", "bench.servers", "reap", "--", str(VSFTPD), str(config)],
                cwd=ROOT,
                stdin=err,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            if not servers.wait_for_port(port, lambda: reaper.poll() is None, 10):
                reason = errors.read_text(errors="replace").strip()[:300] or "no reason given"
                yield Server("vsftpd", skipped=f"vsftpd did not start: {reason}")
                return
            listener = next(iter(servers.children(reaper.pid)), 0)

            def settle() -> None:
                """Every finished session's processes gone and reaped: their CPU counted."""
                servers.settle_children(listener)
                servers.settle_children(reaper.pid, keep=1)

            def cleanup(sub: str) -> None:
                shutil.rmtree(root / sub, ignore_errors=True)

            yield Server(
                "vsftpd",
                port,
                user,
                password,
                ".",
                cpu=lambda: servers.tree_cpu(reaper.pid),
                settle=settle,
                cleanup=cleanup,
                log=errors,
            )
        finally:
            servers.stop(reaper)


# --- the client and the workloads -----------------------------------------------------------------


def _lftp_script(server: Server, tls: bool, log: Path, username: str, password: str) -> list[str]:
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
    lines += [f"open -p {server.port} 127.0.0.1", f'user {username} "{password}"']
    return lines


def _lftp(server: Server, tls: bool, commands: list[str], path: Path, login: tuple[str, str] | None = None) -> str:
    """Run one lftp session (as ``login``, else the server's user); its output.

    Raises when lftp failed or had to connect more than once.
    """
    log = path.with_suffix(".log")
    log.unlink(missing_ok=True)
    username, password = login or (server.username, server.password)
    script = [*_lftp_script(server, tls, log, username, password), *commands, "quit"]
    path.write_text("\n".join(script) + "\n")
    result = subprocess.run(["lftp", "-f", str(path)], capture_output=True, text=True, timeout=900)
    debug = log.read_text(errors="replace").splitlines() if log.exists() else []
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip()[-400:]
        raise RuntimeError(f"{server.name}: lftp failed: {output}{server.log_tail()}")
    if sum(line.startswith("---- Connecting") for line in debug) > 1:
        refusals = [line for line in debug if line.startswith("<--- 4")]
        last = refusals[-1] if refusals else "no 4xx reply"
        raise RuntimeError(f"{server.name}: lftp had to reconnect ({last}){server.log_tail()}")
    return result.stdout


def _upload(server: Server, tls: bool, files: list[Path], sub: str, scratch: Path) -> tuple[float, float]:
    """Seconds and server CPU seconds for one lftp session putting ``files`` into a new folder."""
    folder = files[0].parent
    assert " " not in str(folder), "lftp's mput globs an unquoted path"
    commands = [f'cd "{server.folder}"', f'mkdir "{sub}"', f'cd "{sub}"']
    commands.append(f'put "{files[0]}"' if len(files) == 1 else f"mput {folder}/*.jpg")
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
    if got != sorted(path.name for path in files):
        listed_count = f"{len(got)} of {len(files)} files listed after the upload"
        raise RuntimeError(f"{server.name}: {listed_count}{server.log_tail()}")
    server.cleanup(sub)
    return elapsed, cpu


def _login_users(server: Server, tls: bool, round_: int) -> list[tuple[str, str]]:
    """Who the login-only sessions log in: on the portal a new FTP user each (no remembered check)."""
    if server.name != "portal":
        return [(server.username, server.password)] * LOGINS
    from jobs import selectors, services

    account = selectors.ftp_user_get(username=server.username).account
    users = []
    for i in range(LOGINS):
        username = f"login-{'ftps' if tls else 'ftp'}-{round_}-{i:02d}"
        user = services.ftp_user_create(account=account, username=username, password=servers.PASSWORD)
        services.ftp_user_set_plain_ftp(ftp_user=user, allowed=True)
        users.append((username, servers.PASSWORD))
    return users


@dataclass
class _Side:
    """One server's rounds of one row: seconds and server CPU seconds per round."""

    server: Server
    seconds: list[float]
    cpu: list[float]


Round = Callable[[int], float]


def _uploads(server: Server, *, tls: bool, files: list[Path], scratch: Path, mode: str) -> tuple[_Side, Round]:
    side = _Side(server, [], [])

    def one_round(round_: int) -> float:
        sub = f"{mode}-{len(files)}-{server.name}-{round_}"
        seconds, cpu = _upload(server, tls, files, sub, scratch)
        side.seconds.append(seconds)
        side.cpu.append(cpu)
        return seconds

    return side, one_round


def _logins(server: Server, *, tls: bool, scratch: Path) -> tuple[_Side, Round]:
    """Per round: the median seconds of a session that only logs in (NOOP, QUIT); CPU per session."""
    side = _Side(server, [], [])

    def one_round(round_: int) -> float:
        users = _login_users(server, tls, round_)
        times = []
        server.settle()
        cpu = server.cpu()
        for login in users:
            started = time.perf_counter()
            _lftp(server, tls, ["quote NOOP"], scratch / f"{server.name}-login.lftp", login)
            times.append(time.perf_counter() - started)
        server.settle()
        side.cpu.append((server.cpu() - cpu) / len(users))
        side.seconds.append(statistics.median(times))
        return side.seconds[-1]

    return side, one_round


def _run(
    rounds: int, measure: Callable[[Server], tuple[_Side, Round]], portal: Server, reference: Server
) -> tuple[_Side, _Side]:
    """Both servers' rounds of one row, alternating (vsftpd's left out when it was skipped)."""
    ours, portal_round = measure(portal)
    theirs, reference_round = measure(reference)
    alternate(rounds, portal_round, None if reference.skipped else reference_round)
    return ours, theirs


# --- the rows -------------------------------------------------------------------------------------


def rows(var: Path, quick: bool) -> list[Row]:
    if shutil.which("lftp") is None:
        print("  FTP door skipped: the lftp client is needed (Debian package lftp)", flush=True)
        return []
    rounds = 1 if quick else 3
    scratch = var / "ftp-files"
    big_bytes = (100 if quick else 1024) * MIB
    small_count = 50 if quick else 500
    workloads = [
        servers.make_files(scratch / "big", 1, big_bytes, "big"),
        servers.make_files(scratch / "small", small_count, 2 * MIB, "small"),
    ]
    out: list[Row] = []
    with portal_ftpd(var) as portal, vsftpd(var) as reference:
        if portal.skipped:
            raise RuntimeError(portal.skipped)
        if reference.skipped:
            print(f"  vsftpd skipped: {reference.skipped}", flush=True)
        print(f"FTP ({rounds} alternating rounds per row; lftp, one session per upload):", flush=True)
        for mode, tls in (("FTP", False), ("FTPS", True)):
            note = "explicit FTPS (AUTH TLS, PROT P), TLS 1.2 AES-256-GCM for both" if tls else "plain FTP"
            for files in workloads:
                total = sum(path.stat().st_size for path in files)
                label = f"{len(files)} x {files[0].stat().st_size // MIB} MiB"
                upload = partial(_uploads, tls=tls, files=files, scratch=scratch, mode=mode)
                ours, theirs = _run(rounds, upload, portal, reference)
                if len(files) == 1:
                    unit, per = "MB/s", total / 1e6
                else:
                    unit, per = "files/s", float(len(files))
                out.append(
                    median_row(
                        f"{mode} {label}, lftp",
                        unit,
                        [per / s for s in ours.seconds],
                        [per / s for s in theirs.seconds],
                        reference_name="vsftpd",
                        target=THROUGHPUT_TARGET,
                        note=note,
                    )
                )
                out.append(
                    median_row(
                        f"{mode} {label}, lftp: server CPU",
                        "s/GB",
                        [c / (total / GB) for c in ours.cpu],
                        [c / (total / GB) for c in theirs.cpu],
                        reference_name="vsftpd",
                        target=CPU_TARGET,
                    )
                )
            ours, theirs = _run(rounds, partial(_logins, tls=tls, scratch=scratch), portal, reference)
            out.append(
                median_row(
                    f"{mode} login-only session, lftp",
                    "ms",
                    [s * 1000 for s in ours.seconds],
                    [s * 1000 for s in theirs.seconds],
                    reference_name="vsftpd",
                    note=(
                        f"median of {LOGINS} sessions per round (connect, login, NOOP, QUIT); each a different"
                        " FTP user on the portal, so each computes its Argon2id check; vsftpd checks a crypt(3)"
                        " hash through PAM"
                    ),
                )
            )
            out.append(
                median_row(
                    f"{mode} login-only session, lftp: server CPU",
                    "ms",
                    [c * 1000 for c in ours.cpu],
                    [c * 1000 for c in theirs.cpu],
                    reference_name="vsftpd",
                    target=CPU_TARGET,
                )
            )
    return out
