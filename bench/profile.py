"""``python -m bench.profile WORKLOAD``: where the SFTP server's CPU goes in one of the bench's rows.

The issue asks for a profile of every row that misses its target; this makes it the same way each
time. It builds the throw-away portal (``bench.servers.setup_portal``), starts ``runsftpd`` as the
bench does, runs one workload against it with py-spy (``pip install py-spy``; ptrace needs root or
``kernel.yama.ptrace_scope=0``) recording every server process, and prints the functions with the
most samples, by their own time (self) and with what they call (inclusive), as shares of all
samples. Only threads that were running are sampled: a thread waiting in ``epoll`` costs nothing.

Workloads (the bench's rows, ``bench.sftp``):

- ``big``: 1 GiB with OpenSSH's ``sftp`` at its defaults;
- ``small``: 500 x 2 MiB in one ``sftp`` session;
- ``sessions``: 20 asyncssh sessions at once x 50 x 2 MiB;
- ``logins``: a 1 GiB ``sftp`` upload while 20 password logins happen at once (``bench.sftp._slowdown``);
- ``ftp-big``, ``ftp-small``: 1 GiB and 500 x 2 MiB over plain FTP with lftp, against ``runftpd``
  (``bench.ftp``).

``--raw FILE`` keeps py-spy's collapsed stacks for a flame graph (``inferno``, ``flamegraph.pl``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench import ftp, servers, sftp
from bench.servers import MIB, Server

MAX_FILE_BYTES = 1024**3 + 64 * 1024 * 1024
WORKLOADS = ("big", "small", "sessions", "logins", "ftp-big", "ftp-small")


def _workload(name: str, server: Server, scratch: Path) -> Callable[[], object]:
    if name == "big":
        big = servers.make_files(scratch / "big", 1, 1024 * MIB, "big")
        return lambda: sftp._sftp_put(server, big, f"profile-{time.monotonic_ns()}", scratch)
    if name == "small":
        small = servers.make_files(scratch / "small", 500, 2 * MIB, "small")
        return lambda: sftp._sftp_put(server, small, f"profile-{time.monotonic_ns()}", scratch)
    if name == "sessions":
        files = servers.make_files(scratch / "small", 50, 2 * MIB, "small")
        return lambda: asyncio.run(sftp._sessions(server, files, f"profile-{time.monotonic_ns()}"))
    if name == "logins":
        sftp._make_login_users()
        big = servers.make_files(scratch / "big", 1, 1024 * MIB, "big")
        return lambda: sftp._slowdown(server, scratch, big, scratch)
    if name in ("ftp-big", "ftp-small"):
        count, size = (1, 1024 * MIB) if name == "ftp-big" else (500, 2 * MIB)
        files = servers.make_files(scratch / name, count, size, name.replace("-", ""))
        return lambda: ftp._upload(server, False, files, f"profile-{time.monotonic_ns()}", scratch)
    raise SystemExit(f"unknown workload {name!r}: {', '.join(WORKLOADS)}")


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rstrip().rpartition(" ")
    frames = [frame for frame in stack.split(";") if not frame.startswith(("process ", "thread "))]
    return frames, int(count)


def summarise(raw: Path, top: int) -> str:
    """The functions with the most samples in py-spy's collapsed stacks: self and inclusive shares."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples (was the server busy? is ptrace allowed?)"
    lines = [f"{total} samples"]
    for title, counter in (("self", own), ("inclusive", inclusive)):
        lines.append(f"\n{title}:")
        lines += [f"  {100 * n / total:5.1f} %  {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("--processes", default="1", help="SFTPD_PROCESSES for the server (default 1)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if spy is None:
        raise SystemExit("py-spy is needed: pip install py-spy")
    var = Path(tempfile.mkdtemp(prefix="portal-profile-"))
    try:
        servers.setup_portal(var, MAX_FILE_BYTES)
        door = args.workload.startswith("ftp-")
        started_server = (
            ftp.portal_ftpd(var) if door else servers.portal_sftpd(var, {"SFTPD_PROCESSES": args.processes})
        )
        with started_server as server:
            if server.skipped:
                raise SystemExit(server.skipped)
            run = _workload(args.workload, server, var / "files")
            raw = args.raw or var / "profile.txt"
            pid = _server_pid("runftpd" if door else "runsftpd", server.port)
            command = [spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--format", "raw"]
            recorder = subprocess.Popen(
                [*command, "--output", str(raw), "--rate", "200"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(1.0)  # py-spy attached
            started = time.perf_counter()
            run()
            elapsed = time.perf_counter() - started
            recorder.send_signal(2)  # SIGINT: py-spy writes its file and ends
            _, errors = recorder.communicate(timeout=60)
            if not raw.exists():
                raise SystemExit(f"py-spy wrote nothing: {errors.decode(errors='replace').strip()[-300:]}")
            cpu = server.cpu()
            print(f"{args.workload}: {elapsed:.1f} s, server CPU so far {cpu:.1f} s (SFTPD_PROCESSES={args.processes})")
            print(summarise(raw, args.top))
    finally:
        servers.drop_database()
        shutil.rmtree(var, ignore_errors=True)


def _server_pid(command: str, port: int) -> int:
    """The ``runsftpd`` or ``runftpd`` process (its serving children are recorded with ``--subprocesses``)."""
    found = subprocess.run(["pgrep", "-f", f"{command} --host 127.0.0.1 --port {port}"], capture_output=True, text=True)
    pids = [int(pid) for pid in found.stdout.split()]
    if not pids:
        raise SystemExit(f"no {command} process on port {port}")
    return min(pids)


if __name__ == "__main__":
    main()
