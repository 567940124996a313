"""The private asyncssh calls the server relies on exist, and an upgrade that removes one fails loudly,
naming the call, instead of breaking the server quietly."""

from __future__ import annotations

import asyncio

import pytest
from asyncssh.connection import SSHServerConnection
from asyncssh.packet import SSHPacket
from asyncssh.sftp import SFTPServerHandler

from sftpd import compat, listener
from sftpd.protocol import PortalSFTPHandler
from tests.sftpd.conftest import run, sftp_session


def test_this_asyncssh_has_every_private_call_the_server_uses() -> None:
    assert compat.missing() == []


def test_a_real_session_handler_has_the_private_attributes_the_server_reads(
    sftp_server, ftp_user, planned_job, monkeypatch
) -> None:
    seen: list[SFTPServerHandler] = []
    original = PortalSFTPHandler._process_packet

    async def spy(self: PortalSFTPHandler, pkttype: int, pktid: int, packet: SSHPacket) -> None:
        seen.append(self)
        await original(self, pkttype, pktid, packet)

    monkeypatch.setattr(PortalSFTPHandler, "_process_packet", spy)

    async def scenario() -> None:
        async with sftp_session(sftp_server.port) as sftp:
            await sftp.listdir("/")

    run(scenario)
    assert seen
    assert [name for name in compat.PRIVATE_ATTRIBUTES if not hasattr(seen[0], name)] == []


@pytest.mark.parametrize(
    ("owner", "name"), [(SSHServerConnection, "_force_close"), (SFTPServerHandler, "_process_close")]
)
def test_a_missing_private_call_is_named_and_the_server_refuses_to_start(monkeypatch, owner: type, name: str) -> None:
    defined_in = next(cls for cls in owner.__mro__ if name in vars(cls))  # as an upgrade would drop it
    monkeypatch.delattr(defined_in, name)
    assert [m.split(" ")[0] for m in compat.missing()] == [f"{owner.__name__}.{name}"]
    with pytest.raises(RuntimeError, match=rf"lacks calls the SFTP server relies on: {owner.__name__}\.{name} "):
        asyncio.run(listener.start("127.0.0.1", 0))
