"""A device's view of its album (DESIGN §3, §9): any folders below ``/``, one flat album folder of files.

A camera may make folders at any depth (``Camera/2026/05/14/09``, a folder per day); they are
virtual (``DeviceFolder`` rows) and the file ``a/b/name.jpg`` is stored in the album as
``a__b__name.jpg``. The mapping is deterministic, so SIZE, DELE, RNFR/RNTO and a resume on the
original path find the same album file again; a name that would pass 255 bytes is cut and given a
short hash of the whole path, which keeps it unique and keeps its extension.
"""

from __future__ import annotations

import hashlib

from tree.names import MAX_NAME_BYTES

SEPARATOR = "__"


def folder_path(parts: list[str]) -> str:
    """The device folder ``parts`` name: "/" or "/a/b" (what ``TreeFile.device_dir`` holds)."""
    return "/" + "/".join(parts)


def album_name(folders: list[str], name: str) -> str:
    """The album file name of ``name`` in the device folder ``folders``."""
    flat = SEPARATOR.join([*folders, name])
    if len(flat.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES:
        return flat
    digest = hashlib.sha256(flat.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    _, dot, ext = name.rpartition(".")
    suffix = f"~{digest}" + (f".{ext}" if dot and len(ext) <= 16 else "")
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    head = flat.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return head + suffix
