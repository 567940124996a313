"""The Celery application; configuration comes from Django settings (``CELERY_*``).

Beat runs two periodic tasks: the intake sweeper (``albums.sweep_uploads``, every
INTAKE_SWEEP_INTERVAL seconds) and housekeeping (``albums.housekeeping``, every
INTAKE_HOUSEKEEPING_INTERVAL seconds). Running two beat processes by mistake does no harm: each
stuck upload is taken by one sweep only and each purge by one run (conditional UPDATEs), and a
task queued twice makes one photo.

``FilesystemTransport`` is the embedded broker (``make run``): kombu's filesystem transport, made to
hand control back to a Celery worker as soon as waiting cannot help (see its docstring).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel, each message written whole before a consumer can see it.

    kombu creates a message file under its final name and writes it afterwards; a worker polling
    the folder in between moves and reads an empty file and dies ("Unrecoverable error:
    JSONDecodeError", seen in this project's tests once the folder was polled every 0.05 s). Here
    the message is written under a name no consumer looks at (no ``.msg``) and then renamed into
    place, which is atomic: a consumer sees the whole message or nothing. Not fsynced: a message
    lost to a power cut is an upload still ``received``, which the sweeper queues again.

    Consumers take messages in the order of their names (kombu sorts the folder). kombu names them
    by the millisecond and a random uuid, so two messages sent in one millisecond came out in either
    order; here the name starts with the system-wide monotonic clock in nanoseconds, zero-padded,
    and never repeats or goes back within a process: first in, first out.
    """

    _last_ns = 0
    _order_lock = threading.Lock()

    @classmethod
    def _next_stamp(cls) -> int:
        with cls._order_lock:
            cls._last_ns = max(time.monotonic_ns(), cls._last_ns + 1)
            return cls._last_ns

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{self._next_stamp():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".part-{uuid.uuid4()}")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise ChannelError(f"Cannot add file {final!r} to directory") from None


class FilesystemTransport(filesystem.Transport):
    """kombu's filesystem transport, handing a busy worker's loop back at once.

    A worker on a transport without its own event loop (this one) runs Celery's ``synloop``: it
    calls ``drain_events(timeout=2.0)`` and performs the acknowledgements of finished tasks only
    between two calls. With acks_late and prefetch 1 a worker whose pool processes are all busy
    may take no message until those acknowledgements are made, so each finished task waited for
    the rest of the 2 s: a backlog went at one photo per pool process every 2 s, the CPU idle.
    When a consuming channel is full, this returns after BUSY_WAIT instead (a wait that costs no
    look at the folder: kombu does not read a full channel's queues); when nothing is full (an
    idle worker, ``celery inspect`` collecting replies) it behaves as kombu's.
    """

    Channel = FilesystemChannel
    BUSY_WAIT = 0.01  # seconds; a finished task's acknowledgement waits this long at most

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        if timeout is not None and any(
            channel._consumers and not channel.qos.can_consume() for channel in self.channels or ()
        ):
            timeout = min(timeout, self.BUSY_WAIT)
        super().drain_events(connection, timeout=timeout)


app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_sweeper(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    interval = float(settings.INTAKE_SWEEP_INTERVAL)
    sender.add_periodic_task(
        interval,
        sender.signature("albums.sweep_uploads"),
        name="sweep stuck uploads",
        # Sweeps queued while no worker ran are worthless once the next one is due: without an
        # expiry a worker coming back would run hundreds of them in a row.
        expires=interval,
    )
    every = float(settings.INTAKE_HOUSEKEEPING_INTERVAL)
    sender.add_periodic_task(every, sender.signature("albums.housekeeping"), name="housekeeping", expires=every)
