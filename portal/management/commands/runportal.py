"""``python manage.py runportal``: the whole portal on one machine, as child processes.

Applies migrations; on the first run creates a demo account with a planned job ``job00001`` and an
FTP user ``demo`` whose generated password is printed once; then runs the web app (gunicorn), the
SFTP server, the FTP/FTPS server, a Celery worker and the periodic scheduler (beat), prints what a
photographer types into FileZilla and what a camera needs for FTPS, and stops every child cleanly
on Ctrl-C or SIGTERM. If one child dies, the others
are stopped too and the command exits non-zero, so a supervisor notices.

The worker runs one pool process per core (``CELERY_WORKER_CONCURRENCY`` overrides it). Every
child but the web app runs with DEBUG off unless DEBUG was set (``server_env``).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from ftpd import tls
from jobs import services
from jobs.models import Account
from portal.connection import FTPSConnection, SFTPConnection
from sftpd import hostkeys

DEMO_ACCOUNT = "Demo studio"
DEMO_USER = "demo"
DEMO_JOB = "job00001"
STOP_GRACE = 10.0


def server_env(env: dict[str, str], *, var_dir: Path) -> dict[str, str]:
    """The environment of every child but the web app: DEBUG off unless the user chose DEBUG.

    ``make run`` is a local demo, so the web app keeps the embedded default (DEBUG=True: the admin's
    static files straight from the apps, error pages that help). The SFTP and FTP servers, the
    worker and beat have no pages to show; with DEBUG on, Django would wrap their cursors and keep
    every SQL query of these long-lived processes in memory (``connection.queries_log``). DEBUG=False
    needs a SECRET_KEY: the one the embedded run generated under var/, passed as a file.
    """
    if "DEBUG" in env or "DEBUG_FILE" in env:
        return env
    servers = {**env, "DEBUG": "False"}
    if not any(name in env for name in ("SECRET_KEY", "SECRET_KEY_FILE")):
        servers["SECRET_KEY_FILE"] = str(var_dir / "secret_key")
    return servers


def child_commands() -> dict[str, list[str]]:
    """The command line of each child, by name."""
    py = sys.executable
    manage = [py, str(settings.BASE_DIR / "manage.py")]
    return {
        "web": [
            py,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--bind",
            f"{settings.WEB_HOST}:{settings.WEB_PORT}",
            "--workers",
            "2",
            "--access-logfile",
            "-",
        ],
        "sftpd": [*manage, "runsftpd"],
        "ftpd": [*manage, "runftpd"],
        # As many pool processes as cores unless CELERY_WORKER_CONCURRENCY says otherwise (settings).
        "worker": [py, "-m", "celery", "-A", "portal", "worker", "--loglevel", "INFO"],
        "beat": [
            py,
            "-m",
            "celery",
            "-A",
            "portal",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(settings.VAR_DIR / "celerybeat-schedule"),
        ],
    }


class Command(BaseCommand):
    help = "Run the web app, SFTP and FTP servers, worker and scheduler together (embedded defaults)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-demo", action="store_true", help="do not create the demo studio")

    def handle(self, *args: Any, no_demo: bool, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        password = None if no_demo else self._create_demo()
        # Made here, once, before any child starts: two processes never race to create them.
        hostkeys.load_or_create(settings.SFTPD_HOST_KEY_DIR)
        tls.load_or_create()
        children = self._start_children()
        self._print_banner(password)
        code = self._supervise(children)
        raise SystemExit(code)

    @transaction.atomic
    def _create_demo(self) -> str | None:
        if Account.objects.exists():
            return None
        account = services.account_create(name=DEMO_ACCOUNT)
        services.job_create(account=account, internal_name=DEMO_JOB, title="Demo school")
        password = secrets.token_urlsafe(12)
        services.ftp_user_create(account=account, username=DEMO_USER, password=password)
        return password

    def _start_children(self) -> dict[str, subprocess.Popen[bytes]]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        servers = server_env(env, var_dir=settings.VAR_DIR)
        return {
            name: subprocess.Popen(
                cmd, cwd=settings.BASE_DIR, env=env if name == "web" else servers, start_new_session=True
            )
            for name, cmd in child_commands().items()
        }

    def _print_banner(self, password: str | None) -> None:
        user = DEMO_USER if password else "your FTP user (python manage.py ftpuser ...)"
        sftp, ftps = SFTPConnection(username=user), FTPSConnection(username=user)
        lines = [
            "",
            "Photo job portal is running.",
            f"  Admin:    http://{settings.WEB_HOST}:{settings.WEB_PORT}/admin/"
            "  (create a login with: python manage.py createsuperuser)",
            "",
            "Connect with FileZilla or WinSCP:",
            "  Protocol: SFTP - SSH File Transfer Protocol (not FTPS)",
            f"  Host:     {sftp.host}",
            f"  Port:     {sftp.port}",
            f"  User:     {user}",
        ]
        if password:
            lines += [f"  Password: {password}   (shown only this once)"]
        lines += [f"  Host key: {fp.algorithm} {fp.sha256}" for fp in sftp.fingerprints]
        lines += [
            f"  Folders:  /{DEMO_JOB}/<album>/ , <album>/individuals/ , <album>/group/",
            "",
            "Cameras and FTP-only clients:",
            f"  FTPS:     {ftps.host} port {ftps.port} (explicit, AUTH TLS), port {ftps.implicit_port} (implicit)",
            f"  Mode:     passive, data ports {ftps.passive_ports}",
            f"  TLS cert: SHA-256 {ftps.fingerprint}",
            "  Plain FTP: refused unless allowed per FTP user (python manage.py ftpuser plain-ftp USER on)",
            "",
            "Press Ctrl-C to stop.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _supervise(self, children: dict[str, subprocess.Popen[bytes]]) -> int:
        stopping = False

        def request_stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        code = 0
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    self.stderr.write(f"{name} exited with status {proc.returncode}; stopping the portal.")
                    stopping, code = True, 1
                    break
            time.sleep(0.5)
        self._stop(children)
        return code

    def _stop(self, children: dict[str, subprocess.Popen[bytes]]) -> None:
        for proc in children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for name, proc in children.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_GRACE:.0f}s; killing it.")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.stdout.write("Portal stopped.")
