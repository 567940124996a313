"""Re-uploads over SFTP, end to end: a new version replaces its photo, identical bytes make none.

The real SFTP server, the broker of this session and a real Celery worker; the upload log read
back with ``python manage.py uploads --json`` as an operator would.
"""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from celery.worker.worker import WorkController
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from albums.models import Photo, Upload
from jobs.models import FTPUser, PhotoJob
from tests.conftest import PASSWORD, RunningServer
from tests.helpers import connect, file_name, wait_for
from tests.images import camera_exif, jpeg

pytestmark = pytest.mark.e2e


def finished(count: int) -> bool:
    return Upload.objects.filter(state__in=["done", "rejected", "failed"]).count() >= count


def test_re_uploads_replace_the_photo_and_identical_bytes_make_no_second_one(
    sftp_server: RunningServer, celery_worker: WorkController, ftp_user: FTPUser, planned_job: PhotoJob
) -> None:
    first, second = jpeg((3000, 2000), exif=camera_exif()), jpeg((2000, 3000), quality=80)

    async def put(path: str, data: bytes) -> None:
        async with connect(sftp_server.port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            if not await sftp.exists("/job00001/Class 1"):
                await sftp.mkdir("/job00001/Class 1")
            async with sftp.open(path, "wb") as f:
                await f.write(data)

    asyncio.run(put("/job00001/Class 1/anna.jpg", first))
    wait_for(lambda: finished(1))
    photo = Photo.objects.get()
    old_renditions = [file_name(photo.thumbnail), file_name(photo.preview)]
    assert (photo.width, photo.camera_model, photo.gps_latitude is not None) == (3000, "Canon EOS R5", True)

    asyncio.run(put("/job00001/Class 1/anna.jpg", second))  # a corrected version, same name
    wait_for(lambda: finished(2))
    asyncio.run(put("/job00001/Class 1/group/anna again.jpg", second))  # the same bytes once more
    wait_for(lambda: finished(3))

    replaced = Photo.objects.get()  # still one photo
    assert replaced.pk == photo.pk
    assert (replaced.width, replaced.height, replaced.camera_model, replaced.gps_latitude) == (2000, 3000, "", None)
    assert not any(default_storage.exists(name) for name in old_renditions)
    with default_storage.open(file_name(replaced.thumbnail)) as f:
        assert Image.open(io.BytesIO(f.read())).size == (267, 400)

    out = io.StringIO()
    call_command("uploads", "--json", "--job", "job00001", stdout=out)
    log = [(r["path"], r["state"], r["reason"], r["photo_id"]) for r in json.loads(out.getvalue())]
    assert log == [
        ("/job00001/Class 1/anna.jpg", "done", "", photo.pk),
        ("/job00001/Class 1/anna.jpg", "done", "", photo.pk),
        (
            "/job00001/Class 1/group/anna again.jpg",
            "done",
            f"duplicate of photo {photo.pk} (anna.jpg), same bytes",
            photo.pk,
        ),
    ]
