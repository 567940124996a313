"""Celery tasks: thin adapters over ``albums.intake`` that take ids and re-fetch.

``process_upload`` is at-least-once: acks_late with reject-on-worker-lost (a killed worker's
message is delivered again), prefetch 1, soft and hard time limits from settings. Whatever Celery
does twice, the claim in ``albums.intake`` makes one photo. What the task decides is only how an
attempt that ran into trouble ends:

- transient trouble (database, storage: ``DatabaseError``, ``InterfaceError``, ``OSError``) sends
  the upload back to ``received`` and retries with exponential backoff and jitter, until the
  upload's attempts (INTAKE_MAX_ATTEMPTS, counted in the database) are used up and it ends
  ``failed`` with its last error;
- the soft time limit ends the upload ``failed`` ("processing took longer than N seconds");
- any other exception is a bug: the upload ends ``failed`` with the error, and the task fails;
- the hard time limit (the pool kills the run when the soft one could not stop it, e.g. inside a
  C decoder) does the same from the worker's main process, in ``IntakeRequest.on_timeout`` (Celery's
  custom request class: the one hook that runs for a hard time limit in every Celery 5 release).

A bad file is not an exception here: it ends as a rejected upload with its reason.
"""

from __future__ import annotations

import random

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.request import Request
from django.conf import settings
from django.db import DatabaseError, InterfaceError

from albums import intake
from albums.housekeeping import uploads_purge

TRANSIENT_ERRORS = (DatabaseError, InterfaceError, OSError)


def retry_delay(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: doubling from INTAKE_RETRY_DELAY up to INTAKE_RETRY_DELAY_MAX.

    The jitter keeps the uploads that failed together (the database went away) from all coming
    back at the same moment; it never goes below half the delay, so a retry is never immediate.
    """
    delay = min(settings.INTAKE_RETRY_DELAY_MAX, settings.INTAKE_RETRY_DELAY * 2**retries)
    return delay * random.uniform(0.5, 1.0)  # noqa: S311 - not cryptography


def _took_too_long(seconds: object) -> str:
    return f"processing took longer than {seconds} seconds" if seconds else "processing took too long"


class IntakeRequest(Request):
    def on_timeout(self, soft: bool, timeout: float) -> None:
        super().on_timeout(soft, timeout)
        # On a hard time limit the pool has killed the run and Celery acknowledges the message:
        # without this the upload would sit in "processing" until the sweeper picked it up.
        if not soft and self.args:
            intake.upload_fail(upload_id=int(self.args[0]), task_id=self.id, reason=_took_too_long(timeout))


class IntakeTask(Task):
    Request = "albums.tasks:IntakeRequest"


@shared_task(
    base=IntakeTask,
    name="albums.process_upload",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # The database counts attempts and ends the upload "failed"; this only stops a task whose
    # release could not reach the database either (the sweeper takes that upload later).
    max_retries=settings.INTAKE_MAX_ATTEMPTS + 2,
)
def process_upload(self: IntakeTask, upload_id: int) -> str:
    token = intake.new_token(self.request.id)
    try:
        return intake.upload_process(upload_id=upload_id, token=token)
    except SoftTimeLimitExceeded:
        # The limits travel in the message (set by whoever queued it), so read this run's own.
        limit = (self.request.timelimit or (None, None))[1] or self.app.conf.task_soft_time_limit
        reason = _took_too_long(limit)
        intake.upload_fail(upload_id=upload_id, task_id=self.request.id or "", token=token, reason=reason)
        return intake.FAILED
    except TRANSIENT_ERRORS as exc:
        try:
            retry = intake.upload_release(upload_id=upload_id, token=token, error=exc)
        except TRANSIENT_ERRORS:
            retry = True  # the database is away too: the retry's claim counts this attempt
        if not retry:
            return ""
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc
    except Exception as exc:
        # A bug, neither the file nor the weather: another attempt would fail the same way, so say
        # what happened in the log instead of leaving the upload "processing" for the sweeper.
        reason = f"could not be processed ({intake.describe_error(exc)})"
        intake.upload_fail(upload_id=upload_id, task_id=self.request.id or "", token=token, reason=reason)
        raise


@shared_task(name="albums.sweep_uploads")
def sweep_uploads() -> int:
    return intake.upload_sweep()


@shared_task(name="albums.housekeeping")
def housekeeping() -> int:
    return uploads_purge()
