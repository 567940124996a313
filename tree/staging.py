"""The durable staged upload: how bytes a client writes become a finished file, and nothing less.

Writes go to a staging file of this process (``tree.layout``), never into a finished file. ``finish``
(the client said the file is complete: SFTP CLOSE, the end of an FTP STOR) lists the file and
records its upload in one transaction (``tree.files``) while a thread makes the staging file
durable (fsync) and puts it into storage (a hard link on FileSystemStorage, so no second copy);
the transaction commits only after both, and only then may the door answer. ``abandon`` (the
connection dropped, the transfer broke) throws the partial bytes away, except under a temporary
name (``*.filepart``, ``*.part``, ``*.tmp``, dot-files): those are listed so the client can resume
them, and temporary names are never processed. Opening a file for resume starts the staging file
as a copy of the current bytes.

The SHA-256 is taken while the bytes arrive in order and kept with the listed file, so a rename from
a temporary name need not read the file again. Writes that arrive in order are gathered and written
in one go: ``accept`` only buffers (no I/O, safe on an event loop) and says when ``flush`` is due;
``write`` does both, for a threaded door. An asyncio door may split a flush in two: ``take`` on the
loop, ``write_pieces`` in a thread while the loop takes the next bytes, one such write in flight per
upload. Otherwise one request at a time per upload, as every door sends them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from concurrent import futures
from dataclasses import dataclass

from django.conf import settings

from albums import storage
from albums.models import Upload
from jobs.exceptions import PortalError, StorageFailed, TooLarge
from portal import files as portal_files
from tree import files, layout, refusals
from tree.models import TreeFile
from tree.principal import Client
from tree.resolve import Node

logger = logging.getLogger("tree.staging")

# Writes arriving in order are gathered and written in one go: fewer system calls, fewer hops to a
# thread for the asyncio door.
WRITE_BUFFER = 1024 * 1024
# Out-of-order pieces kept before a flush is due (clients that pipeline writes send a few).
MAX_PIECES = 16
# Every this many bytes written the disk is told to start on them (``portal.files.start_writeback``),
# so the fsync at the end of a big upload waits for its last few MiB only.
WRITEBACK_EVERY = 8 * 1024 * 1024
# Finishing uploads are made durable and stored here, beside their own thread's database work (one
# per I/O thread of a door is plenty: an fsync waits for the disk, not the CPU).
_stores = futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="tree-store")


@dataclass(frozen=True)
class FileInfo:
    """What a listing or a stat shows of a file."""

    size: int
    mtime: float
    atime: float


def _pwrite_all(fd: int, data: bytes | bytearray | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


class ReadFile:
    """A listed file opened for reading (clients verify and synchronise)."""

    def __init__(self, node: Node, row: TreeFile) -> None:
        self.node = node
        self.row = row
        self._file = storage.open_bytes(row.stored_name)

    def read(self, offset: int, size: int) -> bytes:
        self._file.seek(offset)
        return self._file.read(size)

    def info(self) -> FileInfo:
        return FileInfo(self.row.size, self.row.mtime, self.row.mtime)

    def set_times(self, atime: float | None, mtime: float) -> None:
        if files.set_mtime(self.node.where, mtime):
            self.row.mtime = mtime

    def close(self) -> None:
        self._file.close()


class StagedUpload:
    """One file being written by a client, from open to ``finish`` or ``abandon``."""

    def __init__(self, client: Client, node: Node, *, resume: TreeFile | None = None, append: bool = False) -> None:
        self.client = client
        self.node = node
        self.append = append
        self.resumed = resume is not None  # opened on a listed file without truncating it
        self.size = 0
        self.dirty = False  # anything written or truncated since the open
        self.times: tuple[float, float] | None = None  # applied when the file is put in place
        self.refusal: PortalError | None = None  # set when a limit or the disk failed it: the bytes are gone
        self._sha: hashlib._Hash | None = hashlib.sha256()
        self._hashed_upto = 0
        self._pieces: list[tuple[int, bytearray]] = []
        self._buffered = 0
        self._written_upto = 0  # the end of the bytes written so far
        self._writeback_from = 0  # where the disk has not been told to start yet
        self.staging = layout.staging_dir() / uuid.uuid4().hex
        self.fd = os.open(self.staging, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o640)
        if resume is not None:
            self._copy_current(resume)

    def _copy_current(self, row: TreeFile) -> None:
        try:
            with storage.open_bytes(row.stored_name) as src:
                while chunk := src.read(WRITE_BUFFER):
                    _pwrite_all(self.fd, chunk, self.size)
                    self._hash(chunk, self.size)
                    self.size += len(chunk)
        except OSError:
            self._discard()
            raise

    @property
    def limit(self) -> int:
        return int(settings.TREE_MAX_FILE_BYTES)

    def _check(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    # --- writing ------------------------------------------------------------------------------

    def accept(self, offset: int, data: bytes) -> bool:
        """Take bytes to write at ``offset`` (ignored when appending); True when ``flush`` is due.

        No I/O: an event loop may call this. Past the size limit the upload is refused at once (its
        bytes are dropped by the next ``flush``, which raises the refusal).
        """
        self._check()
        if self.append:
            offset = self.size
        end = offset + len(data)
        if end > self.limit:
            # Bounds the offsets too: nobody makes a sparse file of a terabyte here.
            self._refuse(TooLarge(refusals.too_large(self.limit)))
            return True
        if self._pieces and offset == self._pieces[-1][0] + len(self._pieces[-1][1]):
            self._pieces[-1][1].extend(data)
        else:
            self._pieces.append((offset, bytearray(data)))
        self._buffered += len(data)
        self.size = max(self.size, end)
        self.dirty = True
        return self._buffered >= WRITE_BUFFER or len(self._pieces) > MAX_PIECES

    def flush(self) -> None:
        """Write what ``accept`` buffered; raises the refusal if the upload was refused."""
        self.write_pieces(self.take())

    def take(self) -> list[tuple[int, bytearray]]:
        """Hand over what ``accept`` buffered, without copying it: the event loop's half of a flush.

        An asyncio door may then ``write_pieces`` in a thread while it goes on taking bytes
        (one write in flight per upload at a time).
        """
        pieces, self._pieces, self._buffered = self._pieces, [], 0
        return pieces

    def write_pieces(self, pieces: list[tuple[int, bytearray]]) -> None:
        """Write pieces ``take`` handed over; raises the refusal if the upload was refused."""
        if self.refusal is not None:
            self._discard()
            raise self.refusal
        try:
            for at, data in pieces:
                _pwrite_all(self.fd, data, at)
                self._hash(data, at)
                self._written_upto = max(self._written_upto, at + len(data))
            if self._written_upto - self._writeback_from >= WRITEBACK_EVERY:
                portal_files.start_writeback(self.fd, self._writeback_from, self._written_upto - self._writeback_from)
                self._writeback_from = self._written_upto
        except OSError as exc:
            logger.warning("write failed path=%s: %s", self.node.path, exc)
            refusal = refusals.storage_failed(exc)
            self._refuse(refusal)
            self._discard()
            raise refusal from None

    def write(self, offset: int, data: bytes) -> None:
        """``accept`` and, when due, ``flush``: for a door that may block."""
        if self.accept(offset, data):
            self.flush()

    def _hash(self, data: bytes | bytearray, at: int) -> None:
        if self._sha is None:
            return
        if at == self._hashed_upto:
            self._sha.update(data)
            self._hashed_upto += len(data)
        else:
            self._sha = None  # out of order: the worker hashes the finished file instead

    def truncate(self, size: int) -> None:
        self._check()
        if size == self.size:
            return
        if size > self.limit:
            self._refuse(TooLarge(refusals.too_large(self.limit)))
        self.flush()  # raises the refusal, dropping the bytes, when refused
        os.ftruncate(self.fd, size)
        if size < self._hashed_upto:
            self._sha = None
        self.size = size
        self.dirty = True

    def set_times(self, atime: float | None, mtime: float) -> None:
        self._check()
        self.times = (atime or mtime, mtime)

    def read(self, offset: int, size: int) -> bytes:
        self._check()
        self.flush()
        return os.pread(self.fd, size, offset)

    def fsync(self) -> None:
        self._check()
        self.flush()
        os.fsync(self.fd)

    def info(self) -> FileInfo:
        self._check()
        self.flush()
        st = os.fstat(self.fd)
        return FileInfo(st.st_size, st.st_mtime, st.st_atime)

    def _refuse(self, refusal: PortalError) -> None:
        """Give up this upload: every later request says why, and ``flush`` drops the bytes."""
        self.refusal = refusal
        self._pieces, self._buffered = [], 0
        logger.info("upload refused path=%s user=%s: %s", self.node.path, self.client.username, refusal.message)

    # --- ending -------------------------------------------------------------------------------

    def finish(self) -> Upload | None:
        """The client says the file is complete: make it durable, store it, list and record it.

        Returns the upload recorded (None for a temporary name, or a resume that changed nothing).
        Nothing is listed, recorded or left behind when this raises.
        """
        self._check()
        try:
            self.flush()
            size, sha256 = self._measure()
        except OSError as exc:
            self._discard()
            logger.warning("could not seal upload path=%s: %s", self.node.path, exc)
            raise refusals.storage_failed(exc) from None
        if self.resumed and not self.dirty:
            # Opened and closed without a change: the file stays as it was (only its time may move).
            self._discard()
            if self.times is not None:
                files.set_mtime(self.node.where, self.times[1])
            return None
        # The disk makes the bytes durable and stores them while the database records them; the
        # record commits only once they are in (``durable`` is the transaction's last step), so
        # nothing is recorded that a power cut could take back, and the close costs the longer of
        # the two, not both.
        name = storage.upload_name(account_id=self.client.account_id, filename=self.node.name)
        storing = _stores.submit(self._store_durably, name)
        try:
            stored_name = name if storage.keeps_names() else storing.result()
            mtime = self.times[1] if self.times is not None else time.time()
            stored = files.Stored(name=stored_name, size=size, sha256=sha256, mtime=mtime)
            return files.finished(self.client, self.node, stored, durable=storing.result)
        except PortalError:
            self._forget(storing)
            raise
        except OSError as exc:
            self._forget(storing)
            logger.warning("could not store upload path=%s: %s", self.node.path, exc)
            raise refusals.storage_failed(exc) from None
        except Exception:
            self._forget(storing)
            logger.exception("could not record upload path=%s", self.node.path)
            raise StorageFailed(refusals.NOT_RECORDED) from None
        finally:
            futures.wait([storing])  # the staging file is removed next
            self._discard()

    def _store_durably(self, name: str) -> str:
        """fsync the staging file and put it into storage as ``name`` (durable too); the stored name."""
        os.fsync(self.fd)
        return storage.store_local_file(self.staging, name)

    def _forget(self, storing: futures.Future[str]) -> None:
        """Nothing refers to bytes stored for a finish that failed: take them back out."""
        try:
            stored_name = storing.result()
        except Exception:  # never stored (the failure being reported is this one, or an earlier one)
            return
        try:
            storage.delete(stored_name)
        except Exception:
            logger.warning("could not remove %s from storage", stored_name, exc_info=True)

    def abandon(self) -> bool:
        """The transfer ended without the client finishing it; True when the bytes were kept.

        Kept only under a temporary name, for a resume (a temporary name is never processed).
        """
        if self.refusal is None and files.is_temporary(self.node) and self.dirty:
            try:
                self.finish()
                logger.info("partial upload kept for resume path=%s bytes=%s", self.node.path, self.size)
                return True
            except PortalError:
                pass
        self._discard()
        logger.info(
            "partial upload discarded path=%s user=%s bytes=%s", self.node.path, self.client.username, self.size
        )
        return False

    def _measure(self) -> tuple[int, str]:
        """The staging file's size and SHA-256 ("" when writes were out of order)."""
        size = os.fstat(self.fd).st_size
        sha = self._sha.hexdigest() if self._sha is not None and self._hashed_upto == size else ""
        return size, sha

    def _discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.staging.unlink(missing_ok=True)
