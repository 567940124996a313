"""Finished means finished over FTP (DESIGN §8): a data connection that is reset, or ends over TLS
without close_notify, is a failed transfer (426) and never an upload; a temporary name keeps its
bytes for a resume; a client killed mid-upload leaves nothing."""

from __future__ import annotations

import ftplib
import hashlib
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
from typing import cast

from albums.models import Upload
from jobs import services
from tests.conftest import PASSWORD
from tests.ftpd.conftest import ftps, plain_ftp
from tests.helpers import wait_for
from tests.images import jpeg
from tree import layout
from tree.models import TreeFile

ALBUM = "/job00001/Class 1"


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset instead of a FIN (SO_LINGER with a zero timeout)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _reply_after(ftp: ftplib.FTP) -> str:
    try:
        return ftp.voidresp()
    except ftplib.Error as exc:
        return str(exc)


def test_a_plain_data_connection_reset_mid_transfer_is_426_and_no_upload(ftp_server, ftp_user, account, album) -> None:
    camera = services.ftp_user_create(account=account, username="camera", password=PASSWORD)
    services.ftp_user_set_plain_ftp(ftp_user=camera, allowed=True)
    data = jpeg(size=(1200, 900))
    with plain_ftp(ftp_server, "camera") as ftp:
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd(f"STOR {ALBUM}/reset.jpg")
        conn.sendall(data[: len(data) // 2])
        _reset(conn)
        answer = _reply_after(ftp)
        assert answer.startswith("426"), answer
        assert "reset.jpg" not in ftp.nlst(ALBUM)
    assert not Upload.objects.exists() and not TreeFile.objects.exists()


def test_a_tls_data_connection_ended_without_close_notify_is_426_and_no_upload(ftp_server, ftp_user, album) -> None:
    data = jpeg(size=(1200, 900))
    with ftps(ftp_server) as ftp:
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd(f"STOR {ALBUM}/cut.jpg")
        conn.sendall(data)  # all the bytes, but no TLS close_notify: the end cannot be told from a cut
        raw = socket.socket(fileno=conn.detach())
        raw.close()
        answer = _reply_after(ftp)
        assert answer.startswith("426"), answer
        # And with close_notify, the same bytes are a finished upload.
        conn = ftp.transfercmd(f"STOR {ALBUM}/whole.jpg")
        conn.sendall(data)
        cast(ssl.SSLSocket, conn).unwrap()
        conn.close()
        assert ftp.voidresp().startswith("226")
    assert list(Upload.objects.values_list("filename", flat=True)) == ["whole.jpg"]


def test_a_temporary_name_keeps_its_bytes_after_a_reset_for_a_resume(ftp_server, ftp_user, album) -> None:
    data = jpeg(size=(1200, 900))
    half = len(data) // 2
    with ftps(ftp_server) as ftp:
        ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd(f"STOR {ALBUM}/big.jpg.filepart")
        conn.sendall(data[:half])
        _reset(conn)
        assert _reply_after(ftp).startswith("426")
        kept = wait_for(lambda: TreeFile.objects.filter(name="big.jpg.filepart").first(), timeout=10)
        assert 0 < kept.size <= half
        size = ftp.size(f"{ALBUM}/big.jpg.filepart")
        assert size is not None
        conn = ftp.transfercmd(f"STOR {ALBUM}/big.jpg.filepart", rest=size)
        conn.sendall(data[size:])
        cast(ssl.SSLSocket, conn).unwrap()
        conn.close()
        ftp.voidresp()
        ftp.rename(f"{ALBUM}/big.jpg.filepart", f"{ALBUM}/big.jpg")
    assert Upload.objects.get().sha256 == hashlib.sha256(data).hexdigest()


def test_a_client_killed_mid_upload_leaves_no_upload(ftp_server, ftp_user, album) -> None:
    script = textwrap.dedent(
        f"""
        import ftplib, os, signal, ssl
        ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
        ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("{ftp_server.host}", {ftp_server.port}, timeout=30)
        ftp.auth(); ftp.login("photographer", {PASSWORD!r}); ftp.prot_p(); ftp.voidcmd("TYPE I")
        conn = ftp.transfercmd("STOR {ALBUM}/killed.jpg")
        conn.sendall(b"x" * 2_000_000)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    subprocess.run([sys.executable, "-c", script], timeout=60, check=False)
    wait_for(lambda: not any(p.is_file() for p in layout.staging_root().rglob("*")), timeout=15)
    assert not Upload.objects.exists() and not TreeFile.objects.exists()
