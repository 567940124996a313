"""The naming rules of the SFTP tree (DESIGN §3), with no I/O: which names are allowed, which are
temporary, which folders an album may hold.

Names are kept exactly as the client sent them (any Unicode, spaces); only what could escape the
tree or confuse a file system is refused, each with a sentence that says why.
"""

from __future__ import annotations

import unicodedata

from jobs.exceptions import Invalid

MAX_NAME_BYTES = 255
SECTION_FOLDERS = ("individuals", "group")
# WinSCP uploads to NAME.filepart, FileZilla/rsync-style tools and cameras to .part/.tmp or dot-files,
# and rename to the final name when the bytes are complete.
TEMPORARY_SUFFIXES = (".filepart", ".part", ".tmp")


def validate_name(name: str) -> str:
    """Return ``name`` unchanged if it may be a file or folder name, else raise ``Invalid``."""
    if name in ("", ".", ".."):
        raise Invalid(f"{name!r} is not a name a file or folder can have.")
    if "/" in name or "\\" in name:
        raise Invalid(f"{name!r}: names cannot contain '/' or '\\'.")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid(f"{name!r}: names cannot contain control characters.")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise Invalid(f"The name is longer than {MAX_NAME_BYTES} bytes.")
    return name


def is_temporary_name(name: str) -> bool:
    """A name clients write to before renaming to the final name; never processed as it is."""
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


def section_folder(name: str) -> str | None:
    """The canonical section folder ("individuals"/"group") ``name`` denotes, case-insensitively."""
    lowered = name.lower()
    return lowered if lowered in SECTION_FOLDERS else None
