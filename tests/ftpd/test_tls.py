"""The FTPS certificate and TLS rules (DESIGN §8): made once and kept, fingerprinted as openssl does,
TLS 1.2 at most, the operator's own certificate when configured."""

from __future__ import annotations

import ftplib
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.core.management.base import CommandError

from ftpd import tls
from tests.conftest import RunningFTPServer
from tests.ftpd.conftest import ftps, tls_context
from tests.helpers import require_program


def _openssl_fingerprint(cert: Path) -> str:
    require_program("openssl", "openssl")
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_fingerprints_prints_what_openssl_prints_and_never_makes_a_certificate(settings, tmp_path, capsys) -> None:
    settings.FTPD_TLS_DIR = tmp_path / "tls"
    with pytest.raises(CommandError, match="no FTPS certificate"):
        call_command("ftpd", "fingerprints")
    assert not (tmp_path / "tls").exists()
    call_command("ftpd", "create-cert")
    capsys.readouterr()
    call_command("ftpd", "fingerprints")
    assert capsys.readouterr().out.strip() == _openssl_fingerprint(tmp_path / "tls" / tls.CERT_FILE)


def test_the_certificate_is_rsa_2048_for_the_public_host_made_once_and_kept(settings, tmp_path) -> None:
    settings.FTPD_TLS_DIR = tmp_path / "tls"
    settings.FTPD_PUBLIC_HOST = "photos.example.test"
    made = tls.load_or_create()
    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["photos.example.test"]
    assert made.key.stat().st_mode & 0o077 == 0  # the private key is the server's alone
    first = tls.fingerprint()
    settings.FTPD_PUBLIC_HOST = "elsewhere.example.test"  # a later start never replaces it
    tls.load_or_create()
    assert tls.fingerprint() == first


def test_the_server_presents_its_certificate_and_speaks_no_tls_13(ftp_server: RunningFTPServer, ftp_user) -> None:
    with ftps(ftp_server) as ftp:
        sock = ftp.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() == "TLSv1.2"
        der = sock.getpeercert(binary_form=True)
        assert der is not None
    served = x509.load_der_x509_certificate(der)
    assert served == x509.load_pem_x509_certificate(tls.paths().cert.read_bytes())

    only_13 = tls_context()
    only_13.minimum_version = ssl.TLSVersion.TLSv1_3
    client = ftplib.FTP_TLS(context=only_13)
    client.connect(ftp_server.host, ftp_server.port, timeout=30)
    with pytest.raises(ssl.SSLError):
        client.auth()
    client.close()


def test_an_operators_own_certificate_is_served_instead(settings, tmp_path, transactional_db, ftp_user) -> None:
    require_program("openssl", "openssl")
    cert, key = tmp_path / "own.pem", tmp_path / "own.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=ftp.example.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    settings.FTPD_TLS_CERT, settings.FTPD_TLS_KEY = str(cert), str(key)
    settings.FTPD_TLS_DIR = tmp_path / "tls"
    from ftpd import server

    listener = server.start("127.0.0.1", 0, 0)
    thread = threading.Thread(target=listener.serve, daemon=True)
    thread.start()
    try:
        running = RunningFTPServer("127.0.0.1", listener.port, listener.implicit_port)
        with ftps(running) as ftp:
            assert isinstance(ftp.sock, ssl.SSLSocket)
            der = ftp.sock.getpeercert(binary_form=True)
            assert der is not None
        assert x509.load_der_x509_certificate(der) == x509.load_pem_x509_certificate(cert.read_bytes())
        assert _openssl_fingerprint(cert).endswith(tls.fingerprint())
        assert not (Path(settings.FTPD_TLS_DIR) / tls.CERT_FILE).exists()  # nothing made beside it
    finally:
        listener.stop()
        thread.join(30)
