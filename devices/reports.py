"""Status reports (DESIGN §9): the small text files a camera uploads about itself, read and kept.

A report is lines of ``key=value`` or ``Key: Value``. The Willfine 4.0T CG camera trap sends one a
day as ``<IMEI>-<DDMMYYYY><HHMMSS>-dr.txt``::

    IMEI:861943070068027
    CSQ:31
    Temp:24℃
    Date:05/12/2025 15:46:47
    Battery:60%
    SD:59405M/59628M
    Total:159
    Send:12
    GPS:52.098737,5.125504

This module knows the status fields and how to read their values; which keys name them is a
profile's business (``devices.profiles``): every profile understands ``COMMON_KEYS`` and may add its
own. Reading is lenient per line (an unknown key or a value that cannot be read is left out) and
strict about the whole: a report with no field at all that could be read is refused, as is a file
that is empty, too large or not text. Every refusal is a ``ReportRejected`` whose ``reason`` goes to
the upload log.

The fields (all optional, JSON-ready; the device page shows whichever a camera sends):
``battery_percent``, ``battery_volts``, ``signal`` (as the camera counts it) with ``signal_unit``,
``storage_used_percent`` with ``storage_used_mb`` / ``storage_total_mb`` when the report gives
sizes, ``temperature_c``, ``latitude`` / ``longitude`` (only as a pair), ``images_on_card``,
``images_sent``, ``camera_id``, ``reported_at`` (the camera's clock, ISO, no zone).

``report_record`` stores a report that was read: a ``StatusReport`` row for its upload, and the
device's status when it is the device's newest report.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from albums.models import Upload
from devices.models import Device, StatusReport

logger = logging.getLogger("devices")

MAX_BYTES = 1024 * 1024  # DESIGN §9 and the camera-trap reference: a report is "under 1 MB"
Fields = dict[str, Any]
Reader = Callable[[str], Fields]  # a value's text -> the status fields it gives; ValueError if unreadable


class ReportRejected(Exception):
    """The file is not a status report this portal can read; .reason says why, for the upload log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- values -------------------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*([-+]?\d+(?:[.,]\d+)?)\s*(.*?)\s*$")


def _number(value: str) -> tuple[float, str]:
    """The number a value starts with (a decimal comma is read as a point) and the text after it."""
    match = _NUMBER.match(value)
    if match is None:
        raise ValueError(f"no number in {value!r}")
    number = float(match.group(1).replace(",", "."))
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return number, match.group(2)


def _plain(number: float) -> int | float:
    """Whole numbers as ints, so ``60%`` is stored as 60 and not 60.0."""
    return int(number) if number == int(number) else round(number, 3)


def battery(value: str) -> Fields:
    number, unit = _number(value)
    if unit.upper() == "V":
        return {"battery_volts": _plain(number)}
    if unit not in ("", "%") or not 0 <= number <= 100:
        raise ValueError(f"not a battery percentage: {value!r}")
    return {"battery_percent": _plain(number)}


def signal(value: str) -> Fields:
    number, unit = _number(value)
    if len(unit) > 16:
        raise ValueError(f"not a signal reading: {value!r}")
    return {"signal": _plain(number), **({"signal_unit": unit} if unit else {})}


def csq(value: str) -> Fields:
    """The modem's signal quality (AT+CSQ): 0-31, 99 meaning unknown."""
    number, unit = _number(value)
    if unit or not 0 <= number <= 31 or number != int(number):
        raise ValueError(f"not a CSQ value: {value!r}")
    return {"signal": int(number), "signal_unit": "CSQ (0-31)"}


_SIZE = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)
_MB_PER = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def storage(value: str) -> Fields:
    """``59405M/59628M``, ``12.5 GB / 29.7 GB`` (used/total), or ``45%`` used."""
    if "/" in value:
        used_text, _, total_text = value.partition("/")
        used, total = _SIZE.fullmatch(used_text), _SIZE.fullmatch(total_text)
        if used is None or total is None:
            raise ValueError(f"not a storage reading: {value!r}")
        # A unit given only once ("12.5/29.7 GB") holds for both; none at all means megabytes.
        default = (total.group(2) or used.group(2) or "M").upper()
        used_mb, total_mb = (
            float(m.group(1).replace(",", ".")) * _MB_PER[(m.group(2) or default).upper()] for m in (used, total)
        )
        if total_mb <= 0 or used_mb > total_mb:
            raise ValueError(f"not a storage reading: {value!r}")
        return {
            "storage_used_mb": _plain(round(used_mb, 1)),
            "storage_total_mb": _plain(round(total_mb, 1)),
            "storage_used_percent": _plain(round(used_mb / total_mb * 100, 1)),
        }
    number, unit = _number(value)
    if unit.removesuffix("used").strip() != "%" or not 0 <= number <= 100:
        raise ValueError(f"not a storage reading: {value!r}")
    return {"storage_used_percent": _plain(number)}


def temperature(value: str) -> Fields:
    """``24℃``, ``24 °C``, ``24`` (Celsius) or ``75°F``."""
    number, unit = _number(value)
    # A "℃" written in another encoding (GBK) arrives as replacement characters: still Celsius.
    letters = unit.upper().replace("℃", "C").replace("℉", "F").strip("°º \ufffd")
    if letters not in ("", "C", "F"):
        raise ValueError(f"not a temperature: {value!r}")
    celsius = (number - 32) * 5 / 9 if letters == "F" else number
    if not -80 <= celsius <= 120:
        raise ValueError(f"not a plausible temperature: {value!r}")
    return {"temperature_c": _plain(round(celsius, 1))}


def _coordinate(value: str, *, limit: int, negative: str, positive: str) -> float:
    number, hemisphere = _number(value)
    hemisphere = hemisphere.upper().strip("° ")
    if hemisphere not in ("", negative, positive) or not -limit <= number <= limit:
        raise ValueError(f"not a coordinate: {value!r}")
    return -abs(number) if hemisphere == negative else number


def latitude(value: str) -> Fields:
    return {"latitude": _coordinate(value, limit=90, negative="S", positive="N")}


def longitude(value: str) -> Fields:
    return {"longitude": _coordinate(value, limit=180, negative="W", positive="E")}


def position(value: str) -> Fields:
    """``52.098737,5.125504``: latitude and longitude in decimal degrees."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(f"not a position: {value!r}")
    return {**latitude(parts[0]), **longitude(parts[1])}


def count(name: str) -> Reader:
    def read(value: str) -> Fields:
        if not value.strip().isdigit():
            raise ValueError(f"not a count: {value!r}")
        return {name: int(value)}

    return read


def text(name: str, *, max_length: int = 100) -> Reader:
    def read(value: str) -> Fields:
        if not value or len(value) > max_length or not value.isprintable():
            raise ValueError(f"not a {name}: {value!r}")
        return {name: value}

    return read


def clock(*formats: str) -> Reader:
    """The camera's own time of the report, in one of ``formats`` (strptime)."""

    def read(value: str) -> Fields:
        for fmt in formats:
            try:
                return {"reported_at": datetime.strptime(value, fmt).isoformat()}
            except ValueError:
                continue
        raise ValueError(f"not a time: {value!r}")

    return read


def ignored(value: str) -> Fields:
    """A key a camera sends that means nothing here (the Willfine's empty ``CamID``)."""
    return {}


# Keys are compared lowercased without spaces, "_", "-" and ".": "Battery Level" is "batterylevel".
COMMON_KEYS: Mapping[str, Reader] = {
    **dict.fromkeys(("battery", "batterylevel", "batterypercent", "bat", "batt"), battery),
    **dict.fromkeys(("signal", "signalstrength", "signalquality", "signallevel"), signal),
    **dict.fromkeys(("sd", "sdcard", "storage", "storageused"), storage),
    **dict.fromkeys(("temperature", "temp"), temperature),
    **dict.fromkeys(("latitude", "lat"), latitude),
    **dict.fromkeys(("longitude", "lon", "lng"), longitude),
}


def key(name: str) -> str:
    return re.sub(r"[\s_.\-]+", "", name).lower()


# --- reading ------------------------------------------------------------------------------------


def read_text(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES) -> str:
    """The report's text; ReportRejected when it is empty, larger than ``max_bytes`` or not text."""
    too_large = f"status report larger than {_megabytes(max_bytes)}"
    if os.stat(path).st_size > max_bytes:
        raise ReportRejected(too_large)
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)  # bounded: the file may have grown since the stat
    if len(data) > max_bytes:
        raise ReportRejected(too_large)
    if not data.strip():
        raise ReportRejected("status report is empty")
    if b"\x00" in data:
        raise ReportRejected("status report is not a text file")
    # Cameras write UTF-8 (the Willfine's "℃"); anything else only costs the odd unit sign, which
    # the value readers do not need.
    return data.decode("utf-8-sig", "replace")


def parse(text: str, keys: Mapping[str, Reader]) -> Fields:
    """The status fields of a report's ``text``, read with ``keys``; ReportRejected when there are none."""
    fields: Fields = {}
    for line in text.splitlines():
        split = _split(line)
        if split is None:
            continue
        name, value = split
        reader = keys.get(key(name))
        if reader is None:
            continue
        try:
            fields.update(reader(value))
        except ValueError:
            logger.debug("status report value ignored: %r", line[:200])
    if ("latitude" in fields) != ("longitude" in fields):  # half a position is no position
        fields.pop("latitude", None)
        fields.pop("longitude", None)
    if not fields:
        raise ReportRejected(
            "status report has no line this camera's profile understands "
            "(key=value or Key: Value with battery, signal, storage, temperature, latitude/longitude)"
        )
    return fields


def _split(line: str) -> tuple[str, str] | None:
    """``key=value`` or ``Key: Value``, whichever sign comes first (``Date:05/12/2025 15:46:47``)."""
    cuts = [i for i in (line.find("="), line.find(":")) if i > 0]
    if not cuts:
        return None
    cut = min(cuts)
    name, value = line[:cut].strip(), line[cut + 1 :].strip()
    return (name, value) if name else None


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{int(mb) if mb == int(mb) else round(mb, 2)} MB"


# --- storing ------------------------------------------------------------------------------------


@transaction.atomic
def report_record(*, device: Device, upload: Upload, fields: Fields) -> StatusReport:
    """Keep a report that was read: its row (one per upload) and, when no later report of the
    device exists, the device's status. Safe to run again for the same upload."""
    report, _ = StatusReport.objects.update_or_create(upload=upload, defaults={"device": device, "fields": fields})
    if not StatusReport.objects.filter(device=device, upload_id__gt=upload.pk).exists():
        Device.objects.filter(pk=device.pk).update(status=fields, status_at=upload.received_at)
    logger.info("status report device=%s upload=%s fields=%s", device, upload.pk, ",".join(sorted(fields)))
    return report


def report_forget(*, upload: Upload) -> None:
    """An upload that was read as a report once is not one now (processed again and rejected)."""
    StatusReport.objects.filter(upload=upload).delete()
