"""The private parts of asyncssh this server relies on, checked at start-up and by a test.

asyncssh has no public way to re-key onto another cipher, to send a disconnect reason before closing
the channels, to send a banner once a login is proven but not yet answered,
to tell a client's CLOSE from the close of a dropped connection, to answer OPENDIR at once or to tolerate
rclone's trailing bytes after a WRITE; ``sftpd.server`` and ``sftpd.protocol`` use these instead.
An asyncssh upgrade that renames one would otherwise fail quietly in production: ``check`` names the
missing call and the server refuses to start.
"""

from __future__ import annotations

import asyncssh
from asyncssh.connection import SSHServerConnection
from asyncssh.sftp import SFTPServerHandler
from asyncssh.stream import SSHServerStreamSession

# (owner, attribute, what this server uses it for)
PRIVATE_CALLS: list[tuple[type, str, str]] = [
    (SSHServerConnection, "_send_disconnect", "tell a refused client why before closing (sftpd.server._end)"),
    (SSHServerConnection, "_force_close", "close the connection after that message (sftpd.server._end)"),
    (SSHServerConnection, "_send_kexinit", "re-key onto the fastest cipher the client offered (sftpd.algorithms)"),
    (SSHServerConnection, "send_userauth_success", "send the rejections banner just before it (sftpd.server)"),
    (SSHServerStreamSession, "_init_sftp_server", "start the SFTP server object of a session"),
    (SFTPServerHandler, "_process_packet", "count every request as activity (idle timeout)"),
    (SFTPServerHandler, "_process_open", "bound the open handles"),
    (SFTPServerHandler, "_process_close", "tell a client's CLOSE from a dropped connection"),
    (SFTPServerHandler, "_process_opendir", "fail OPENDIR at once for a missing folder"),
    (SFTPServerHandler, "_process_write", "ignore trailing bytes after WRITE (rclone)"),
    (SFTPServerHandler, "_packet_handlers", "the table the handlers above are installed in"),
    (SFTPServerHandler, "_get_next_handle", "hand out directory handles"),
    (SFTPServerHandler, "_cleanup", "send an exit status when the session ends"),
]
# Instance attributes the handler reads (set in asyncssh's __init__, so checked on a real instance
# by the test suite rather than on the class).
PRIVATE_ATTRIBUTES = ["_file_handles", "_dir_handles", "_version", "_writer", "_server"]
# The same for the connection (sftpd.algorithms): the client's first KEXINIT, the ciphers offered
# in the next one, and the flag that says this side started it.
CONNECTION_ATTRIBUTES = ["_client_kexinit", "_enc_algs", "_kexinit_sent"]


def missing() -> list[str]:
    """The private calls this asyncssh lacks, each as ``Class._name (what for)``."""
    return [
        f"{owner.__name__}.{name} ({purpose})" for owner, name, purpose in PRIVATE_CALLS if not hasattr(owner, name)
    ]


def check() -> None:
    gone = missing()
    if gone:
        raise RuntimeError(
            f"asyncssh {asyncssh.__version__} lacks calls the SFTP server relies on: {'; '.join(gone)}. "
            "Pin the asyncssh version in requirements.txt or adapt sftpd/."
        )
