"""A corpus of awkward and hostile files, uploaded over SFTP and judged by the real worker.

Every file is generated here. Each ends ``done`` (a photo with clean renditions) or ``rejected``
with the reason a photographer is shown; rejected bytes are kept, unchanged, in quarantine.
"""

from __future__ import annotations

import asyncio
import io
import random

import pytest
from celery.worker.worker import WorkController
from django.core.files.storage import default_storage
from PIL import Image

from albums.models import Photo, Upload
from jobs.models import FTPUser, PhotoJob
from tests.conftest import PASSWORD, RunningServer
from tests.helpers import connect, file_name, wait_for
from tests.images import (
    animated_gif,
    camera_exif,
    cmyk_jpeg,
    encode,
    jpeg,
    picture,
    png_16_bit,
    png_bomb,
    with_frame_size,
    with_orientation_as_text,
)

pytestmark = pytest.mark.e2e

_truncated = jpeg((900, 600))

# filename -> (bytes, expected state, expected reason)
CORPUS: dict[str, tuple[bytes, str, str]] = {
    "empty.jpg": (b"", "rejected", "file is empty"),
    "shoot list.jpg": (b"Shoot list: bride, groom, cake\n" * 20, "rejected", "not an image"),
    "truncated.jpg": (_truncated[: len(_truncated) // 2], "rejected", "JPEG is truncated"),
    "huge header.jpg": (
        with_frame_size(jpeg((64, 48)), 65500, 65500),
        "rejected",
        "image has more than 100 megapixels",
    ),
    "bomb.png": (png_bomb(20000), "rejected", "image has more than 100 megapixels"),
    "party.gif": (animated_gif(), "rejected", "file type .gif is not accepted"),
    "gif named.jpg": (encode(Image.new("RGB", (20, 20)), "GIF"), "rejected", "file type GIF is not accepted"),
    "IMG_0001.CR2": (random.Random(4).randbytes(4096), "rejected", "file type .cr2 is not accepted"),
    "card reader junk.jpg": (jpeg((640, 480)) + b"\x00junk after the end marker" * 40, "done", ""),
    "orientation 9.jpg": (jpeg((500, 300), exif=camera_exif(orientation=9)), "done", ""),
    "orientation text.jpg": (with_orientation_as_text(jpeg((500, 310), exif=camera_exif(orientation=6))), "done", ""),
    "cmyk.jpg": (cmyk_jpeg(), "done", ""),
    "progressive.jpg": (jpeg((900, 700), progressive=True), "done", ""),
    "16-bit.png": (png_16_bit(), "done", ""),
    "palette.png": (encode(picture((200, 100)).convert("P"), "PNG"), "done", ""),
    "alpha.png": (encode(picture((210, 100), mode="RGBA"), "PNG"), "done", ""),
}


def test_each_file_of_the_corpus_ends_as_expected(
    sftp_server: RunningServer, celery_worker: WorkController, ftp_user: FTPUser, planned_job: PhotoJob
) -> None:
    async def upload_all() -> None:
        async with connect(sftp_server.port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            await sftp.mkdir("/job00001/Corpus")
            for name, (data, _, _) in CORPUS.items():
                async with sftp.open(f"/job00001/Corpus/{name}", "wb") as f:
                    await f.write(data)

    asyncio.run(upload_all())
    wait_for(lambda: Upload.objects.filter(state__in=["done", "rejected", "failed"]).count() == len(CORPUS), 90)

    outcome = {u.filename: (u.state, u.reason) for u in Upload.objects.all()}
    assert outcome == {name: (state, reason) for name, (_, state, reason) in CORPUS.items()}

    for upload in Upload.objects.filter(state="rejected"):
        assert file_name(upload.file).startswith(f"quarantine/{upload.account_id}/")
        with default_storage.open(file_name(upload.file)) as f:
            assert f.read() == CORPUS[upload.filename][0]  # kept, byte for byte
    for photo in Photo.objects.all():
        for name in (file_name(photo.thumbnail), file_name(photo.preview)):
            with default_storage.open(name) as f:
                rendition = Image.open(io.BytesIO(f.read()))
                rendition.load()
            assert (rendition.format, rendition.mode) == ("JPEG", "RGB")
            assert "exif" not in rendition.info and "icc_profile" not in rendition.info
    # An impossible orientation is ignored; a readable one is applied.
    assert Photo.objects.get(filename="orientation 9.jpg").width == 500
    assert Photo.objects.get(filename="orientation text.jpg").width == 500
