"""Data connections: finished means finished (DESIGN §8).

pyftpdlib's data channel writes a STOR into a file object and, when the connection ends, closes
the file and answers 226 — whatever the reason it ended. Here the file object is a staged upload of
the tree (``UploadFile``), and the data channel (``FinishingDTP``) decides at that moment:

- the client closed the connection properly (TCP FIN; over TLS, with a close_notify first): the
  upload is finished (durable, stored, listed and recorded) and only then does 226 go out; if
  finishing fails, the reply says why instead (452 disk full, 552 too large ...);
- the connection was reset, TLS ended without close_notify, the transfer timed out or was
  aborted: it is a failed transfer, 426, and the bytes are dropped (kept only under a temporary
  name, for a resume), so a partial file never becomes a photo. Clients that close every TLS data
  connection without close_notify (netkit ftp-ssl, some OpenSSL-based firmware) can be let in by
  the operator with FTPD_TLS_CLOSE_NOTIFY=lenient, as vsftpd's ``strict_ssl_read_eof=NO`` does; a
  reset still fails the transfer then, and the worker still refuses a truncated image.

pyftpdlib's ``on_file_received`` runs after the 226 was sent, so it is not used for any of this.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from OpenSSL import SSL
from pyftpdlib.exceptions import _RetryError
from pyftpdlib.handlers import DTPHandler, TLS_DTPHandler
from pyftpdlib.handlers.ftp.dispatchers import ActiveDTP
from pyftpdlib.ioloop import _ERRNOS_DISCONNECTED, _ERRNOS_RETRY

from ftpd.replies import reply
from jobs.exceptions import PortalError
from tree.staging import ReadFile, StagedUpload

logger = logging.getLogger("ftpd.transfers")

ABORTED = _("426 The connection broke before the file was complete; nothing was kept. Upload it again.")
BROKEN = _("426 The data connection broke before the transfer started. Please try again.")


class UploadFile:
    """What the data channel writes a STOR/APPE/STOU into: a staged upload, written at a position."""

    def __init__(self, upload: StagedUpload, name: str) -> None:
        self.upload = upload
        self.name = name
        self.closed = False
        self._pos = upload.size if upload.append else 0

    def write(self, data: bytes) -> int:
        self.upload.write(self._pos, data)
        self._pos += len(data)
        return len(data)

    def seek(self, pos: int) -> None:  # REST before STOR: resume from there
        self._pos = pos

    def tell(self) -> int:
        return self._pos

    def finish(self) -> None:
        self.closed = True
        self.upload.finish()

    def close(self) -> None:
        """Anything but a finished transfer: drop the bytes (a temporary name keeps them for a resume)."""
        if not self.closed:
            self.closed = True
            self.upload.abandon()


class DownloadFile:
    """What the data channel reads a RETR from: a listed file's bytes in storage."""

    def __init__(self, reader: ReadFile, name: str) -> None:
        self.reader = reader
        self.name = name
        self.closed = False
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = max(self.reader.info().size - self._pos, 0)
        data = self.reader.read(self._pos, size)
        self._pos += len(data)
        return data

    def seek(self, pos: int) -> None:
        self._pos = pos

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.reader.close()


class FinishingDTP(DTPHandler):
    """The data-channel behaviour of the module docstring (the plain data channel; ``SecureDTP`` for TLS)."""

    # 256 KiB reads instead of pyftpdlib's 64 KiB: a 1 GiB upload took 15 % less CPU (make bench).
    ac_in_buffer_size = 262144

    aborted = False  # the connection ended in a way that means the transfer did not complete
    transfer_finished: bool
    _resp: tuple[Any, ...]

    def __init__(self, sock: Any, cmd_channel: Any) -> None:
        super().__init__(sock, cmd_channel)
        if not self.connected:
            # Reset before it could be used: pyftpdlib closes it unseen, and a transfer already
            # waiting for it would wait for ever. That transfer failed.
            logger.info("data connection closed before the transfer started address=%s", cmd_channel.remote_ip)
            cmd_channel.data_connection_lost()

    def recv(self, buffer_size: int) -> bytes:
        try:
            data = self.socket.recv(buffer_size)
        except OSError as err:
            if err.errno in _ERRNOS_DISCONNECTED:  # a reset is no end of file
                self.aborted = True
                self.handle_close()
                return b""
            if err.errno in _ERRNOS_RETRY:
                raise _RetryError from err
            raise
        if not data:
            self.handle_close()
        return data

    def handle_error(self) -> None:
        try:
            raise
        except PortalError as exc:  # a write broke a limit, or the disk failed
            self._resp = (reply(exc), logger.info)
            self.close()
        except Exception:
            super().handle_error()

    def close(self) -> None:
        if not self._closed and self.receive and isinstance(self.file_obj, UploadFile):
            self._end_upload(self.file_obj)
        super().close()

    def _end_upload(self, upload: UploadFile) -> None:
        if upload.closed:
            return
        if self.transfer_finished and not self.aborted:
            try:
                upload.finish()
                return
            except PortalError as exc:
                self._resp = (reply(exc), logger.warning)
            except Exception:
                logger.exception("could not finish upload %s", upload.name)
                self._resp = (
                    gettext("451 The server could not record this upload; please upload it again."),
                    logger.error,
                )
            self.transfer_finished = False
            return
        upload.close()
        if not self._resp or self._resp[0].startswith("226"):
            self._resp = (str(ABORTED), logger.info)
        self.transfer_finished = False


class SecureDTP(FinishingDTP, TLS_DTPHandler):
    """The data channel of every session: TLS after PROT P, plain TCP before (and for plain FTP)."""

    def recv(self, buffer_size: int) -> bytes:
        if not isinstance(self.socket, SSL.Connection):
            return FinishingDTP.recv(self, buffer_size)
        try:
            data = self.socket.recv(buffer_size)
        except SSL.WantReadError as err:
            self._ssl_want_read = True
            raise _RetryError from err
        except SSL.WantWriteError as err:
            self._ssl_want_write = True
            raise _RetryError from err
        except SSL.ZeroReturnError:  # close_notify: the client ended the transfer properly
            DTPHandler.handle_close(self)  # as pyftpdlib's TLS recv does
            return b""
        except SSL.SysCallError as err:
            # A reset is always a broken transfer. A TCP close without TLS close_notify cannot be told
            # from a cut connection; some clients close that way after every upload (netkit ftp-ssl,
            # OpenSSL-based firmware), so the operator may accept it (FTPD_TLS_CLOSE_NOTIFY=lenient).
            unclean_eof = err.args[:1] == (-1,)
            self.aborted = not (unclean_eof and settings.FTPD_TLS_CLOSE_NOTIFY == "lenient")
            DTPHandler.handle_close(self)  # as pyftpdlib's TLS recv does
            return b""
        except OSError as err:
            if err.errno in (*_ERRNOS_DISCONNECTED, errno.ECONNRESET):
                self.aborted = True
                DTPHandler.handle_close(self)  # as pyftpdlib's TLS recv does
                return b""
            raise
        if not data:
            self.aborted = True  # no close_notify came first
            DTPHandler.handle_close(self)  # as pyftpdlib's TLS recv does
        return data


class LateActiveDTP(ActiveDTP):
    """Active mode (PORT/EPRT) connecting when the transfer command comes, as vsftpd does.

    pyftpdlib connects to the client at PORT time and answers PORT only once connected; curl with
    TLS fails on a data connection that arrives before its STOR. Here PORT is answered at once
    (``ftpd.handler``) and this connects on the transfer command, without a second reply.

    Once connected, the socket is handed to the data channel and this connector is done with it at
    once. The transfer is already waiting, so a download starts writing inside ``handle_connect``;
    asyncore calls the connector's ``handle_write`` right after it, which would reset the I/O events
    of the same descriptor to read-only and stall every active-mode LIST, NLST and RETR; and the
    connector's ``close`` at the next PORT would act on a descriptor it no longer owns.
    """

    def handle_connect(self) -> None:
        self.del_channel()
        if self._idler is not None and not self._idler.cancelled:
            self._idler.cancel()
        if not self.cmd_channel.connected:
            self.close()
            return
        error = self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error != 0:
            raise OSError(error)
        # Done: marked closed, neither its write handling nor a close touches the socket again.
        self._closed = True
        cmd_channel = self.cmd_channel
        if cmd_channel._dtp_connector is self:
            cmd_channel._dtp_connector = None
        handler = cmd_channel.dtp_handler(self.socket, cmd_channel)
        if handler.connected:  # else already reset, and the transfer failed (``FinishingDTP``)
            cmd_channel.data_channel = handler
            cmd_channel._on_dtp_connection()
