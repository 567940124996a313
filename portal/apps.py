from __future__ import annotations

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self) -> None:
        from portal import labels

        labels.apply()  # the admin's names of models and fields, translated (portal.labels)
