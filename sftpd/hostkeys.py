"""The server's host keys: Ed25519 and RSA, generated once into SFTPD_HOST_KEY_DIR and kept.

Photographers accept the fingerprint once (FileZilla, WinSCP) and some cameras pin it, so a key
never changes unless an operator deletes the files to rotate it. Creating is race-free between
processes (``portal.files.create_once``): two servers starting at the same moment end up with the
same keys. Only starting a server (``runsftpd``, ``runportal``, ``sftpd create-keys``) creates
keys; reading fingerprints (``portal.connection``) never does.
"""

from __future__ import annotations

from pathlib import Path

import asyncssh

from portal.connection import HOST_KEY_FILES, KEY_COMMENT
from portal.files import create_once

KEY_OPTIONS: dict[str, dict[str, int]] = {"ssh-ed25519": {}, "ssh-rsa": {"key_size": 3072}}


def load_or_create(key_dir: Path) -> list[asyncssh.SSHKey]:
    """The host keys, generating any that is missing (private files mode 0600, public halves beside)."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = []
    for algorithm, filename in HOST_KEY_FILES.items():
        path = key_dir / filename
        if not path.exists():
            fresh = asyncssh.generate_private_key(algorithm, comment=KEY_COMMENT, **KEY_OPTIONS[algorithm])
            create_once(path, fresh.export_private_key(), 0o600)  # another process may have won: fine
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # a private key readable by others is a leaked key waiting to happen
        key = asyncssh.read_private_key(path)
        # For operators (ssh-keygen -l -f) and the web pages, which read only the public halves.
        public = path.with_suffix(".pub")
        if not public.exists():
            create_once(public, key.export_public_key(), 0o644)
        keys.append(key)
    return keys
