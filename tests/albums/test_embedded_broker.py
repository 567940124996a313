"""The embedded broker (``portal.celery.FilesystemChannel``): a consumer never sees half a message.

kombu's own filesystem channel creates the message file under its final name before writing it,
and a worker that polls in between reads an empty file and dies. These tests hold a producer in
the middle of its write and poll the folder meanwhile, as a worker would.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import cast

import pytest
from kombu import Connection

import portal.celery
from portal.celery import FilesystemChannel, FilesystemTransport


def _connection(folder: Path) -> Connection:
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(exist_ok=True)
    return Connection(
        transport=FilesystemTransport,
        transport_options={
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
        },
    )


def _channel(conn: Connection) -> FilesystemChannel:
    return cast(FilesystemChannel, conn.channel())


def test_a_message_being_written_is_invisible_until_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writing, polled = threading.Event(), threading.Event()
    real = portal.celery.str_to_bytes

    def slow_encode(text: str) -> bytes:
        writing.set()  # the producer is inside _put now
        assert polled.wait(10), "the consumer never polled"
        return real(text)

    monkeypatch.setattr(portal.celery, "str_to_bytes", slow_encode)
    with _connection(tmp_path) as producer_conn, _connection(tmp_path) as consumer_conn:
        producer = threading.Thread(target=lambda: _channel(producer_conn)._put("celery", {"task": "a"}))
        producer.start()
        assert writing.wait(10)
        consumer = _channel(consumer_conn)
        with pytest.raises(queue.Empty):
            consumer._get("celery")  # kombu's channel would hand over an empty file here
        polled.set()
        producer.join(10)
        assert consumer._get("celery") == {"task": "a"}
    assert not [p.name for p in (tmp_path / "queue").iterdir()], "a partial file was left behind"


def test_many_messages_put_while_a_consumer_polls_arrive_whole_and_in_order(tmp_path: Path) -> None:
    sent = [{"n": n, "body": "x" * (n % 7) * 1000} for n in range(300)]
    got: list[object] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def consume() -> None:
        with _connection(tmp_path) as conn:
            channel = _channel(conn)
            while not done.is_set() or len(got) < len(sent):
                try:
                    got.append(channel._get("celery"))
                except queue.Empty:
                    if done.is_set() and len(got) >= len(sent):
                        return
                except BaseException as exc:
                    errors.append(exc)
                    return

    consumer = threading.Thread(target=consume)
    consumer.start()
    with _connection(tmp_path) as conn:
        channel = _channel(conn)
        for message in sent:
            channel._put("celery", message)
    done.set()
    consumer.join(30)
    assert errors == []
    assert sorted(got, key=lambda m: m["n"]) == sent  # type: ignore[index]
