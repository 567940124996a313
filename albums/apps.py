from __future__ import annotations

from django.apps import AppConfig


class AlbumsConfig(AppConfig):
    name = "albums"
