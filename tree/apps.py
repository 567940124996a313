from __future__ import annotations

from django.apps import AppConfig


class TreeConfig(AppConfig):
    verbose_name = "The tree"
    name = "tree"
    default_auto_field = "django.db.models.BigAutoField"
