"""The FTP door speaks the account's language after login, and the server's default (English) before it:
the user name is not known to be anyone's yet."""

from __future__ import annotations

import ftplib

from jobs import services
from tests.conftest import PASSWORD, RunningFTPServer
from tests.ftpd.conftest import ftps, put, refusal, tls_context


def wrong_password(server: RunningFTPServer, username: str) -> ftplib.Error:
    client = ftplib.FTP_TLS(context=tls_context(), encoding="utf-8")
    client.connect(server.host, server.port, timeout=30)
    try:
        client.auth()
        return refusal(client.login, username, "not the password")
    finally:
        client.close()


def test_a_german_studios_camera_reads_ftp_refusals_in_german(ftp_server, transactional_db) -> None:
    studio = services.account_create(name="Fotostudio Sonne", language="de")
    services.job_create(account=studio, internal_name="job00001")
    services.ftp_user_create(account=studio, username="fotograf", password=PASSWORD)

    with ftps(ftp_server, "fotograf") as ftp:
        in_job = refusal(put, ftp, "/job00001/photo.jpg", b"x")
        missing = refusal(ftp.cwd, "/job99999")
        noop = ftp.sendcmd("NOOP")  # pyftpdlib's own replies stay as they are
    assert str(in_job) == (
        "550 Laden Sie in einen Albumordner innerhalb des Auftragsordners hoch, nicht in den Auftragsordner selbst."
    )
    assert str(missing) == "550 Es gibt keinen geplanten Fotoauftrag namens 'job99999'."
    assert noop.startswith("200")
    assert str(wrong_password(ftp_server, "fotograf")) == "530 Login incorrect."


def test_an_english_studio_reads_english(ftp_server, ftp_user, planned_job) -> None:
    with ftps(ftp_server) as ftp:
        in_job = refusal(put, ftp, "/job00001/photo.jpg", b"x")
    assert str(in_job) == "550 Upload into an album folder inside the job folder, not into the job folder itself."

    assert str(wrong_password(ftp_server, "photographer")) == "530 Login incorrect."
