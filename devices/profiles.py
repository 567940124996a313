"""Camera profiles (DESIGN §9): how a device's files are read, as small declarative entries.

A profile names the file patterns that are connection tests (INSTAR's ``Test-Snapshot.jpeg``,
AXIS and MOBOTIX names beginning with ``test``); a device may replace them with its own. To add a
camera family, add a ``Profile`` to ``PROFILES``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Profile:
    name: str
    label: str
    test_patterns: tuple[str, ...] = ()  # shell patterns, matched case-insensitively
    notes: list[str] = field(default_factory=list)

    def is_test(self, filename: str, patterns: tuple[str, ...] | None = None) -> bool:
        lowered = filename.lower()
        return any(
            fnmatch.fnmatchcase(lowered, p.lower()) for p in (self.test_patterns if patterns is None else patterns)
        )


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("generic", "Generic camera (EXIF)"),
        Profile("axis", "AXIS (Image-to-FTP)", test_patterns=("test*",)),
        Profile("mobotix", "MOBOTIX", test_patterns=("test*",)),
        Profile("instar", "INSTAR", test_patterns=("test-snapshot.*",)),
        Profile("camera-trap", "Camera trap (Willfine 4.0T CG and EXIF GPS cameras)"),
    )
}
DEFAULT = "generic"


def get(name: str) -> Profile:
    return PROFILES.get(name) or PROFILES[DEFAULT]
