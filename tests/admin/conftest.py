"""Fixtures of the admin tests: the two-studio cast (``tests.admin.cast``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.admin.cast import Cast, build_cast


@pytest.fixture
def cast(db, tmp_path: Path, settings, queued: list[int]) -> Cast:
    """Alpha and Bravo; uploads are queued into ``queued`` (a list), not sent to a broker."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_cast()


@pytest.fixture
def staff(client: Client, cast: Cast) -> Client:
    """Studio Alpha's staff member, logged in."""
    client.force_login(cast.alpha.staff)
    return client
