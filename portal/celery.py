"""The Celery application; configuration comes from Django settings (``CELERY_*``).

Beat runs two periodic tasks: the intake sweeper (``albums.sweep_uploads``, every
INTAKE_SWEEP_INTERVAL seconds) and housekeeping (``albums.housekeeping``, every
INTAKE_HOUSEKEEPING_INTERVAL seconds). Running two beat processes by mistake does no harm: each
stuck upload is taken by one sweep only and each purge by one run (conditional UPDATEs), and a
task queued twice makes one photo.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

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
