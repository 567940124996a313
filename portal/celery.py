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

import os
from typing import Any

from celery import Celery
from kombu.transport import filesystem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class FilesystemTransport(filesystem.Transport):
    """kombu's filesystem transport, returning to a busy worker's loop after one poll.

    A worker on a transport without its own event loop (this one) runs Celery's ``synloop``: it
    calls ``drain_events(timeout=2.0)`` and performs the acknowledgements of finished tasks only
    between two calls. With acks_late and prefetch 1 a worker whose pool processes are all busy
    may take no message until those acknowledgements are made, so each finished task waited for
    the rest of the 2 s: a backlog went at one photo per pool process every 2 s, the CPU idle.
    When a consuming channel is full, this waits one polling interval instead; when nothing is
    full (an idle worker, ``celery inspect`` collecting replies) it behaves as kombu's.
    """

    def drain_events(self, connection: Any, timeout: float | None = None) -> None:  # type: ignore[override]
        if timeout is not None and any(
            channel._consumers and not channel.qos.can_consume() for channel in self.channels or ()
        ):
            timeout = min(timeout, self.polling_interval or timeout)
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
