"""Camera profiles (DESIGN §9): how a device's files are read, as small declarative entries.

A profile says, for one family of cameras:

- which file names are connection tests (INSTAR's ``Test-Snapshot.jpeg``, AXIS and MOBOTIX names
  beginning with ``test``); a device may replace them with its own;
- where a photo's camera id, capture time and GPS position come from, as ``Source``s tried in
  order: the image's EXIF, the name the camera gave the file (AXIS ``DD.MM.YYYY_HH_MM_SS.mmm.jpg``),
  the folders it uploaded into (INSTAR's custom path);
- which fields are required: a photo missing one is rejected with a reason naming the field
  ("no GPS position in the image; this camera's profile requires one");
- which formats and sizes it accepts, within the portal's own limits;
- which files are status reports (``*.txt``) and which report keys it knows besides the common
  ones (``devices.reports``).

To add a camera family, add a ``Profile`` to ``PROFILES`` and a test with a sample file in
tests/devices/test_profiles.py; a new way of finding a field is one more ``Source``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from albums.imaging import ImageInfo, ImagingLimits
from devices import reports

T = TypeVar("T")
Position = tuple[float, float]  # latitude, longitude in decimal degrees


@dataclass(frozen=True)
class CameraFile:
    """What a profile reads a photo from: its EXIF, and the path the camera used below its album."""

    info: ImageInfo
    name: str  # the file name as the camera gave it ("A_2026-04-09_16-04-05.jpeg")
    folders: tuple[str, ...]  # the folders it was uploaded into ("Cam", "2026", "05", "14")

    @classmethod
    def at(cls, info: ImageInfo, source_path: str) -> CameraFile:
        parts = [p for p in source_path.split("/") if p]
        return cls(info=info, name=parts[-1] if parts else "", folders=tuple(parts[:-1]))


@dataclass(frozen=True)
class Source(Generic[T]):
    """One place a field may come from; ``where`` names it in a rejection ("the file name")."""

    where: str
    read: Callable[[CameraFile], T | None]


@dataclass(frozen=True)
class Reading:
    """A photo's fields as its camera's profile reads them; times are the camera's wall clock."""

    camera_id: str = ""
    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    make: str = ""
    model: str = ""

    @classmethod
    def from_exif(cls, info: ImageInfo) -> Reading:
        """What a person's photo carries: its EXIF and no camera id (only devices have one)."""
        return cls(
            taken_at=info.taken_at,
            latitude=info.gps_latitude,
            longitude=info.gps_longitude,
            make=info.camera_make,
            model=info.camera_model,
        )


# --- sources ------------------------------------------------------------------------------------

IMAGE, FILE_NAME, FOLDERS = "the image", "the file name", "the folder path"


def _exif_position(f: CameraFile) -> Position | None:
    lat, lon = f.info.gps_latitude, f.info.gps_longitude
    return None if lat is None or lon is None else (lat, lon)


EXIF_TIME: Source[datetime] = Source(IMAGE, lambda f: f.info.taken_at)
EXIF_POSITION: Source[Position] = Source(IMAGE, _exif_position)
EXIF_SERIAL: Source[str] = Source(IMAGE, lambda f: f.info.camera_serial or None)


def name_time(pattern: str) -> Source[datetime]:
    """The capture time from the file name, by a regex with the groups ``year`` (or ``yy``),
    ``month``, ``day``, ``hour``, ``minute``, ``second`` and optionally ``ms``."""
    regex = re.compile(pattern, re.IGNORECASE)

    def read(f: CameraFile) -> datetime | None:
        match = regex.fullmatch(f.name)
        if match is None:
            return None
        g = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        try:
            return datetime(
                g["year"] if "year" in g else 2000 + g["yy"],
                g["month"],
                g["day"],
                g["hour"],
                g["minute"],
                g["second"],
                g.get("ms", 0) * 1000,
            )
        except ValueError:  # a name that only looks like a time (month 13)
            return None

    return Source(FILE_NAME, read)


_IMEI = re.compile(r"(?<!\d)\d{15}(?!\d)")


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _imei_in_name(f: CameraFile) -> str | None:
    # The check digit keeps a 15-digit run that is something else (a time, a counter) out.
    return next((m for m in _IMEI.findall(f.name) if _luhn(m)), None)


# A folder of dates or times ("2026", "05", "2026-05-14", "20260514"): what follows the camera's own.
_DATE_FOLDER = re.compile(r"\d[\d._-]*")


def _camera_folder(f: CameraFile) -> str | None:
    """The folders the camera was told to upload into, before any it makes per day or hour:
    ``Cam`` of ``Cam/2026/05/14``, ``INSTAR/lat52.02368_lon12.98290`` of INSTAR's custom path."""
    own = []
    for folder in f.folders:
        if _DATE_FOLDER.fullmatch(folder):
            break
        own.append(folder)
    return "/".join(own) or None


_LAT_LON_FOLDER = re.compile(r"lat([-+]?\d+(?:\.\d+)?)_lon([-+]?\d+(?:\.\d+)?)", re.IGNORECASE)


def _folder_position(f: CameraFile) -> Position | None:
    """INSTAR writes no EXIF: its position is a folder of the custom path, ``lat52.02368_lon12.98290``."""
    for folder in reversed(f.folders):
        match = _LAT_LON_FOLDER.fullmatch(folder)
        if match:
            lat, lon = float(match.group(1)), float(match.group(2))
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                return lat, lon
    return None


NAME_IMEI: Source[str] = Source(FILE_NAME, _imei_in_name)
CAMERA_FOLDER: Source[str] = Source(FOLDERS, _camera_folder)
FOLDER_POSITION: Source[Position] = Source(FOLDERS, _folder_position)

# AXIS Image-to-FTP: 09.06.2025_14_30_25.123.jpg
AXIS_NAME = name_time(
    r"(?P<day>\d\d)\.(?P<month>\d\d)\.(?P<year>\d{4})_(?P<hour>\d\d)_(?P<minute>\d\d)_(?P<second>\d\d)"
    r"\.(?P<ms>\d{3})\.jpe?g"
)
# MOBOTIX $(TEXT.FTPFILE).jpg: "m", YYMMDD, hhmmss, milliseconds: m260514093010000.jpg
MOBOTIX_NAME = name_time(
    r"m(?P<yy>\d\d)(?P<month>\d\d)(?P<day>\d\d)(?P<hour>\d\d)(?P<minute>\d\d)(?P<second>\d\d)(?P<ms>\d{3})\.jpe?g"
)
# INSTAR alarm snapshots: A_2026-04-09_16-04-05.jpeg
INSTAR_NAME = name_time(
    r"[a-z]+_(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)_(?P<hour>\d\d)-(?P<minute>\d\d)-(?P<second>\d\d)\.jpe?g"
)


# --- profiles -----------------------------------------------------------------------------------

# What a profile may require, and how a rejection names it.
FIELDS = {
    "make": "camera make",
    "model": "camera model",
    "camera_id": "camera id",
    "taken_at": "capture time",
    "position": "GPS position",
}


@dataclass(frozen=True)
class Profile:
    """One camera family: its connection tests, where each photo field comes from (sources tried in
    order), which fields it requires, its formats and size, and its status reports."""

    name: str
    label: str
    test_patterns: tuple[str, ...] = ()  # shell patterns, matched case-insensitively
    notes: list[str] = field(default_factory=list)
    camera_id_from: tuple[Source[str], ...] = (EXIF_SERIAL,)
    taken_at_from: tuple[Source[datetime], ...] = (EXIF_TIME,)
    position_from: tuple[Source[Position], ...] = (EXIF_POSITION,)
    required: tuple[str, ...] = ()  # keys of FIELDS
    formats: frozenset[str] | None = None  # Pillow format names; None: whatever the portal accepts
    max_bytes: int | None = None  # None: the portal's limit
    report_patterns: tuple[str, ...] = ("*.txt",)
    report_keys: Mapping[str, reports.Reader] = field(default_factory=dict)  # besides reports.COMMON_KEYS
    report_max_bytes: int = reports.MAX_BYTES

    def __post_init__(self) -> None:
        unknown = set(self.required) - set(FIELDS)
        if unknown:
            raise ValueError(f"profile {self.name}: cannot require {', '.join(sorted(unknown))}")

    def is_test(self, filename: str, patterns: tuple[str, ...] | None = None) -> bool:
        lowered = filename.lower()
        return any(
            fnmatch.fnmatchcase(lowered, p.lower()) for p in (self.test_patterns if patterns is None else patterns)
        )

    def is_report(self, filename: str) -> bool:
        return any(fnmatch.fnmatchcase(filename.lower(), p.lower()) for p in self.report_patterns)

    def limits(self, portal: ImagingLimits) -> ImagingLimits:
        """The portal's limits, narrowed to this profile's formats and size."""
        return dataclasses.replace(
            portal,
            max_bytes=min(portal.max_bytes, self.max_bytes or portal.max_bytes),
            formats=portal.formats if self.formats is None else portal.formats & self.formats,
        )

    def read(self, info: ImageInfo, *, source_path: str) -> Reading:
        """The photo's camera id, capture time and position, each from the first source that has it."""
        f = CameraFile.at(info, source_path)
        position = _first(self.position_from, f)
        return Reading(
            camera_id=_first(self.camera_id_from, f) or "",
            taken_at=_first(self.taken_at_from, f),
            latitude=position[0] if position else None,
            longitude=position[1] if position else None,
            make=info.camera_make,
            model=info.camera_model,
        )

    def refusal(self, reading: Reading) -> str:
        """Why a photo read as ``reading`` is refused ("" when it is not): the first required field missing."""
        present = {
            "make": bool(reading.make),
            "model": bool(reading.model),
            "camera_id": bool(reading.camera_id),
            "taken_at": reading.taken_at is not None,
            "position": reading.latitude is not None and reading.longitude is not None,
        }
        wheres: dict[str, tuple[Source[Any], ...]] = {
            "camera_id": self.camera_id_from,
            "taken_at": self.taken_at_from,
            "position": self.position_from,
        }
        for name in self.required:
            if not present[name]:
                places = list(dict.fromkeys(s.where for s in wheres.get(name, ()))) or [IMAGE]
                return f"no {FIELDS[name]} in {' or '.join(places)}; this camera's profile requires one"
        return ""

    def parse_report(self, text: str) -> reports.Fields:
        """The status fields of a report (ReportRejected when it has none this profile understands)."""
        return reports.parse(text, {**reports.COMMON_KEYS, **self.report_keys})


def _first(sources: tuple[Source[T], ...], f: CameraFile) -> T | None:
    for source in sources:
        value = source.read(f)
        if value is not None:
            return value
    return None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("generic", "Generic camera (EXIF)"),
        Profile(
            "axis",
            "AXIS (Image-to-FTP)",
            test_patterns=("test*",),
            taken_at_from=(AXIS_NAME, EXIF_TIME),
            camera_id_from=(CAMERA_FOLDER, EXIF_SERIAL),  # the FTP Directory it was given
        ),
        Profile(
            "mobotix",
            "MOBOTIX",
            test_patterns=("test*",),
            taken_at_from=(MOBOTIX_NAME, EXIF_TIME),
            camera_id_from=(CAMERA_FOLDER, EXIF_SERIAL),  # $(TEXT.FTPDIR) begins with the camera name
        ),
        Profile(
            "instar",
            "INSTAR",
            test_patterns=("test-snapshot.*",),
            taken_at_from=(INSTAR_NAME, EXIF_TIME),
            camera_id_from=(CAMERA_FOLDER,),
            position_from=(FOLDER_POSITION, EXIF_POSITION),
        ),
        # The Willfine 4.0T CG (EXIF Make "Willfine", Model "4.0T CG ...", serial number = IMEI) and
        # any camera trap whose EXIF carries make, model, GPS and time; cameras that write no serial
        # (Swift Enduro) put the IMEI in the file name. Its reports are the Willfine daily report.
        Profile(
            "camera-trap",
            "Camera trap (Willfine 4.0T CG and EXIF GPS cameras)",
            camera_id_from=(EXIF_SERIAL, NAME_IMEI),
            required=("make", "model", "taken_at", "position"),
            formats=frozenset({"JPEG"}),
            max_bytes=10 * 1024 * 1024,
            report_keys={
                "imei": reports.text("camera_id"),
                "csq": reports.csq,
                "gps": reports.position,
                "total": reports.count("images_on_card"),
                "send": reports.count("images_sent"),
                "date": reports.clock("%d/%m/%Y %H:%M:%S"),
                "camid": reports.ignored,
            },
        ),
    )
}
DEFAULT = "generic"


def get(name: str) -> Profile:
    return PROFILES.get(name) or PROFILES[DEFAULT]
