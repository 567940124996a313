"""The project package: settings, URLs, the Celery app and the runportal command."""

from __future__ import annotations

from portal.celery import app as celery_app

__all__ = ["celery_app"]
