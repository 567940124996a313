"""Starting and stopping the SFTP listener, with the algorithms and limits it offers.

Ciphers: AES-GCM and AES-CTR only. chacha20-poly1305 is left out on purpose: clients pick it
whenever it is offered, and asyncssh moves markedly less data per second with it; every
photographer client and camera speaks AES. Compression is off (JPEGs do not compress). asyncssh
applies strict key exchange (the Terrapin counter-measure) by default.
"""

from __future__ import annotations

import asyncio
import logging

import asyncssh
from django.conf import settings

from sftpd import hostkeys
from sftpd.server import PortalSSHServer

logger = logging.getLogger(__name__)

KEX_ALGS = [
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
]
ENCRYPTION_ALGS = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
]
MAC_ALGS = [
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
]


async def start(host: str | None = None, port: int | None = None) -> asyncssh.SSHAcceptor:
    """Start listening; ``port=0`` picks a free port (``acceptor.get_port()`` tells which)."""
    host = settings.SFTPD_HOST if host is None else host
    port = settings.SFTPD_PORT if port is None else port
    keys = await asyncio.to_thread(hostkeys.load_or_create, settings.SFTPD_HOST_KEY_DIR)
    acceptor = await asyncssh.create_server(
        PortalSSHServer,
        host,
        port,
        server_host_keys=keys,
        server_version="PhotoPortal",
        kex_algs=KEX_ALGS,
        encryption_algs=ENCRYPTION_ALGS,
        mac_algs=MAC_ALGS,
        compression_algs=["none"],
        login_timeout=settings.SFTPD_LOGIN_TIMEOUT,
        keepalive_interval=settings.SFTPD_KEEPALIVE,
        keepalive_count_max=3,
        allow_pty=False,
        agent_forwarding=False,
        x11_forwarding=False,
        kbdint_auth=False,
        host_based_auth=False,
        gss_host=None,
        allow_scp=False,
        reuse_address=True,
    )
    logger.info("SFTP server listening on %s:%s", host, acceptor.get_port())
    return acceptor


async def serve_forever(host: str | None = None, port: int | None = None, ready: asyncio.Event | None = None) -> None:
    acceptor = await start(host, port)
    if ready is not None:
        ready.set()
    try:
        await acceptor.wait_closed()
    finally:
        acceptor.close()
