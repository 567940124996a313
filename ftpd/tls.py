"""The FTPS certificate and TLS settings.

Like the SSH host keys, the certificate is made once, on the FTP server's first start, kept in
FTPD_TLS_DIR and never changed unless the operator rotates it (cameras and FileZilla remember it);
an operator's own certificate (FTPD_TLS_CERT, FTPD_TLS_KEY) replaces it. The one made here is
self-signed, RSA 2048 (what the oldest camera firmware still speaks), valid ten years, with the
public host name (FTPD_PUBLIC_HOST) as its subject alternative name. Creation is race-free between
processes (``portal.files.create_once``); reading the fingerprint never creates anything.

TLS is 1.2 at most, on the control and the data connections alike. TLS 1.3 sends session tickets
after the handshake, and clients that never read from a data connection they only write to
(rclone, OpenSSL-based camera firmware) were seen to lose the end of an upload while the server
said 226. Both connections share one context, so a client may resume the control connection's
session on its data connections (FileZilla does); nobody is required to (Python's ftplib does not).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from OpenSSL import SSL

from portal.files import create_once

CERT_FILE, KEY_FILE = "ftpd-cert.pem", "ftpd-key.pem"
VALID_DAYS = 3650
# Modern ciphers only (forward secrecy, AEAD), as for SSH.
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM"


@dataclass(frozen=True)
class CertificatePaths:
    cert: Path
    key: Path


def paths() -> CertificatePaths:
    if settings.FTPD_TLS_CERT:
        return CertificatePaths(Path(settings.FTPD_TLS_CERT), Path(settings.FTPD_TLS_KEY or settings.FTPD_TLS_CERT))
    directory = Path(settings.FTPD_TLS_DIR)
    return CertificatePaths(directory / CERT_FILE, directory / KEY_FILE)


def _name_entry(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def load_or_create() -> CertificatePaths:
    """The certificate files, making a self-signed certificate first if there is none (and none is configured)."""
    found = paths()
    if settings.FTPD_TLS_CERT or found.cert.exists():
        return found
    found.cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    host = str(settings.FTPD_PUBLIC_HOST)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_name_entry(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The key first: a certificate on disk always has its key beside it.
    if create_once(found.key, key_pem, 0o600):
        create_once(found.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    else:  # another process is making them: wait for its certificate
        deadline = time.monotonic() + 10
        while not found.cert.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return found


def fingerprint(cert_path: Path | None = None) -> str:
    """The certificate's SHA-256 fingerprint as ``openssl x509 -fingerprint -sha256`` prints it ("" if none yet)."""
    cert_path = paths().cert if cert_path is None else cert_path
    try:
        pem = cert_path.read_bytes()
    except OSError:
        return ""
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def context(found: CertificatePaths) -> SSL.Context:
    """The one TLS context of the control and data connections (see the module docstring)."""
    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
    ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE | SSL.OP_NO_RENEGOTIATION)
    ctx.set_cipher_list(CIPHERS.encode())
    ctx.use_certificate_chain_file(str(found.cert))
    ctx.use_privatekey_file(str(found.key))
    ctx.check_privatekey()
    ctx.set_session_id(b"photo-portal-ftpd")  # session reuse between control and data connections
    ctx.set_session_cache_mode(SSL.SESS_CACHE_SERVER)
    return ctx
