"""What a photographer or a camera needs to connect, for the web pages and the commands.

Host, port, protocol and the server's host key fingerprints, read from settings and from the public
halves of the host keys the SFTP server published; for the FTP/FTPS door (DESIGN §8) the ports, the
passive range and the TLS certificate's fingerprint; and ``card``, one FTP user's connection card
with the folders it sees right now. Nothing here creates a key or a certificate,
or imports a server: the web app only reads what ``sftpd.hostkeys`` and ``ftpd.tls`` made when the
servers first started.

asyncssh and pyOpenSSL are imported where a fingerprint is read, not at the top: Celery's worker
runs Django's system checks, which load every URLconf and so this module, and those two libraries
would cost each worker process some 30 MiB it never uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from jobs.models import FTPUser

if TYPE_CHECKING:
    import asyncssh

# The SFTP host keys as files in SFTPD_HOST_KEY_DIR (the private key, and NAME.pub beside it).
HOST_KEY_FILES = {"ssh-ed25519": "ssh_host_ed25519_key", "ssh-rsa": "ssh_host_rsa_key"}
KEY_COMMENT = "photo-portal"


@dataclass(frozen=True)
class Fingerprint:
    algorithm: str
    bits: int
    sha256: str  # "SHA256:..." as ssh-keygen -l, FileZilla and WinSCP show it
    md5: str  # "MD5:aa:bb:..." as ssh-keygen -l -E md5 shows it; some cameras pin this

    @property
    def kind(self) -> str:
        """The key type as ssh-keygen names it in brackets."""
        return {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}.get(self.algorithm, self.algorithm)


def fingerprint(key: asyncssh.SSHKey) -> Fingerprint:
    pyca = getattr(key, "pyca_key", None)  # RSA keys know their size; Ed25519 is always 256 bits
    return Fingerprint(
        algorithm=key.get_algorithm(),
        bits=int(getattr(pyca, "key_size", 256)),
        sha256=key.get_fingerprint("sha256"),
        md5=key.get_fingerprint("md5"),
    )


def host_key_fingerprints(key_dir: Path | None = None) -> list[Fingerprint]:
    """Fingerprints of the published host keys; empty before the SFTP server first started."""
    import asyncssh

    key_dir = Path(settings.SFTPD_HOST_KEY_DIR) if key_dir is None else key_dir
    found = []
    for filename in HOST_KEY_FILES.values():
        try:
            found.append(fingerprint(asyncssh.read_public_key(key_dir / f"{filename}.pub")))
        except (OSError, asyncssh.KeyImportError):
            continue
    return found


def host_public_key(algorithm: str = "ssh-ed25519", key_dir: Path | None = None) -> str:
    """The base64 blob of a published host key (what INSTAR's ``testftp&sethost=`` pins); "" before the first start."""
    key_dir = Path(settings.SFTPD_HOST_KEY_DIR) if key_dir is None else key_dir
    try:
        line = (key_dir / f"{HOST_KEY_FILES[algorithm]}.pub").read_text().split()
    except (OSError, KeyError):
        return ""
    return line[1] if len(line) > 1 else ""


@dataclass(frozen=True)
class SFTPConnection:
    """The SFTP connection data a photographer types into FileZilla or WinSCP."""

    username: str
    protocol: str = "SFTP - SSH File Transfer Protocol (not FTPS, not FTP)"

    @property
    def host(self) -> str:
        return str(settings.SFTPD_PUBLIC_HOST)

    @property
    def port(self) -> int:
        return int(settings.SFTPD_PORT)

    @property
    def fingerprints(self) -> list[Fingerprint]:
        return host_key_fingerprints()


@dataclass(frozen=True)
class FTPSConnection:
    """What a camera or an FTP-only client needs: FTPS (explicit or implicit), passive mode.

    Plain FTP is the same host and port without TLS, for the FTP users a studio allowed it for.
    """

    username: str
    protocol: str = "FTPS - FTP over TLS, explicit (AUTH TLS), passive mode"

    @property
    def host(self) -> str:
        return str(settings.FTPD_PUBLIC_HOST)

    @property
    def port(self) -> int:
        return int(settings.FTPD_PORT)

    @property
    def implicit_port(self) -> int:
        return int(settings.FTPD_IMPLICIT_PORT)

    @property
    def passive_ports(self) -> str:
        return str(settings.FTPD_PASSIVE_PORTS) or "any"

    @property
    def fingerprint(self) -> str:
        """The certificate's SHA-256 as ``openssl x509 -fingerprint -sha256`` prints it; "" before the first start."""
        from ftpd import tls

        return tls.fingerprint()


@dataclass(frozen=True)
class Card:
    """The connection card of one FTP user (or, without one, of the server): what the settings page shows.

    ``folders`` are the top folders this user sees right now, as the tree lists them to it
    (``tree.operations.Tree``): the planned jobs for a photographer; for a camera, its album as ``/``.
    """

    username: str
    sftp: SFTPConnection
    ftps: FTPSConnection | None  # None where the FTP door is not configured (FTPD_PORT = 0)
    folders: list[str] | None  # None for the server's card (no user)
    device_album: str = ""  # "job / album" a camera sees as "/"; "" for a person
    device_blocked: str = ""  # why a camera sees nothing now (its job is not planned)


def ftps_configured() -> bool:
    return bool(int(settings.FTPD_PORT))


def card(ftp_user: FTPUser | None = None) -> Card:
    """The card of ``ftp_user``, or the server's card (no user name, no folders) without one."""
    username = ftp_user.username if ftp_user is not None else ""
    ftps = FTPSConnection(username=username) if ftps_configured() else None
    if ftp_user is None:
        return Card(username, SFTPConnection(username=username), ftps, None)
    from albums.models import Door
    from jobs.exceptions import PortalError
    from tree.operations import Tree
    from tree.principal import Client, Principal
    from tree.resolve import device_of

    client = Client(principal=Principal(ftp_user=ftp_user, method="password"), door=Door.SFTP, address=None)
    if ftp_user.kind == FTPUser.Kind.DEVICE:
        try:
            device = device_of(client)
        except PortalError as exc:
            return Card(username, SFTPConnection(username=username), ftps, [], device_blocked=exc.message)
        album = f"{device.album.job.internal_name} / {device.album.name}" if device is not None else ""
        return Card(username, SFTPConnection(username=username), ftps, [], device_album=album)
    folders = [entry.name for entry in Tree(client).listing("/")]
    return Card(username, SFTPConnection(username=username), ftps, folders)
