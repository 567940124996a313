"""Looking into the broker: which uploads still have a processing message waiting or being worked on.

The sweeper (``albums.intake.upload_sweep``) re-queues an upload only when its message can really be
lost, so a backlog, however old, is never queued twice over. For the two brokers the portal ships
with this is read from the broker itself: Redis (the queue's lists, one per priority step, and
kombu's ``unacked`` hash of messages delivered to a worker) and kombu's filesystem transport (the
queue folder). For any other broker ``waiting_upload_ids`` answers None and the sweeper falls back
to re-queueing at growing intervals.
"""

from __future__ import annotations

import ast
import base64
import json
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings

from portal.celery import app as celery_app

logger = logging.getLogger(__name__)

PROCESS_TASK = "albums.process_upload"
# kombu's Redis transport: one list per priority step, named "<queue>\x06\x16<step>" (step 0: "<queue>").
_REDIS_PRIORITY_STEPS = (0, 3, 6, 9)
_REDIS_SEP = "\x06\x16"


def _upload_id(message: Any) -> int | None:
    """The upload id a kombu message for the processing task carries, or None."""
    if not isinstance(message, dict):
        return None
    headers = message.get("headers") or {}
    if headers.get("task") != PROCESS_TASK:
        return None
    try:
        args = ast.literal_eval(headers.get("argsrepr") or "()")
        if not args:  # no argsrepr: decode the body (protocol 2: [args, kwargs, embed])
            args = json.loads(base64.b64decode(message["body"]))[0]
        return int(args[0])
    except (ValueError, SyntaxError, TypeError, KeyError, IndexError):
        return None


def _ids(raw_messages: Iterable[bytes | str], queue: str | None = None) -> set[int]:
    """The upload ids in raw messages; entries of kombu's unacked hash count only for ``queue``."""
    found = set()
    for raw in raw_messages:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, list):  # an unacked entry: [message, exchange, routing_key]
            if len(message) < 3 or (queue is not None and message[2] != queue):
                continue  # delivered from another queue (another portal sharing this Redis)
            message = message[0]
        upload_id = _upload_id(message)
        if upload_id is not None:
            found.add(upload_id)
    return found


def _redis_ids(url: str, queue: str) -> set[int]:
    from redis import Redis

    options = celery_app.conf.broker_transport_options or {}
    prefix = options.get("global_keyprefix", "")
    unacked = f"{prefix}{options.get('unacked_key', 'unacked')}"
    index = f"{prefix}{options.get('unacked_index_key', 'unacked_index')}"
    client = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
    try:
        lists = [queue if step == 0 else f"{queue}{_REDIS_SEP}{step}" for step in _REDIS_PRIORITY_STEPS]
        pipe = client.pipeline(transaction=False)
        for key in lists:
            pipe.lrange(f"{prefix}{key}", 0, -1)
        # Delivered and not acknowledged for less than INTAKE_STUCK_AFTER: a run may still hold it.
        # Older deliveries belong to runs that died (the limit is above the hard time limit); Redis
        # would hand them out again only after the visibility timeout, the sweeper does it sooner.
        pipe.zrangebyscore(index, time.time() - settings.INTAKE_STUCK_AFTER, "+inf")
        *queued, recent = pipe.execute()
        delivered = [raw for raw in (client.hmget(unacked, recent) if recent else []) if raw]
    finally:
        client.close()
    return _ids(raw for batch in queued for raw in batch) | _ids(delivered, queue)


def _filesystem_ids(queue: str) -> set[int]:
    folder = Path(celery_app.conf.broker_transport_options["data_folder_in"])
    raws = []
    for path in folder.glob(f"*.{queue}.msg"):
        try:
            raws.append(path.read_bytes())
        except FileNotFoundError:  # consumed meanwhile
            continue
    return _ids(raws)


def waiting_upload_ids() -> set[int] | None:
    """Uploads with a processing message in the broker now; None when this broker cannot be looked into."""
    url = str(celery_app.conf.broker_url or "")
    queue = str(celery_app.conf.task_default_queue)
    try:
        if url.startswith(("redis://", "rediss://")):
            return _redis_ids(url, queue)
        if url.startswith("filesystem"):
            return _filesystem_ids(queue)
    except Exception:
        logger.warning("could not look into the broker; the sweeper re-queues by age alone", exc_info=True)
    return None
