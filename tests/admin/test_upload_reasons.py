"""``albums.reasons.advice``: every reason the intake gives has a sentence saying what to do about it.

The reasons come from real intake of real files (``upload_process``, the worker's code path), so a
change of wording there that the advice no longer knows fails here, not on a photographer's screen.
"""

from __future__ import annotations

import pytest

from albums import intake, reasons
from albums.models import Album, Upload
from tests.admin.cast import gif, intake_file
from tests.helpers import register_upload
from tests.images import jpeg, png_bomb

GENERAL = "Check the file and upload it again; if the reason is unclear, ask the studio."


@pytest.fixture
def media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def rejected(album: Album, filename: str, data: bytes) -> str:
    upload = intake_file(album, filename, data)
    assert upload.state == Upload.State.REJECTED, (upload.state, upload.reason)
    return upload.reason


@pytest.mark.parametrize(
    ("filename", "data", "reason", "advice"),
    [
        ("empty.jpg", b"", "file is empty", "The file arrived empty."),
        ("notes.jpg", b"a shopping list", "not an image", "This file is not a photo."),
        ("anim.gif", gif(), "file type .gif is not accepted", "Only JPEG and PNG photos are taken."),
        ("cut.jpg", jpeg(size=(400, 300))[:-500], "JPEG is truncated", "Upload it again from the original"),
        ("bomb.png", png_bomb(20_000), "image has more than 100 megapixels", "too many pixels"),
    ],
)
def test_each_rejection_of_the_intake_gets_its_own_advice(
    album: Album, media: None, queued: list[int], filename: str, data: bytes, reason: str, advice: str
) -> None:
    assert rejected(album, filename, data) == reason
    assert advice in reasons.advice(reason)


def test_a_file_over_the_size_limit_is_told_to_export_smaller(
    album: Album, media: None, queued: list[int], settings
) -> None:
    settings.INTAKE_MAX_BYTES = 1024 * 1024
    reason = rejected(album, "big.jpg", jpeg(size=(1200, 900)) + b"\0" * (1024 * 1024))
    assert reason == "larger than 1 MB"
    assert "Export it smaller" in reasons.advice(reason)


def test_a_file_whose_album_went_away_is_told_to_make_the_album_again(
    album: Album, media: None, queued: list[int]
) -> None:
    upload = register_upload(album, "late.jpg", jpeg())
    Album.objects.filter(pk=album.pk).delete()  # the album went before the worker came
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    upload.refresh_from_db()
    assert upload.reason == "its album was deleted"
    assert "Make the album folder again" in reasons.advice(upload.reason)


@pytest.mark.parametrize(
    ("reason", "advice"),
    [
        ("replaced by a newer upload of the same file", "Nothing to do"),
        ("replaced by a file renamed over it", "Nothing to do"),
        ("deleted over SFTP before it was processed", "Nothing to do"),
        ("could not be processed after 5 attempts (last error: OperationalError: gone)", "Process again"),
        ("processing took longer than 300 seconds", "Process again"),
        ("processing was interrupted (the worker stopped)", "Process again"),
        ("needs more memory than a worker has", "Process again"),
        ("no position in EXIF GPS; this camera's profile requires one", "camera's settings"),
        ("status report is empty", "status report could not be read"),
    ],
)
def test_the_reasons_of_the_server_and_of_cameras_get_their_advice(reason: str, advice: str) -> None:
    assert advice in reasons.advice(reason)


def test_taken_in_files_need_no_advice_and_unknown_reasons_get_a_general_one() -> None:
    assert reasons.advice("") == ""
    assert reasons.advice("duplicate of photo 12 (/job/Class/a.jpg), same bytes") == ""
    assert reasons.advice("status report") == ""
    assert reasons.advice("something nobody has seen yet") == GENERAL
