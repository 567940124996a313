"""The card payload (DESIGN §10): ``PJ1-<job public id>-<subject number>-<MAC>``, all uppercase.

Uppercase letters, digits and ``-`` keep the QR code in alphanumeric mode (a smaller, easier to read
symbol). ``PJ1`` is the format and its version; the job's public id never changes, even when its
folder is renamed; the MAC is the first 10 base32 characters of an HMAC-SHA256 of the rest with a
secret of the portal (``SUBJECTS_CARD_SECRET``, by default derived from ``SECRET_KEY``), so a card of
another portal or a made-up one is no card at all, and a card of another job of this portal is
recognised as such (its photos are held, with that reason).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from django.conf import settings

PREFIX = "PJ1"
_PATTERN = re.compile(r"^PJ1-([A-Z2-7]{10})-([0-9]{1,6})-([A-Z2-7]{10})$")


@dataclass(frozen=True)
class Card:
    job_public_id: str
    number: int

    @property
    def code(self) -> str:
        body = f"{PREFIX}-{self.job_public_id}-{self.number}"
        return f"{body}-{_mac(body)}"


def _secret() -> bytes:
    configured = getattr(settings, "SUBJECTS_CARD_SECRET", "")
    if configured:
        return str(configured).encode()
    return hashlib.sha256(b"subjects.codes:" + str(settings.SECRET_KEY).encode()).digest()


def _mac(body: str) -> str:
    digest = hmac.new(_secret(), body.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:10]


def code_for(job_public_id: str, number: int) -> str:
    return Card(job_public_id, number).code


def parse(text: str) -> Card | None:
    """The card a decoded QR text is, or None when it is not one of this portal's (wrong format or MAC)."""
    match = _PATTERN.match(text.strip().upper())
    if match is None:
        return None
    job, number, mac = match.groups()
    body = f"{PREFIX}-{job}-{int(number)}"
    if not hmac.compare_digest(_mac(body), mac):
        return None
    return Card(job, int(number))
