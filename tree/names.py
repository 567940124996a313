"""Names and paths of the tree (DESIGN §3), with no I/O: which names are allowed, which are
temporary, which folders an album holds, and how a client's path becomes segments.

Names are kept exactly as the client sent them (any Unicode, spaces); only what could escape the
tree or confuse a file system is refused, each with a sentence that says why.
"""

from __future__ import annotations

import unicodedata

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from jobs.exceptions import Invalid

MAX_NAME_BYTES = 255
SECTION_FOLDERS = ("individuals", "group")
# WinSCP uploads to NAME.filepart, FileZilla/rsync-style tools and cameras to .part/.tmp or dot-files,
# and rename to the final name when the bytes are complete.
TEMPORARY_SUFFIXES = (".filepart", ".part", ".tmp")

NOT_UTF8 = _("File names must be UTF-8.")
DOT_SEGMENTS_REFUSED = _("Paths containing '.' or '..' are not accepted here; use the folder's full path.")


def validate_name(name: str) -> str:
    """Return ``name`` unchanged if it may be a file or folder name, else raise ``Invalid``."""
    if name in ("", ".", ".."):
        raise Invalid(gettext("{name!r} is not a name a file or folder can have.").format(name=name))
    if "/" in name or "\\" in name:
        raise Invalid(gettext("{name!r}: names cannot contain '/' or '\\'.").format(name=name))
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid(gettext("{name!r}: names cannot contain control characters.").format(name=name))
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise Invalid(gettext("The name is longer than {limit} bytes.").format(limit=MAX_NAME_BYTES))
    return name


def is_temporary_name(name: str, *, device: bool = False) -> bool:
    """A name clients write to before renaming to the final name; never processed as it is.

    Cameras (``device``) also write to names without an extension (MOBOTIX ``mx0108e702``),
    ``*_tmp.*`` and ``.pureftpd-upload*`` (DESIGN §9). A device's album file names join its
    folders with ``__`` (``devices.paths``): the rule looks at the part after the last one.
    """
    lowered = name.lower()
    if lowered.startswith(".") or lowered.endswith(TEMPORARY_SUFFIXES):
        return True
    if not device:
        return False
    last = lowered.rsplit("__", 1)[-1]
    stem, dot, _ = last.rpartition(".")
    return last.startswith(".") or not dot or not stem or stem.endswith("_tmp") or "_tmp." in last


def section_folder(name: str) -> str | None:
    """The canonical section folder ("individuals"/"group") ``name`` denotes, case-insensitively."""
    lowered = name.lower()
    return lowered if lowered in SECTION_FOLDERS else None


def decode(path: bytes) -> str:
    """A path as a client sent it on the wire: UTF-8 (FileZilla, WinSCP and cameras send it)."""
    try:
        return path.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(NOT_UTF8) from None


def segments(path: str, *, navigate: bool) -> list[str]:
    """The segments of a path, relative to ``/`` whether it starts with one or not.

    ``navigate`` follows ``.`` and ``..`` (where a client only looks around: listing, stat,
    changing folder, reading); anything that changes the tree refuses them. ``..`` never climbs
    above ``/``: the tree has nothing there.
    """
    if "\x00" in path:
        raise Invalid(gettext("Names cannot contain NUL characters."))
    if any("\udc80" <= ch <= "\udcff" for ch in path):  # bytes a door could not read as UTF-8
        raise Invalid(NOT_UTF8)
    parts: list[str] = []
    for segment in path.split("/"):
        if segment == "":
            continue
        if segment in (".", ".."):
            if not navigate:
                raise Invalid(DOT_SEGMENTS_REFUSED)
            if segment == ".." and parts:
                parts.pop()
            continue
        parts.append(segment)
    return parts


def join(parts: list[str]) -> str:
    """The canonical virtual path of ``parts``."""
    return "/" + "/".join(parts)
