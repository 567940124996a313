"""``manage.py runportal`` on the embedded defaults (SQLite, filesystem broker, local media), as
``make run`` starts it: it serves the admin and SFTP, takes an upload through to a photo, and stops
every child on SIGTERM."""

from __future__ import annotations

import ftplib
import hashlib
import io
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.helpers import SSH_OPTIONS, run_client, wait_for, write_file
from tests.images import jpeg

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _trust_any() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # self-signed; the test compares the fingerprint instead
    return context


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_runportal_serves_web_sftp_and_ftps_and_stops_cleanly(tmp_path: Path) -> None:
    ports = sftp_port, web_port, ftp_port, implicit_port = _free_port(), _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(PORTAL_VAR_DIR=str(tmp_path / "var"), SFTPD_PORT=str(sftp_port), WEB_PORT=str(web_port),
               FTPD_PORT=str(ftp_port), FTPD_IMPLICIT_PORT=str(implicit_port), FTPD_PASSIVE_PORTS="",
               PYTHONUNBUFFERED="1", INTAKE_SWEEP_INTERVAL="5")  # fmt: skip
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    log = (tmp_path / "portal.log").open("w+")
    portal = subprocess.Popen([*manage, "runportal"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def banner() -> str | None:
            text = (tmp_path / "portal.log").read_text()
            return text if "Press Ctrl-C to stop." in text else None

        text = wait_for(banner, timeout=120)
        shown = re.search(r"Password: (\S+)", text)
        assert shown is not None
        password = shown.group(1)
        assert f"Port:     {sftp_port}" in text and "Protocol: SFTP" in text
        assert re.search(r"Host key: ssh-ed25519 SHA256:\S+", text)
        fingerprint = re.search(r"TLS cert: SHA-256 ([0-9A-F:]{95})", text)
        assert fingerprint is not None and f"port {ftp_port} (explicit" in text
        wait_for(lambda: all(_listening(port) for port in ports), timeout=60)

        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/admin/login/", timeout=10) as response:
            assert response.status == 200 and b"Photo job portal" in response.read()

        photo = write_file(tmp_path / "portrait.jpg", jpeg(size=(2000, 1500)))
        askpass = tmp_path / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\necho '{password}'\n")
        askpass.chmod(0o700)
        upload = run_client(
            ["sftp", *SSH_OPTIONS, "-P", str(sftp_port), "-b", "-", "demo@127.0.0.1"],
            input=f'cd job00001\nmkdir "Class 1"\nput {photo} "Class 1/portrait.jpg"\n',
            env={**os.environ, "SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"},
        )
        assert upload.returncode == 0, upload.stderr

        def done(count: int) -> list[dict[str, object]] | None:
            out = subprocess.run([*manage, "uploads", "--json"], env=env, capture_output=True, text=True, check=True)
            rows = json.loads(out.stdout)
            return rows if len(rows) == count and all(row["state"] == "done" for row in rows) else None

        rows = wait_for(lambda: done(1), timeout=60, interval=0.5)
        assert rows[0]["album"] == "Class 1" and rows[0]["photo_id"] is not None

        # The same demo user over FTPS: the certificate is the one the banner printed.
        with ftplib.FTP_TLS(context=_trust_any(), encoding="utf-8") as ftp:
            ftp.connect("127.0.0.1", ftp_port, timeout=30)
            ftp.auth()
            assert isinstance(ftp.sock, ssl.SSLSocket)
            served = hashlib.sha256(ftp.sock.getpeercert(binary_form=True) or b"").hexdigest().upper()
            assert ":".join(served[i : i + 2] for i in range(0, 64, 2)) == fingerprint.group(1)
            ftp.login("demo", password)
            ftp.prot_p()
            ftp.storbinary("STOR /job00001/Class 1/second.jpg", io.BytesIO(jpeg(size=(800, 600))))
        rows = wait_for(lambda: done(2), timeout=60, interval=0.5)
        assert {row["door"] for row in rows} == {"sftp", "ftps"}
    finally:
        portal.send_signal(signal.SIGTERM)
        try:
            code = portal.wait(timeout=30)
        except subprocess.TimeoutExpired:
            portal.kill()
            raise
        log.close()
    assert code == 0, (tmp_path / "portal.log").read_text()[-3000:]
    assert "Portal stopped." in (tmp_path / "portal.log").read_text()
    time.sleep(0.5)
    assert not any(_listening(port) for port in ports)
