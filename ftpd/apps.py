from __future__ import annotations

from django.apps import AppConfig


class FtpdConfig(AppConfig):
    verbose_name = "FTP and FTPS server"
    name = "ftpd"
