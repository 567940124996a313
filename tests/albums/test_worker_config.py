"""How the worker is started (issue 12): one pool process per core, the embedded broker polled
often and never keeping a busy worker waiting, and no DEBUG in the servers ``runportal`` starts.

Settings are read once per process, so the settings themselves are checked in a fresh Python
(``_portal_settings``) started with the environment under test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.message import Message
from kombu.transport.virtual import base as virtual_base

from portal.celery import FilesystemTransport
from portal.management.commands import runportal

ROOT = Path(settings.BASE_DIR)
PORTAL_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_WORKER_CONCURRENCY", "DEBUG")

READ_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from portal.celery import app
connection = app.connection_for_read()
print(json.dumps({
    "transport": type(connection.transport).__module__ + "." + type(connection.transport).__name__,
    "concurrency": app.conf.worker_concurrency,
    "polling_interval": connection.transport.polling_interval,
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
}))
"""


def _portal_settings(
    var: Path, preexec_fn: Callable[[], None] | None = None, env: dict[str, str] | None = None, **variables: str
) -> dict[str, Any]:
    """The settings a fresh portal process sees with ``variables`` (an embedded run in ``var``)."""
    base = env if env is not None else {k: v for k, v in os.environ.items() if k not in PORTAL_VARIABLES}
    child_env = {**base, "PORTAL_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "portal.settings", **variables}
    result = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec_fn,  # only sets the CPU affinity of the child
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _one_cpu() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux only")
def test_the_worker_runs_one_pool_process_per_core_it_may_use(tmp_path: Path) -> None:
    assert _portal_settings(tmp_path, preexec_fn=_one_cpu)["concurrency"] == 1
    cores = len(os.sched_getaffinity(0))
    assert 1 <= _portal_settings(tmp_path)["concurrency"] <= cores


def test_the_worker_concurrency_can_be_set(tmp_path: Path) -> None:
    assert _portal_settings(tmp_path, CELERY_WORKER_CONCURRENCY="3")["concurrency"] == 3
    assert _portal_settings(tmp_path, CELERY_WORKER_CONCURRENCY="0")["concurrency"] >= 1


def test_the_embedded_broker_is_polled_twenty_times_a_second(tmp_path: Path) -> None:
    assert _portal_settings(tmp_path)["polling_interval"] == 0.05


def test_the_embedded_broker_polling_interval_can_be_set(tmp_path: Path) -> None:
    assert _portal_settings(tmp_path, CELERY_FILESYSTEM_POLLING_INTERVAL="0.2")["polling_interval"] == 0.2


def test_the_embedded_broker_is_the_portals_filesystem_transport(tmp_path: Path) -> None:
    assert _portal_settings(tmp_path)["transport"] == "portal.celery.FilesystemTransport"


def broker_folders(root: Path) -> dict[str, object]:
    """The embedded broker's transport options on folders of its own below ``root``."""
    folders = {name: root / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }


def test_a_worker_whose_pool_is_busy_gets_control_back_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Celery's loop acknowledges finished tasks only between two drains: it must not wait 2 s for that."""
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(virtual_base, "monotonic", lambda: clock[0])
    monkeypatch.setattr(virtual_base, "sleep", sleep)
    options = {**broker_folders(tmp_path), "polling_interval": 0.05}
    name = f"busy-{uuid.uuid4().hex[:8]}"  # kombu keeps bindings per process: a queue of its own
    queue = Queue(name, Exchange(name), routing_key=name)
    received: list[Message] = []
    with Connection("filesystem://", transport=FilesystemTransport, transport_options=options) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        for n in range(2):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key=name, declare=[queue])
        consumer = Consumer(channel, [queue], callbacks=[lambda body, message: received.append(message)])
        consumer.qos(prefetch_count=1)
        with consumer:
            conn.drain_events(timeout=2.0)
            assert len(received) == 1  # prefetch 1: the channel is full until this one is acknowledged
            slept.clear()
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=2.0)
            assert sum(slept) <= FilesystemTransport.BUSY_WAIT  # not the 2 s offered
            received[0].ack()
            conn.drain_events(timeout=2.0)
            assert [message.payload for message in received] == [{"n": 0}, {"n": 1}]


# --- what runportal starts ---------------------------------------------------------------------------


def test_runportal_leaves_the_worker_concurrency_to_the_settings() -> None:
    cmd = runportal.child_commands()["worker"]
    assert cmd[cmd.index("portal") + 1] == "worker"
    assert not {"--concurrency", "-c"} & set(cmd) and not any(arg.startswith("--concurrency=") for arg in cmd)


def test_runportal_runs_its_servers_without_debug() -> None:
    env = runportal.server_env({"PATH": "/bin"}, var_dir=Path("/srv/portal/var"))
    assert env == {"PATH": "/bin", "DEBUG": "False", "SECRET_KEY_FILE": "/srv/portal/var/secret_key"}


def test_runportal_keeps_a_secret_key_the_user_gave() -> None:
    env = runportal.server_env({"SECRET_KEY": "k"}, var_dir=Path("/srv/portal/var"))
    assert env == {"SECRET_KEY": "k", "DEBUG": "False"}


@pytest.mark.parametrize("debug", ["True", "False"])
def test_runportal_keeps_a_debug_the_user_chose(debug: str) -> None:
    assert runportal.server_env({"DEBUG": debug}, var_dir=Path("/srv/portal/var")) == {"DEBUG": debug}


def test_runportal_starts_the_web_app_as_configured_and_the_servers_without_debug(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DEBUG", "SECRET_KEY", "SECRET_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    started: dict[str, dict[str, str]] = {}
    commands = runportal.child_commands()

    def popen(cmd: list[str], *, env: dict[str, str], **kwargs: Any) -> None:
        (name,) = [name for name, known in commands.items() if known == cmd]
        started[name] = env

    monkeypatch.setattr(runportal.subprocess, "Popen", popen)
    runportal.Command()._start_children()
    assert set(started) == {"web", "sftpd", "ftpd", "worker", "beat"}
    assert "DEBUG" not in started["web"]
    assert {started[name]["DEBUG"] for name in ("sftpd", "ftpd", "worker", "beat")} == {"False"}


def test_a_server_runportal_starts_reads_the_embedded_runs_secret_key_with_debug_off(tmp_path: Path) -> None:
    plain = {k: v for k, v in os.environ.items() if k not in (*PORTAL_VARIABLES, "SECRET_KEY", "SECRET_KEY_FILE")}
    embedded = _portal_settings(tmp_path, env=plain)  # what runportal itself sees: DEBUG on, a key made
    assert embedded["debug"] is True
    server = _portal_settings(tmp_path, env=runportal.server_env(plain, var_dir=tmp_path))
    assert server["debug"] is False
    assert server["secret_key"] == embedded["secret_key"] == (tmp_path / "secret_key").read_text().strip()


def test_the_embedded_broker_hands_out_messages_first_in_first_out(tmp_path: Path) -> None:
    """Many messages sent within one millisecond come out in the order they were sent."""
    options = broker_folders(tmp_path)
    name = f"fifo-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name), routing_key=name)
    with Connection("filesystem://", transport=FilesystemTransport, transport_options=options) as conn:
        producer = Producer(conn.channel())
        for n in range(200):
            producer.publish({"n": n}, exchange=queue.exchange, routing_key=name, declare=[queue])
        simple = conn.SimpleQueue(queue)  # type: ignore[arg-type]  # kombu takes a Queue too
        got = []
        for _ in range(200):
            message = simple.get(timeout=5)
            got.append(message.payload["n"])
            message.ack()
        simple.close()
    assert got == list(range(200))
