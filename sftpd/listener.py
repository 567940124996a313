"""Starting and stopping the SFTP listener, with the algorithms and limits it offers.

Algorithms: modern only. Key exchange by curve25519 / ML-KEM hybrid / NIST curves / 2048+ bit groups;
host keys Ed25519 and RSA with SHA-2 signatures (no SHA-1 ``ssh-rsa``); ciphers AES-GCM and AES-CTR
only; MACs SHA-2 (encrypt-then-MAC first). chacha20-poly1305 is left out on purpose: clients pick it
whenever it is offered, and asyncssh moves about 45 % less data per second with it (measured here);
every photographer client and camera speaks AES. Compression is off (JPEGs do not compress).
asyncssh applies strict key exchange (the Terrapin counter-measure, ``kex-strict-s-v00@openssh.com``)
whenever the client offers it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from functools import partial
from typing import Any

import asyncssh
from django.conf import settings

from sftpd import bridge, compat, hostkeys
from sftpd.server import PortalSSHServer
from tree.guard import ConnectionCounter, LoginGuard, make_counter, make_guard
from tree.layout import sweep_staging

logger = logging.getLogger(__name__)

BAN_EXPIRY_INTERVAL = 60  # seconds between sweeps of expired bans kept in this process

KEX_ALGS = [
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
]
HOST_KEY_ALGS = ["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]
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
# Signatures accepted from clients' keys, and announced to them in server-sig-algs.
SIGNATURE_ALGS = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
]


def _host_keypairs(keys: list[asyncssh.SSHKey]) -> list[asyncssh.SSHKeyPair]:
    """The host keys, each offered only with the modern signature algorithms."""
    keypairs = list(asyncssh.load_keypairs(keys))
    allowed = {alg.encode() for alg in HOST_KEY_ALGS}
    for keypair in keypairs:
        keypair.host_key_algorithms = [alg for alg in keypair.host_key_algorithms if alg in allowed]
    return keypairs


class PortalAcceptor:
    """The running listener: asyncssh's acceptor plus the state its connections share."""

    def __init__(self, acceptor: asyncssh.SSHAcceptor, guard: LoginGuard, counter: ConnectionCounter) -> None:
        self._acceptor = acceptor
        self.guard = guard
        self.counter = counter
        self._housekeeping = asyncio.get_running_loop().create_task(self._expire_bans())

    async def _expire_bans(self) -> None:
        while True:
            await asyncio.sleep(BAN_EXPIRY_INTERVAL)
            await bridge.run(self.guard.expire)

    def get_port(self) -> int:
        return self._acceptor.get_port()

    def close(self) -> None:
        self._housekeeping.cancel()
        self._acceptor.close()

    async def wait_closed(self) -> None:
        await self._acceptor.wait_closed()
        await asyncio.to_thread(self.guard.close)
        await asyncio.to_thread(self.counter.shutdown)


async def start(host: str | None = None, port: int | None = None, sock: socket.socket | None = None) -> PortalAcceptor:
    """Start listening; ``port=0`` picks a free port (``acceptor.get_port()`` tells which).

    With ``sock`` (a bound, listening socket shared by several server processes, see
    ``sftpd.processes``) this process accepts on that socket instead.
    """
    compat.check()  # refuse to start on an asyncssh without the calls this server relies on
    host = settings.SFTPD_HOST if host is None else host
    port = settings.SFTPD_PORT if port is None else port
    keys = await asyncio.to_thread(hostkeys.load_or_create, settings.SFTPD_HOST_KEY_DIR)
    removed = await asyncio.to_thread(sweep_staging)
    if removed:
        logger.info("removed %d stale staging files", removed)
    guard, counter = make_guard(), make_counter()
    where: dict[str, Any] = {"sock": sock} if sock is not None else {"host": host, "port": port}
    acceptor = await asyncssh.create_server(
        partial(PortalSSHServer, guard, counter),
        **where,
        server_host_keys=_host_keypairs(keys),
        server_version="PhotoPortal",
        kex_algs=KEX_ALGS,
        encryption_algs=ENCRYPTION_ALGS,
        mac_algs=MAC_ALGS,
        compression_algs=["none"],
        signature_algs=SIGNATURE_ALGS,
        login_timeout=settings.SFTPD_LOGIN_TIMEOUT,
        keepalive_interval=settings.SFTPD_KEEPALIVE,
        keepalive_count_max=settings.SFTPD_KEEPALIVE_COUNT,
        allow_pty=False,
        agent_forwarding=False,
        x11_forwarding=False,
        kbdint_auth=False,
        host_based_auth=False,
        gss_host=None,
        allow_scp=False,
        reuse_address=sock is None,
        window=settings.SFTPD_WINDOW,
        max_pktsize=settings.SFTPD_MAX_PACKET,
    )
    logger.info("accepting SFTP connections on %s:%s (process %s)", host, acceptor.get_port(), os.getpid())
    return PortalAcceptor(acceptor, guard, counter)


async def serve_forever(host: str | None = None, port: int | None = None, ready: asyncio.Event | None = None) -> None:
    acceptor = await start(host, port)
    if ready is not None:
        ready.set()
    try:
        await acceptor.wait_closed()
    finally:
        acceptor.close()
