"""Sending uploads to the workers without making a client wait for the broker (DESIGN §4).

A door answers a client's close as soon as the upload's row is committed; ``submit`` (called on
commit) only hands the id to this process's outbox, a thread that publishes the processing tasks in
the background. A broker that is down or frozen only delays the outbox: it keeps the ids in memory
(up to ``OUTBOX_MAX`` of them), retries with a growing pause and logs each outage once, and goes on
when the broker answers again. Whatever the outbox never got to send (the process died, the outbox
was full) is still ``received`` in the database, and the sweeper queues it: the outbox is the fast
path, the sweeper the backstop. ``drain`` gives a stopping server a moment to send what it holds.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from albums import intake

logger = logging.getLogger(__name__)

OUTBOX_MAX = 10_000
RETRY_PAUSES = (0.5, 1, 2, 5, 10, 30)  # seconds between attempts while the broker is away


class Outbox:
    def __init__(self, publish: Callable[[int], bool] | None = None, maxsize: int = OUTBOX_MAX) -> None:
        self._publish = publish
        self._ids: queue.Queue[int] = queue.Queue(maxsize=maxsize)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def submit(self, upload_id: int) -> None:
        """Queue ``upload_id`` for publishing; never blocks."""
        try:
            self._ids.put_nowait(upload_id)
        except queue.Full:
            logger.warning("outbox full; upload %s is left to the sweeper", upload_id)
            return
        self._idle.clear()
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
                self._thread.start()

    def _send(self, upload_id: int) -> bool:
        publish = self._publish or intake.upload_queue
        return bool(publish(upload_id))

    def _run(self) -> None:
        while True:
            try:
                upload_id = self._ids.get(timeout=5)
            except queue.Empty:
                if self._ids.empty():
                    self._idle.set()
                continue
            failures = 0
            while not self._send(upload_id):
                pause = RETRY_PAUSES[min(failures, len(RETRY_PAUSES) - 1)]
                if failures == 0:
                    logger.warning("broker unavailable; %d upload(s) wait in the outbox", self._ids.qsize() + 1)
                failures += 1
                time.sleep(pause)
            if failures:
                logger.info("broker back after %d attempt(s); sending the outbox", failures + 1)
            if self._ids.empty():
                self._idle.set()

    def pending(self) -> int:
        return self._ids.qsize()

    def drain(self, timeout: float) -> bool:
        """Wait until everything submitted is sent (or ``timeout`` passes); True when it was."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._ids.empty():
                return True
        return False


_outbox = Outbox()


def submit(upload_id: int) -> None:
    """Hand an upload to this process's outbox (see the module docstring)."""
    _outbox.submit(upload_id)


def drain(timeout: float = 5.0) -> bool:
    return _outbox.drain(timeout)


def pending() -> int:
    return _outbox.pending()
