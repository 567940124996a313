"""A roster imported after the photos: the worker's task scans the album's photos and assigns them."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.worker.worker import WorkController
from pytest_django import Settings

from albums.models import Album, Photo
from jobs.models import FTPUser
from subjects import codes, services
from subjects.models import PhotoScan
from tests.helpers import wait_for
from tests.subjects.cardimages import CANON
from tests.subjects.test_assignment import Shoot, upload

pytestmark = pytest.mark.django_db(transaction=True)


def test_photos_uploaded_before_the_roster_are_scanned_and_assigned_once_it_is_imported(
    settings: Settings, tmp_path: Path, album: Album, ftp_user: FTPUser, celery_worker: WorkController
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    shoot = Shoot(CANON, "IMG_")
    shoot.card(codes.code_for(album.job.public_id, 1), size=0.1)
    shoot.photos(2)
    upload(album, ftp_user, shoot.shots)
    wait_for(lambda: Photo.objects.filter(album=album).count() == 3, timeout=60)
    assert not PhotoScan.objects.exists()  # no subjects yet: nothing to scan for

    [anna] = services.subjects_import(roster="name\nAnna Müller\n", album=album)
    assert anna.number == 1
    wait_for(lambda: anna.photos.count() == 2, timeout=60)
    assert PhotoScan.objects.filter(is_card=True).count() == 1
