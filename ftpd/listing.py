"""LIST and MLSD/MLST lines for the tree's entries (``tree.operations.Entry``), no file system behind them.

LIST answers as ``ls -l`` does (FileZilla, WinSCP, lftp and cameras parse it); MLSD/MLST with the
RFC 3659 facts ``type``, ``size``, ``modify`` and ``perm``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from tree.operations import Entry

# A folder may hold albums or files (c, m, e, l); a file may be read, renamed, deleted, appended,
# written (r, f, d, a, w). The tree still decides each request.
FOLDER_PERMS, FILE_PERMS = "flcdmpe", "rfdaw"
_SIX_MONTHS = 180 * 24 * 3600


def _ls_time(mtime: float, now: float) -> str:
    stamp = time.gmtime(mtime)
    if abs(now - mtime) < _SIX_MONTHS:
        return time.strftime("%b %d %H:%M", stamp)
    return time.strftime("%b %d  %Y", stamp)


def unix_lines(entries: Iterable[Entry], encoding: str = "utf8") -> Iterator[bytes]:
    now = time.time()
    for e in entries:
        mode, links, size = ("drwxr-xr-x", 2, 4096) if e.is_folder else ("-rw-r--r--", 1, e.size)
        line = f"{mode} {links:>3} ftp      ftp      {size:>12} {_ls_time(e.mtime, now)} {e.name}\r\n"
        yield line.encode(encoding, "surrogateescape")


def mlsx_facts(entry: Entry, wanted: Iterable[str]) -> str:
    facts = []
    wanted = {f.lower() for f in wanted}
    if "type" in wanted:
        facts.append(f"type={'dir' if entry.is_folder else 'file'};")
    if "size" in wanted and not entry.is_folder:
        facts.append(f"size={entry.size};")
    if "modify" in wanted:
        facts.append(f"modify={time.strftime('%Y%m%d%H%M%S', time.gmtime(entry.mtime))};")
    if "perm" in wanted:
        facts.append(f"perm={FOLDER_PERMS if entry.is_folder else FILE_PERMS};")
    return "".join(facts)


def mlsx_lines(entries: Iterable[Entry], wanted: Iterable[str], encoding: str = "utf8") -> Iterator[bytes]:
    wanted = list(wanted)
    for e in entries:
        yield f"{mlsx_facts(e, wanted)} {e.name}\r\n".encode(encoding, "surrogateescape")
