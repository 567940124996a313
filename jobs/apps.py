from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_staff_permissions(sender: Any, **kwargs: Any) -> None:
    from jobs import services

    services.studio_staff_group_sync()


class JobsConfig(AppConfig):
    name = "jobs"

    def ready(self) -> None:
        # Permissions are created after migrations; a new app's (subjects) reach the studio staff then.
        post_migrate.connect(_sync_staff_permissions, dispatch_uid="jobs.sync_staff_permissions")
