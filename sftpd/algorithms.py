"""The cipher a session runs on: the fastest one the client offers, whatever the client's own order.

In SSH the client's order decides (RFC 4253 §7.1): of the ciphers both sides offer, the first on
the client's list wins. OpenSSH lists aes128-ctr before aes128-gcm, so against a server offering
both it lands on AES-CTR with an HMAC, and asyncssh decrypts and checks that at about a third of
the rate of AES-GCM (measured with asyncssh's own packet code on this project's 2-core machine:
aes128-gcm 3.2 GB/s, aes128-ctr + hmac-sha2-256-etm 1.1 GB/s per core for 32 KiB packets). The
server cannot drop AES-CTR from its first offer: libssh2 before 1.11 (curl on Debian 12), PuTTY
before 0.76 and many cameras speak nothing faster.

So the first key exchange offers every cipher of ``sftpd.listener.ENCRYPTION_ALGS`` and, once the
client is logged in, ``upgrade`` looks at the ciphers that client offered: when one of ``FASTEST``
is among them and the session did not land on it, the server starts a new key exchange offering
only that cipher (either side may re-key at any time, RFC 4253 §9; every SSH client must follow).
The session carries on with it after one round trip; a client that offered none of them keeps what
it chose. The first exchange's strict-KEX protection (Terrapin) is not touched: it guards that
first exchange only. The session log shows the cipher each session ran on (``cipher=``).
"""

from __future__ import annotations

import logging

import asyncssh
from asyncssh.packet import SSHPacket

logger = logging.getLogger(__name__)

# Fastest first, for asyncssh: AES-GCM needs no separate MAC and runs on AES-NI and CLMUL.
FASTEST = [b"aes128-gcm@openssh.com", b"aes256-gcm@openssh.com"]


def client_ciphers(conn: asyncssh.SSHServerConnection) -> list[bytes]:
    """The client-to-server ciphers of the client's first KEXINIT, in its order."""
    payload: bytes = conn._client_kexinit
    if not payload:
        return []
    packet = SSHPacket(payload[17:])  # after the message number and the 16-byte cookie
    packet.get_namelist()  # key exchange
    packet.get_namelist()  # host key
    return list(packet.get_namelist())


def better_cipher(conn: asyncssh.SSHServerConnection) -> bytes | None:
    """The fastest cipher the client offered, if the session runs on none of ``FASTEST`` already.

    Both AES-GCM key sizes count as fast: a client that chose aes256-gcm keeps it.
    """
    current = str(conn.get_extra_info("recv_cipher") or "").encode()
    if current in FASTEST:
        return None
    offered = set(client_ciphers(conn))
    return next((alg for alg in FASTEST if alg in offered), None)


def upgrade(conn: asyncssh.SSHServerConnection) -> bytes | None:
    """Re-key onto the fastest cipher the client offered; the cipher asked for, or None."""
    best = better_cipher(conn)
    if best is None:
        return None
    conn._enc_algs = [best]
    conn._send_kexinit()
    conn._kexinit_sent = True
    logger.debug("re-keying onto %s (the client chose %s)", best.decode(), conn.get_extra_info("recv_cipher"))
    return best
