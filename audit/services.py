"""Recording audit events: the one function every service calls after a write."""

from __future__ import annotations

from typing import Any

from django.db import models

from audit import context
from audit.models import AuditEvent
from jobs.models import Account


def event_record(
    *,
    action: str,
    account: Account | int | None,
    target: models.Model | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that the current actor (``audit.context``) did ``action`` to ``target`` in ``account``.

    Call it inside the service's transaction, so an event exists exactly when its write does.
    ``account`` may be an id (the intake knows only that, and one INSERT is all it pays).
    """
    actor = context.current()
    return AuditEvent.objects.create(
        account_id=account if isinstance(account, int) or account is None else account.pk,
        actor_kind=actor.kind,
        actor_name=actor.name[:150],
        actor_user_id=actor.user_id,
        actor_ftp_user_id=actor.ftp_user_id,
        address=actor.address,
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None and target.pk is not None else "",
        object_repr=str(target)[:255] if target is not None else "",
        detail=detail or {},
    )
