"""End to end: a photographer's SFTP upload becomes an album photo, through the real SFTP server,
the real broker (Redis when REDIS_URL is set) and a real Celery worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from albums.models import Photo, Upload
from tests.conftest import PASSWORD
from tests.helpers import connect, file_name, openssh_sftp, wait_for, write_file
from tests.images import jpeg

pytestmark = pytest.mark.e2e


def _finished(count: int) -> Callable[[], bool]:
    def check() -> bool:
        return Upload.objects.exclude(state__in=["received", "processing"]).count() >= count

    return check


def _assert_renditions(photo: Photo) -> None:
    with default_storage.open(file_name(photo.thumbnail)) as f, Image.open(f) as thumb:
        assert max(thumb.size) == 400
    with default_storage.open(file_name(photo.preview)) as f, Image.open(f) as preview:
        assert max(preview.size) == 2048


def test_openssh_sftp_upload_becomes_photo_in_album_and_section(
    sftp_server, celery_worker, ftp_user, planned_job, askpass, tmp_path: Path
) -> None:
    portrait = write_file(tmp_path / "portrait.jpg", jpeg(size=(3000, 2000), colour=(10, 120, 200)))
    group = write_file(tmp_path / "group.jpg", jpeg(size=(2400, 3600), colour=(200, 20, 20)))
    result = openssh_sftp(
        sftp_server.port,
        ftp_user.username,
        f'cd job00001\nmkdir "Class 1"\ncd "Class 1"\nput {portrait}\nput {group} group/group.jpg\n',
        askpass,
    )
    assert result.returncode == 0, result.stderr

    wait_for(_finished(2))
    individual = Photo.objects.get(filename="portrait.jpg")
    assert (individual.album.name, individual.section, individual.folder) == ("Class 1", "individuals", "")
    assert (individual.width, individual.height) == (3000, 2000)
    assert individual.album.job == planned_job
    group_photo = Photo.objects.get(filename="group.jpg")
    assert (group_photo.album_id, group_photo.section) == (individual.album_id, "group")
    assert Upload.objects.get(filename="group.jpg").photo == group_photo
    _assert_renditions(individual)
    _assert_renditions(group_photo)
    assert default_storage.open(file_name(individual.original)).read() == portrait.read_bytes()


def test_asyncssh_upload_into_individuals_folder_becomes_photo(
    sftp_server, celery_worker, ftp_user, planned_job
) -> None:
    data = jpeg(size=(2500, 2500), colour=(30, 200, 30))

    async def upload() -> None:
        async with connect(sftp_server.port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            await sftp.mkdir("/job00001/Team A")
            async with sftp.open("/job00001/Team A/individuals/anna.jpg", "wb") as f:
                await f.write(data)

    asyncio.run(upload())
    upload_row = wait_for(lambda: Upload.objects.filter(state="done").first())
    photo = upload_row.photo
    assert photo is not None
    assert (photo.album.name, photo.section, photo.filename) == ("Team A", "individuals", "anna.jpg")
    assert photo.size == len(data)
    assert upload_row.sha256 == photo.sha256
    _assert_renditions(photo)


def test_connection_dropped_mid_upload_leaves_no_upload_and_no_photo(
    sftp_server, celery_worker, ftp_user, planned_job, settings
) -> None:
    data = jpeg(size=(3000, 3000), colour=(1, 2, 3))

    async def upload_then_drop() -> list[str]:
        async with connect(sftp_server.port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            await sftp.mkdir("/job00001/Class 2")
            f = await sftp.open("/job00001/Class 2/half.jpg", "wb")
            await f.write(data[: len(data) // 2])
            conn.abort()  # the network goes away: no CLOSE is ever sent
        await asyncio.sleep(0.5)
        async with connect(sftp_server.port, ftp_user.username, PASSWORD) as conn, conn.start_sftp_client() as sftp:
            return list(await sftp.listdir("/job00001/Class 2"))

    listing = asyncio.run(upload_then_drop())
    assert "half.jpg" not in listing
    assert not Upload.objects.exists()
    assert not Photo.objects.exists()
    staging = Path(settings.TREE_ROOT) / ".staging"
    wait_for(lambda: not any(p.is_file() for p in staging.rglob("*")), timeout=10)
