"""The server's host keys: Ed25519 and RSA, generated once into SFTPD_HOST_KEY_DIR and kept.

Photographers accept the fingerprint once (FileZilla, WinSCP) and some cameras pin it, so a key
never changes unless an operator deletes the files to rotate it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from albums.storage import fsync_dir

KEY_FILES = {"ssh-ed25519": ("ssh_host_ed25519_key", {}), "ssh-rsa": ("ssh_host_rsa_key", {"key_size": 3072})}


@dataclass(frozen=True)
class Fingerprint:
    algorithm: str
    bits: int
    sha256: str  # "SHA256:..." as ssh-keygen -l, FileZilla and WinSCP show it
    md5: str  # "MD5:aa:bb:..." as ssh-keygen -l -E md5 shows it; some cameras pin this


def load_or_create(key_dir: Path) -> list[asyncssh.SSHKey]:
    """The host keys, generating any that is missing (private files mode 0600)."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = []
    for algorithm, (filename, options) in KEY_FILES.items():
        path = key_dir / filename
        if not path.exists():
            key = asyncssh.generate_private_key(algorithm, comment="photo-portal", **options)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key.export_private_key())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            fsync_dir(key_dir)
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a private key readable by others is a leaked key waiting to happen
        key = asyncssh.read_private_key(path)
        public = path.with_suffix(".pub")
        if not public.exists():  # for operators (ssh-keygen -l -f) and the camera set-up pages
            public.write_bytes(key.export_public_key())
        keys.append(key)
    return keys


def fingerprint(key: asyncssh.SSHKey) -> Fingerprint:
    blob = key.public_data
    sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    md5 = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    pyca = key.pyca_key  # type: ignore[attr-defined]
    bits = getattr(pyca, "key_size", 256)
    return Fingerprint(
        algorithm=key.get_algorithm(),
        bits=bits,
        sha256=f"SHA256:{sha}",
        md5="MD5:" + ":".join(md5[i : i + 2] for i in range(0, 32, 2)),
    )


def fingerprints(key_dir: Path) -> list[Fingerprint]:
    return [fingerprint(key) for key in load_or_create(key_dir)]


def published_fingerprints(key_dir: Path) -> list[Fingerprint]:
    """Fingerprints of the public halves already on disk; never creates keys (the web app's view)."""
    found = []
    for filename, _ in KEY_FILES.values():
        try:
            found.append(fingerprint(asyncssh.read_public_key(key_dir / f"{filename}.pub")))
        except (OSError, asyncssh.KeyImportError):
            continue
    return found
