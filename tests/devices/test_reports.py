"""Status reports (DESIGN §9): the text files a camera uploads are read by its profile and kept as
the device's status, never as photos; through the real intake, and the readers on their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_django import Settings

from albums import intake
from albums.models import Album, Door, Photo, Upload
from devices import profiles, reports
from devices import services as device_services
from devices.models import Device, StatusReport
from jobs.models import Account, FTPUser, PhotoJob
from tests.helpers import file_name, register_upload
from tests.images import WILLFINE_IMEI, willfine_report
from tree.operations import Tree
from tree.principal import Client, Principal

REPORT_NAME = f"{WILLFINE_IMEI}-05122025154647-dr.txt"
WILLFINE_STATUS = {
    "camera_id": WILLFINE_IMEI,
    "signal": 31,
    "signal_unit": "CSQ (0-31)",
    "temperature_c": 24,
    "reported_at": "2025-12-05T15:46:47",
    "battery_percent": 60,
    "storage_used_mb": 59405,
    "storage_total_mb": 59628,
    "storage_used_percent": 99.6,
    "images_on_card": 159,
    "images_sent": 12,
    "latitude": 52.098737,
    "longitude": 5.125504,
}


@pytest.fixture(autouse=True)
def own_disk(settings: Settings, tmp_path: Path) -> None:
    settings.TREE_ROOT = tmp_path / "tree"
    settings.MEDIA_ROOT = tmp_path / "media"


Send = Callable[[str, bytes], Upload]


def device_with(account: Account, job: PhotoJob, profile: str) -> Device:
    return device_services.device_create(
        account=account, username=f"trap-{profile}", password="a camera password", job=job, album_name="Trail",
        profile=profile,
    )  # fmt: skip


def sender(device: Device) -> Send:
    """Upload through the tree as the device, then run the worker's processing."""
    tree = Tree(Client(principal=Principal(ftp_user=device.ftp_user, method="password"), door=Door.FTPS,
                       address="10.0.0.8"))  # fmt: skip

    def send(path: str, data: bytes) -> Upload:
        staged = tree.open_write(path)
        staged.write(0, data)
        upload = staged.finish()
        assert upload is not None
        process(upload)
        return upload

    return send


def process(upload: Upload) -> None:
    intake.upload_process(upload_id=upload.pk, token=intake.new_token())
    upload.refresh_from_db()


@pytest.fixture
def trap(account: Account, planned_job: PhotoJob, queued: list[int]) -> Device:
    return device_with(account, planned_job, "camera-trap")


# --- through the intake ------------------------------------------------------------------------------


def test_a_willfine_daily_report_becomes_the_devices_status_and_no_photo(trap: Device) -> None:
    upload = sender(trap)(f"/{REPORT_NAME}", willfine_report())
    assert (upload.state, upload.reason, upload.photo) == (Upload.State.DONE, "status report", None)
    assert file_name(upload.file).startswith("uploads/")  # kept like any accepted upload
    trap.refresh_from_db()
    assert trap.status == WILLFINE_STATUS
    assert trap.status_at == upload.received_at
    report = StatusReport.objects.get()
    assert (report.device, report.upload, report.fields) == (trap, upload, WILLFINE_STATUS)
    assert not Photo.objects.exists()


def test_every_profile_understands_the_plain_key_value_forms(
    account: Account, planned_job: PhotoJob, queued: list[int]
) -> None:
    text = "battery=80%\nSignal: -67 dBm\nsd=12.5GB/29.7GB\nTemperature: 75°F\nlatitude=-33.85679\nLongitude: 151.20929"
    expected = {
        "battery_percent": 80,
        "signal": -67,
        "signal_unit": "dBm",
        "storage_used_mb": 12800,
        "storage_total_mb": 30412.8,
        "storage_used_percent": 42.1,
        "temperature_c": 23.9,
        "latitude": -33.85679,
        "longitude": 151.20929,
    }
    for name in profiles.PROFILES:
        device = device_with(account, planned_job, name)
        upload = sender(device)("/status.txt", text.encode())
        assert (upload.state, upload.reason) == (Upload.State.DONE, "status report"), name
        device.refresh_from_db()
        assert device.status == expected, name


def test_an_oversized_report_is_rejected_and_the_status_kept(trap: Device) -> None:
    send = sender(trap)
    send(f"/{REPORT_NAME}", willfine_report())
    big = willfine_report(Battery="20%") + b"# padding\n" * (110 * 1024)
    assert len(big) > 1024 * 1024
    upload = send("/861943070068027-06122025154647-dr.txt", big)
    assert (upload.state, upload.reason) == (Upload.State.REJECTED, "status report larger than 1 MB")
    assert file_name(upload.file).startswith("quarantine/")
    trap.refresh_from_db()
    assert trap.status["battery_percent"] == 60
    assert StatusReport.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"hello camera\nall is well\n", "status report has no line this camera's profile understands"),
        (b"Battery: plenty\nSD: full\n", "status report has no line this camera's profile understands"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "status report is not a text file"),
        (b"  \r\n", "status report is empty"),
    ],
)
def test_an_unparseable_report_is_rejected_with_a_reason(trap: Device, data: bytes, reason: str) -> None:
    upload = sender(trap)("/report.txt", data)
    assert upload.state == Upload.State.REJECTED and upload.reason.startswith(reason), upload.reason
    trap.refresh_from_db()
    assert (trap.status, trap.status_at) == ({}, None)
    assert not StatusReport.objects.exists() and not Photo.objects.exists()


def test_camera_trap_keys_mean_nothing_to_a_generic_camera(
    account: Account, planned_job: PhotoJob, queued: list[int]
) -> None:
    upload = sender(device_with(account, planned_job, "generic"))("/r.txt", b"IMEI:861943070068027\nCSQ:31\n")
    assert upload.state == Upload.State.REJECTED
    assert upload.reason.startswith("status report has no line this camera's profile understands")


def test_an_older_report_processed_late_does_not_replace_the_newer_status(trap: Device) -> None:
    tree = Tree(Client(principal=Principal(ftp_user=trap.ftp_user, method="password"), door=Door.FTPS, address=None))
    finished = []
    for name, battery in (("a.txt", "70%"), ("b.txt", "65%")):
        staged = tree.open_write(f"/{name}")
        staged.write(0, willfine_report(Battery=battery))
        finished.append(staged.finish())
    older, newer = finished
    assert older is not None and newer is not None
    process(newer)
    process(older)
    trap.refresh_from_db()
    assert trap.status["battery_percent"] == 65 and trap.status_at == newer.received_at
    assert StatusReport.objects.count() == 2


def test_processing_a_report_again_keeps_one_report_row(trap: Device) -> None:
    upload = sender(trap)(f"/{REPORT_NAME}", willfine_report())
    assert intake.upload_reprocess(upload_ids=[upload.pk]) == [upload.pk]
    process(upload)
    assert (upload.state, upload.reason) == (Upload.State.DONE, "status report")
    assert StatusReport.objects.count() == 1


def test_a_persons_text_file_is_still_not_an_image(album: Album, ftp_user: FTPUser, queued: list[int]) -> None:
    upload = register_upload(album, "notes.txt", willfine_report(), ftp_user=ftp_user)
    process(upload)
    assert (upload.state, upload.reason) == (Upload.State.REJECTED, "not an image")
    assert not StatusReport.objects.exists()


# --- the readers -------------------------------------------------------------------------------------


def test_the_camera_trap_profile_reads_the_willfine_report() -> None:
    assert profiles.get("camera-trap").parse_report(willfine_report().decode()) == WILLFINE_STATUS


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Battery Level: 87 %", {"battery_percent": 87}),
        ("battery=6.1V", {"battery_volts": 6.1}),
        ("battery=140%", {}),  # not a percentage: left out
        ("storage=45% used", {"storage_used_percent": 45}),
        ("SD: 900M/100M", {}),  # more used than there is
        ("temp=-3,5 °C", {"temperature_c": -3.5}),
        ("temp=24\ufffd\ufffd", {"temperature_c": 24}),  # a GBK "℃" read as UTF-8
        ("temp=24 K", {}),
        ("latitude: 52.1 N", {}),  # half a position is no position
        ("signal=4 bars", {"signal": 4, "signal_unit": "bars"}),
    ],
)
def test_values_are_read_leniently_one_line_at_a_time(line: str, expected: dict[str, object]) -> None:
    if expected:
        assert reports.parse(line, reports.COMMON_KEYS) == expected
    else:
        with pytest.raises(reports.ReportRejected):
            reports.parse(line, reports.COMMON_KEYS)


def test_the_first_separator_splits_a_line() -> None:
    keys = {**reports.COMMON_KEYS, "date": reports.clock("%d/%m/%Y %H:%M:%S")}
    assert reports.parse("Date:05/12/2025 15:46:47\nbatt=50", keys) == {
        "reported_at": "2025-12-05T15:46:47",
        "battery_percent": 50,
    }


def test_a_csq_of_99_means_unknown() -> None:
    assert profiles.get("camera-trap").parse_report("CSQ:99\nBattery:50%") == {"battery_percent": 50}
