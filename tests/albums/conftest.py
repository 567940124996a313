"""Fixtures of the intake tests."""

from __future__ import annotations

import pytest

from albums import intake


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Upload ids queued for processing, collected here instead of sent to the broker."""
    ids: list[int] = []
    monkeypatch.setattr(intake, "upload_queue", lambda upload_id: ids.append(upload_id) or True)
    return ids
