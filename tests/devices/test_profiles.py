"""Camera profiles (DESIGN §9) through the real intake: a camera uploads through the tree, the
worker's processing runs, and the photo carries the camera id, capture time and position its
profile read, or the upload is rejected with a reason naming the field the profile requires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from django.utils import timezone
from pytest_django import Settings

from albums import imaging, intake
from albums.models import Album, Door, Photo, Upload
from devices import profiles
from devices import services as device_services
from devices.models import Device
from jobs.models import Account, FTPUser, PhotoJob
from tests.helpers import file_name, register_upload
from tests.images import WILLFINE_IMEI, WILLFINE_POSITION, camera_exif, encode, jpeg, padded, picture, willfine_exif
from tree.operations import Tree
from tree.principal import Client, Principal

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"


Send = Callable[[str, bytes], Upload]


@pytest.fixture
def camera(account: Account, planned_job: PhotoJob, queued: list[int]) -> Callable[[str], Send]:
    """``camera(profile)`` makes a device with that profile and returns its ``send(path, data)``:
    the camera makes the folders, uploads the file through the tree, and the worker processes it."""
    made: list[Device] = []

    def make(profile: str) -> Send:
        device = device_services.device_create(
            account=account, username=f"cam{len(made) + 1}", password="a camera password", job=planned_job,
            album_name="Trail", profile=profile,
        )  # fmt: skip
        made.append(device)
        tree = Tree(Client(principal=Principal(ftp_user=device.ftp_user, method="password"), door=Door.FTPS,
                           address="10.0.0.7"))  # fmt: skip

        def send(path: str, data: bytes) -> Upload:
            folders = path.strip("/").split("/")[:-1]
            for depth in range(1, len(folders) + 1):
                tree.mkdir("/" + "/".join(folders[:depth]))
            staged = tree.open_write(path)
            staged.write(0, data)
            upload = staged.finish()
            assert upload is not None, f"{path} was not taken in"
            intake.upload_process(upload_id=upload.pk, token=intake.new_token())
            upload.refresh_from_db()
            return upload

        return send

    return make


def photo_of(upload: Upload) -> Photo:
    assert upload.state == Upload.State.DONE and upload.photo is not None, upload.reason
    return upload.photo


def local(photo: Photo) -> datetime | None:
    """The photo's capture time as the camera's wall clock (naive, in the portal's time zone)."""
    return timezone.make_naive(photo.taken_at) if photo.taken_at else None


def position(photo: Photo) -> tuple[float, float] | None:
    if photo.gps_latitude is None or photo.gps_longitude is None:
        return None
    return round(photo.gps_latitude, 5), round(photo.gps_longitude, 5)


WILLFINE_AT = (round(WILLFINE_POSITION[0], 5), round(WILLFINE_POSITION[1], 5))


# --- the registry --------------------------------------------------------------------------------


def test_the_built_in_profiles_are_the_ones_the_design_names() -> None:
    assert list(profiles.PROFILES) == ["generic", "axis", "mobotix", "instar", "camera-trap"]
    assert profiles.get("no such profile").name == profiles.DEFAULT == "generic"
    assert profiles.get("instar").is_test("Test-Snapshot.jpeg")
    assert profiles.get("axis").is_report("STATUS.TXT") and not profiles.get("axis").is_report("status.jpg")


def test_a_profile_cannot_require_a_field_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="cannot require colour"):
        profiles.Profile("odd", "Odd camera", required=("colour",))


def test_a_profile_narrows_the_portals_limits_and_never_widens_them() -> None:
    portal = imaging.ImagingLimits(max_bytes=50 * MB, formats=frozenset({"JPEG", "PNG"}))
    trap = profiles.get("camera-trap").limits(portal)
    assert (trap.max_bytes, trap.formats, trap.max_pixels) == (10 * MB, frozenset({"JPEG"}), portal.max_pixels)
    assert profiles.get("camera-trap").limits(imaging.ImagingLimits(max_bytes=5 * MB)).max_bytes == 5 * MB
    assert profiles.get("generic").limits(portal) == portal


@pytest.mark.parametrize(
    ("profile", "name", "expected"),
    [
        ("axis", "09.06.2025_14_30_25.123.jpg", datetime(2025, 6, 9, 14, 30, 25, 123000)),
        ("axis", "32.06.2025_14_30_25.123.jpg", None),  # looks like a time, is not one
        ("axis", "snapshot.jpg", None),
        ("mobotix", "m260514093010123.jpg", datetime(2026, 5, 14, 9, 30, 10, 123000)),
        ("mobotix", "current.jpg", None),
        ("instar", "A_2026-04-09_16-04-05.jpeg", datetime(2026, 4, 9, 16, 4, 5)),
        ("instar", "a_2026-04-09_16-04-05.JPG", datetime(2026, 4, 9, 16, 4, 5)),
        ("generic", "A_2026-04-09_16-04-05.jpeg", None),  # only the INSTAR profile reads INSTAR names
    ],
)
def test_file_name_times(profile: str, name: str, expected: datetime | None) -> None:
    assert profiles.get(profile).read(_no_exif(), source_path=f"/{name}").taken_at == expected


def _no_exif() -> imaging.ImageInfo:
    """What a JPEG without any EXIF gives: the profile has only its path to go on."""
    return imaging.ImageInfo(
        format="JPEG", width=300, height=200, taken_at=None, camera_make="", camera_model="", camera_serial="",
        gps_latitude=None, gps_longitude=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WBC398-868020035314870-10032026090126-4-SYPR0067.JPG", "868020035314870"),
        ("868020035314870-30032026102652-4-SYPR0260.JPG", "868020035314870"),
        ("868020035314871-30032026102652-4-SYPR0260.JPG", ""),  # wrong check digit: not an IMEI
        ("E1000159.JPG", ""),
    ],
)
def test_the_camera_trap_finds_an_imei_in_the_file_name(name: str, expected: str) -> None:
    assert profiles.get("camera-trap").read(_no_exif(), source_path=f"/{name}").camera_id == expected


# --- generic ---------------------------------------------------------------------------------------


def test_generic_reads_the_exif_and_takes_the_serial_as_camera_id(camera: Callable[[str], Send]) -> None:
    photo = photo_of(camera("generic")("/DCIM/IMG_0001.jpg", jpeg(exif=camera_exif())))
    assert local(photo) == datetime(2024, 5, 6, 7, 8, 9)
    assert photo.camera_id == "032021001234" and photo.camera_serial == "032021001234"
    assert position(photo) == (-33.86, -151.215)
    assert (photo.camera_make, photo.camera_model) == ("Canon", "Canon EOS R5")


def test_generic_requires_nothing(camera: Callable[[str], Send]) -> None:
    photo = photo_of(camera("generic")("/snap.jpg", jpeg()))
    assert (photo.camera_id, photo.taken_at, position(photo)) == ("", None, None)


def test_a_persons_photo_has_no_camera_id(album: Album, ftp_user: FTPUser, queued: list[int]) -> None:
    upload = register_upload(album, "portrait.jpg", jpeg(exif=camera_exif()), ftp_user=ftp_user)
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    photo = photo_of(Upload.objects.get(pk=upload.pk))
    assert photo.camera_id == "" and photo.camera_serial == "032021001234"
    assert local(photo) == datetime(2024, 5, 6, 7, 8, 9) and position(photo) == (-33.86, -151.215)


# --- AXIS, MOBOTIX, INSTAR -----------------------------------------------------------------------------


def test_axis_takes_the_time_from_the_file_name_and_the_id_from_its_directory(
    camera: Callable[[str], Send],
) -> None:
    send = camera("axis")
    photo = photo_of(send("/gate-north/14.05.2026_09_30_25.123.jpg", jpeg()))
    assert local(photo) == datetime(2026, 5, 14, 9, 30, 25, 123000)
    assert photo.camera_id == "gate-north"
    # A name of another shape falls back to the EXIF time.
    assert local(photo_of(send("/gate-north/other.jpg", jpeg(exif=camera_exif())))) == datetime(2024, 5, 6, 7, 8, 9)


def test_mobotix_reads_its_ftp_file_name_and_the_camera_name_at_the_front_of_its_directory(
    camera: Callable[[str], Send],
) -> None:
    photo = photo_of(camera("mobotix")("/mx10-10-38-40/2026/05/14/09/m260514093010123.jpg", jpeg()))
    assert local(photo) == datetime(2026, 5, 14, 9, 30, 10, 123000)
    assert photo.camera_id == "mx10-10-38-40"


def test_instar_takes_the_time_from_the_file_name_and_the_id_from_the_path(camera: Callable[[str], Send]) -> None:
    send = camera("instar")
    photo = photo_of(send("/Cam/2026/05/14/A_2026-04-09_16-04-05.jpeg", jpeg()))
    assert local(photo) == datetime(2026, 4, 9, 16, 4, 5)
    assert photo.camera_id == "Cam" and position(photo) is None


def test_instar_takes_the_position_from_a_lat_lon_folder_of_its_custom_path(camera: Callable[[str], Send]) -> None:
    photo = photo_of(camera("instar")("/INSTAR/lat-33.85679_lon151.20929/A_2026-04-09_16-04-05.jpeg", jpeg()))
    assert position(photo) == (-33.85679, 151.20929)
    assert photo.camera_id == "INSTAR/lat-33.85679_lon151.20929"
    assert local(photo) == datetime(2026, 4, 9, 16, 4, 5)


# --- camera traps ---------------------------------------------------------------------------------


def test_a_willfine_photo_lands_with_its_imei_time_and_position(camera: Callable[[str], Send]) -> None:
    photo = photo_of(camera("camera-trap")("/E1000159.JPG", jpeg(size=(1280, 960), exif=willfine_exif())))
    assert photo.camera_id == WILLFINE_IMEI
    assert local(photo) == datetime(2025, 12, 5, 15, 46, 7)
    assert position(photo) == WILLFINE_AT
    assert (photo.camera_make, photo.camera_model) == ("Willfine", "4.0T CG Regular lens")


def test_a_camera_trap_without_a_serial_is_known_by_the_imei_in_its_file_name(camera: Callable[[str], Send]) -> None:
    exif = willfine_exif(make="SY", model="4.0PCG", serial="")
    photo = photo_of(camera("camera-trap")("/WBC398-868020035314870-10032026090126-4-SYPR0067.JPG", jpeg(exif=exif)))
    assert photo.camera_id == "868020035314870"
    assert position(photo) == WILLFINE_AT


def test_any_camera_whose_exif_carries_make_model_gps_and_time_is_a_camera_trap(
    camera: Callable[[str], Send],
) -> None:
    photo = photo_of(camera("camera-trap")("/IMG_0001.jpg", jpeg(exif=camera_exif())))
    assert photo.camera_id == "032021001234" and position(photo) == (-33.86, -151.215)


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ({"position": None}, "no GPS position in the image; this camera's profile requires one"),
        ({"taken": ""}, "no capture time in the image; this camera's profile requires one"),
        ({"make": ""}, "no camera make in the image; this camera's profile requires one"),
        ({"model": ""}, "no camera model in the image; this camera's profile requires one"),
    ],
)
def test_a_camera_trap_photo_missing_a_required_field_is_rejected_naming_it(
    camera: Callable[[str], Send], missing: dict[str, object], reason: str
) -> None:
    upload = camera("camera-trap")("/E1000160.JPG", jpeg(exif=willfine_exif(**missing)))
    assert (upload.state, upload.reason, upload.photo) == (Upload.State.REJECTED, reason, None)
    assert file_name(upload.file).startswith("quarantine/")
    assert not Photo.objects.exists()


def test_a_camera_trap_takes_jpeg_only(camera: Callable[[str], Send]) -> None:
    upload = camera("camera-trap")("/E1000161.png", encode(picture(), "PNG", exif=willfine_exif()))
    assert (upload.state, upload.reason) == (Upload.State.REJECTED, "file type .png is not accepted")


def test_a_camera_trap_photo_over_10_mb_is_rejected_and_the_same_file_from_another_camera_is_not(
    camera: Callable[[str], Send],
) -> None:
    eleven = padded(jpeg(size=(1280, 960), exif=willfine_exif()), 11 * MB)
    upload = camera("camera-trap")("/E1000162.JPG", eleven)
    assert (upload.state, upload.reason, upload.size) == (Upload.State.REJECTED, "larger than 10 MB", 11 * MB)
    assert photo_of(camera("generic")("/E1000162.JPG", eleven)).size == 11 * MB


def test_a_missing_field_is_not_rejected_by_a_profile_that_does_not_require_it(
    camera: Callable[[str], Send],
) -> None:
    photo = photo_of(camera("generic")("/E1000163.JPG", jpeg(exif=willfine_exif(position=None))))
    assert photo.camera_id == WILLFINE_IMEI and position(photo) is None
