from __future__ import annotations

from django.apps import AppConfig


class SftpdConfig(AppConfig):
    verbose_name = "SFTP server"
    name = "sftpd"
