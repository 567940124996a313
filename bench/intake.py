"""Intake behind the door (issue 12): close -> done and photos/s with real servers and workers.

``rows(var, quick)`` uses the throw-away portal ``bench.servers.setup_portal`` made in ``var``
(SQLite, DEBUG=False) and, for each broker (the embedded one, kombu's filesystem transport under
``var``, and Redis db 11 on 127.0.0.1:6379 when it answers; only that db is flushed, before and
after), starts the real ``manage.py runsftpd`` on a free loopback port and, in turn, a real
``celery -A portal worker`` with 1 and with 2 pool processes. For each worker an asyncssh client
uploads 50 camera-like 24 MP JPEGs (``bench.images.photo_jpeg``; 12 with ``quick``) one after the
other into ``/job00001/Class 1`` before the worker starts (a backlog), the same again once it runs,
then, once they are all done, single photos with the worker idle in between. Figures come from
the Upload rows the portal writes anyway: ``received_at`` (the row is made when the client's close
is answered) and ``finished_at`` (the worker's done). Nothing is added to the product for the
bench.

- close -> done p50/p95 of the batch and of the single photos (target p95 < 2 s for one photo with
  an idle worker);
- photos/s against what the CPU allows in this run: min(processes, cores) / the image step's
  seconds per photo (``analyse_image`` on the same photos, timed in this process before each
  worker starts). From a backlog (the photos uploaded while no worker ran; 3 rounds, each a new
  backlog and a new worker; done / (last done -
  worker ready); target >= 0.8 of the bound), and while uploading (done / (last done - first
  close); the SFTP server's CPU comes out of the same cores, so no target);
- the peak RSS (VmHWM) of each of the worker's pool processes after its batch (target <= 100 MiB);
- an idle worker's CPU over 30 s (10 with ``quick``) on each broker;
- the embedded broker's own cost per message with a backlog: kombu's filesystem transport lists
  and sorts the whole queue folder for every message it takes, so messages/s from a backlog of
  500 against a backlog of 1.

Every process started here is stopped by its PID (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import servers
from bench.images import write_photos
from bench.report import Row, median_row

REDIS_URL = "redis://127.0.0.1:6379/11"
ALBUM = "/job00001/Class 1"
BACKLOG = 500


@dataclass
class Batch:
    latencies: list[float]  # close -> done per photo, seconds
    photos_per_second: float
    done: int
    sent: int


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def _broker_env(broker: str) -> dict[str, str]:
    return {"CELERY_BROKER_URL": REDIS_URL} if broker == "redis" else {}


def _redis_flush() -> str:
    """Flush db 11 only; the reason Redis cannot be used, or ""."""
    try:
        from redis import Redis

        client = Redis.from_url(REDIS_URL, socket_timeout=3, socket_connect_timeout=3)
        try:
            client.flushdb()
        finally:
            client.close()
    except Exception as exc:
        return f"Redis at {REDIS_URL} unavailable: {type(exc).__name__}: {exc}"
    return ""


def _clear_filesystem_broker(var: Path) -> None:
    for message in (var / "broker" / "queue").glob("*.msg"):
        message.unlink(missing_ok=True)


@contextmanager
def _worker(var: Path, broker: str, processes: int) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """``celery -A portal worker`` as runportal starts it, with ``processes`` pool processes.

    Yields it once it says it is ready, with that moment (epoch seconds).
    """
    log_path = var / f"worker-{broker}-{processes}.log"
    command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO"]
    command += ["--concurrency", str(processes), "--hostname", f"bench-{broker}-{processes}@%h"]
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            command, cwd=servers.ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **_broker_env(broker)}
        )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start: {log_path.read_text(errors='replace')[-500:]}")
            time.sleep(0.05)
        yield worker, time.time()
    finally:
        servers.stop(worker, timeout=30)


def _pool_memory_mib(worker: subprocess.Popen[bytes], field: str) -> list[float]:
    """``field`` (VmHWM: the peak, VmRSS: now) of each of the worker's pool processes, in MiB."""
    found = []
    for pid in servers.children(worker.pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    found.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return found


def _process_rss_mib(pid: int) -> list[float]:
    try:
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return []
    return [int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:")]


def _pool_private_mib(worker: subprocess.Popen[bytes]) -> list[float]:
    """Memory each pool process holds alone now (Private_Clean + Private_Dirty of smaps_rollup), in MiB.

    VmHWM also counts the pages a pool process shares with the worker's main process it was forked
    from (Django, Celery, Pillow: the code and the imports); this is what one more process costs.
    """
    found = []
    for pid in servers.children(worker.pid):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        private = sum(int(line.split()[1]) for line in rollup if line.startswith(("Private_Clean:", "Private_Dirty:")))
        found.append(private / 1024)
    return found


async def _upload(port: int, paths: list[Path], names: list[str], pause: float = 0.0) -> None:
    import asyncssh

    async with (
        asyncssh.connect(
            "127.0.0.1", port, username="bench", password=servers.PASSWORD, known_hosts=None, client_keys=None
        ) as conn,
        conn.start_sftp_client() as sftp,
    ):
        for path, name in zip(paths, names, strict=True):
            await sftp.put(str(path), f"{ALBUM}/{name}")
            if pause:
                await asyncio.sleep(pause)


def _wait_done(names: list[str], timeout: float) -> list[tuple[float, float]]:
    """(received_at, finished_at) of the uploads of ``names`` in epoch seconds, once all are finished."""
    from albums.models import Upload

    deadline = time.monotonic() + timeout
    while True:
        rows = list(
            Upload.objects.filter(filename__in=names, finished_at__isnull=False).values_list(
                "state", "received_at", "finished_at"
            )
        )
        if len(rows) >= len(names) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return [(r.timestamp(), f.timestamp()) for state, r, f in rows if state == "done" and f is not None]


def _send(port: int, paths: list[Path], label: str) -> list[str]:
    names = [f"{label}-{path.name}" for path in paths]
    asyncio.run(_upload(port, paths, names))
    return names


def _backlog(names: list[str], ready_at: float, timeout: float) -> float:
    """Photos/s of a worker that started with ``names`` waiting: done / (last done - ready)."""
    times = _wait_done(names, timeout)
    span = max((f for _, f in times), default=ready_at) - ready_at
    return len(times) / span if span > 0 else 0.0


def _batch(port: int, paths: list[Path], label: str, timeout: float) -> Batch:
    names = _send(port, paths, label)
    times = _wait_done(names, timeout)
    latencies = [finished - received for received, finished in times]
    span = max(f for _, f in times) - min(r for r, _ in times) if times else 0.0
    return Batch(latencies, len(times) / span if span else 0.0, len(times), len(names))


def _singles(port: int, paths: list[Path], label: str) -> list[float]:
    """Close -> done of single uploads, each sent once the previous one is done (the worker idle)."""
    latencies = []
    for i, path in enumerate(paths):
        name = f"{label}-single{i:02d}-{path.name}"
        asyncio.run(_upload(port, [path], [name]))
        latencies += [finished - received for received, finished in _wait_done([name], 60)]
        time.sleep(0.5)  # idle again: a poll interval or two passes
    return latencies


def _image_step_seconds(paths: list[Path]) -> float:
    from albums import imaging

    times = []
    for path in paths:
        start = time.perf_counter()
        imaging.analyse_image(path, filename=path.name)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _idle_cpu_percent(worker: subprocess.Popen[bytes], seconds: float) -> float:
    time.sleep(1)  # the batch's last acknowledgements
    before = servers.tree_cpu(worker.pid)
    time.sleep(seconds)
    return 100 * (servers.tree_cpu(worker.pid) - before) / seconds


def _backlog_rates(folder: Path, backlog: int, singles: int) -> tuple[float, float]:
    """Messages/s kombu's filesystem transport takes from a queue of ``backlog`` messages, and of one."""
    from kombu import Connection

    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
    }
    body = {"upload": 1, "padding": "x" * 1500}  # about the size of a Celery task message
    with Connection("filesystem://", transport_options=options) as conn:
        queue = conn.SimpleQueue("bench-backlog")

        def take(count: int) -> float:
            start = time.perf_counter()
            for _ in range(count):
                queue.get(timeout=5).ack()
            return time.perf_counter() - start

        for _ in range(backlog):
            queue.put(body)
        deep = backlog / take(backlog)
        alone = []
        for _ in range(singles):
            queue.put(body)
            alone.append(take(1))
        queue.close()
    return deep, 1 / statistics.median(alone)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def rows(var: Path, quick: bool) -> list[Row]:
    count, singles, idle = (12, 6, 10.0) if quick else (50, 10, 30.0)
    rounds = 1 if quick else 3
    cores = _cores()
    out: list[Row] = []
    photos_dir = var / "intake-photos"
    paths = write_photos(photos_dir, count)
    single_paths = write_photos(photos_dir / "single", singles, first_seed=1000)
    size_mb = paths[0].stat().st_size / 1e6
    peaks: list[float] = []
    baselines: list[float] = []  # pool processes before their first photo
    private: list[float] = []  # pool processes' unshared memory after their photos
    parents: list[float] = []  # the worker's main process, which the pool processes are forked from
    idle_cpu: dict[str, float] = {}
    for broker in ("embedded", "redis"):
        if broker == "redis" and (reason := _redis_flush()):
            out.append(Row("intake on Redis", "-", None, note=f"skipped: {reason}"))
            continue
        _clear_filesystem_broker(var)
        broker_name = "embedded broker" if broker == "embedded" else "Redis"
        try:
            with servers.portal_sftpd(var, env=_broker_env(broker)) as sftpd:
                if sftpd.skipped:
                    raise RuntimeError(sftpd.skipped)
                for processes in (1, 2):
                    label = f"{broker}-{processes}"
                    rates: list[float] = []  # photos/s from a backlog, per round
                    bounds: list[float] = []  # the CPU bound measured just before that round
                    try:
                        for round_ in range(rounds):
                            step = _image_step_seconds(paths[:3])
                            bounds.append(min(processes, cores) / step)
                            waiting = _send(sftpd.port, paths, f"{label}-backlog{round_}")  # no worker runs yet
                            time.sleep(1)  # the server's outbox hands the last ones to the broker
                            with _worker(var, broker, processes) as (worker, ready_at):
                                baselines += _pool_memory_mib(worker, "VmRSS")
                                rates.append(_backlog(waiting, ready_at, timeout=60 + 10 * count))
                                if round_ < rounds - 1:
                                    continue
                                # The last round's worker also takes uploads as they come, and then rests.
                                batch = _batch(sftpd.port, paths, label, timeout=60 + 10 * count)
                                single = _singles(sftpd.port, single_paths, label)
                                peaks += _pool_memory_mib(worker, "VmHWM")
                                private += _pool_private_mib(worker)
                                parents += _process_rss_mib(worker.pid)
                                if processes == 2:
                                    idle_cpu[broker] = _idle_cpu_percent(worker, idle)
                    except Exception as exc:
                        log = sftpd.log.read_text(errors="replace")[-800:] if sftpd.log else ""
                        raise RuntimeError(f"{label}: {exc}; runsftpd's log ends: {log}") from exc
                    where = f"{broker_name}, {processes} worker process{'es' if processes > 1 else ''}"
                    lost = f"; only {batch.done} of {batch.sent} done" if batch.done < batch.sent else ""
                    out.append(
                        Row(
                            f"close -> done p95, {count} photos of 24 MP, {where}",
                            "s",
                            _percentile(batch.latencies, 0.95) if batch.latencies else None,
                            note=f"p50 {statistics.median(batch.latencies):.2f} s{lost}" if batch.latencies else lost,
                        )
                    )
                    bound = statistics.median(bounds)
                    cpu_bound = (
                        f"CPU bound = {min(processes, cores)} process(es) / {min(processes, cores) / bound:.3f} s "
                        f"(analyse_image on these {size_mb:.1f} MB photos, measured before each round)"
                    )
                    out.append(
                        median_row(
                            f"photos/s from a backlog of {count}, {where}",
                            "photos/s",
                            rates,
                            bounds,
                            reference_name="CPU bound",
                            target=">= 0.8",
                            note=f"the photos uploaded while no worker ran, then a new worker started: done / (last "
                            f"done - worker ready), {len(rates)} rounds (each a new backlog and worker); {cpu_bound}",
                        )
                    )
                    out.append(
                        Row(
                            f"photos/s while {count} photos of 24 MP are uploaded, {where}",
                            "photos/s",
                            batch.photos_per_second,
                            bound,
                            reference_name="CPU bound",
                            note=f"done / (last done - first close), the worker idle at the first close; {cpu_bound}; "
                            f"the SFTP server shares the {cores} cores while it receives",
                        )
                    )
                    out.append(
                        Row(
                            f"close -> done p95, one photo, idle worker, {where}",
                            "s",
                            _percentile(single, 0.95) if single else None,
                            target="< 2",
                            rounds=len(single),
                            note=f"{len(single)} single uploads, each after the previous was done;"
                            f" p50 {statistics.median(single):.2f} s"
                            if single
                            else "",
                            portal_rounds=[round(v, 4) for v in single],
                        )
                    )
        finally:
            if broker == "redis":
                _redis_flush()
            _clear_filesystem_broker(var)
    if peaks:
        out.append(
            Row(
                "peak RSS per worker pool process",
                "MiB",
                max(peaks),
                target="<= 100",
                rounds=len(peaks),
                note=f"the largest VmHWM (peak RSS, shared pages counted) of the Celery pool processes after "
                f"their batch and single photos (all: {', '.join(f'{p:.0f}' for p in sorted(peaks))} MiB); "
                f"before their first photo they held {min(baselines or [0]):.0f}-{max(baselines or [0]):.0f} MiB, "
                f"the worker's main process they are forked from {min(parents or [0]):.0f}-{max(parents or [0]):.0f} "
                f"MiB; after their photos each held {min(private or [0]):.0f}-{max(private or [0]):.0f} MiB "
                "of its own (private pages, smaps_rollup)",
            )
        )
    if idle_cpu:
        embedded = idle_cpu.get("embedded")
        out.append(
            Row(
                "idle worker CPU, embedded broker (2 processes)",
                "% of a core",
                embedded,
                idle_cpu.get("redis"),
                reference_name="on Redis",
                note=f"CPU of the worker's process tree over {idle:.0f} s with nothing to do; the embedded "
                "broker is polled every 0.05 s (CELERY_FILESYSTEM_POLLING_INTERVAL)",
            )
        )
    with tempfile.TemporaryDirectory(prefix="bench-backlog-") as tmp:
        deep, shallow = _backlog_rates(Path(tmp), BACKLOG, 50)
    out.append(
        Row(
            f"embedded broker, messages taken from a backlog of {BACKLOG}",
            "msg/s",
            deep,
            shallow,
            reference_name="backlog of 1",
            note="kombu's filesystem transport, put and taken in this process (listdir + sort of the queue "
            "folder, move, read, remove per message); far above any photos/s, so never the limit",
        )
    )
    shutil.rmtree(photos_dir, ignore_errors=True)
    return out


def main() -> None:
    """``python -m bench.intake [--quick]``: these rows alone, on a throw-away portal of their own."""
    from bench.report import print_table

    quick = "--quick" in sys.argv[1:]
    var = Path(tempfile.mkdtemp(prefix="portal-bench-intake-"))
    try:
        servers.setup_portal(var, 64 * 1024 * 1024)
        print_table(rows(var, quick))
    finally:
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
