"""Image validation, metadata and renditions for uploaded photos: pure Pillow, no Django, no ORM.

`analyse_image` is the whole public surface. It treats the file as hostile: the size is checked
before the file is read, the format is sniffed from the bytes (the extension only chooses the
wording of a rejection), Pillow may parse the bytes only with the decoders of the accepted
formats, the pixel count is checked from the header before anything is decoded, and the image is
decoded completely so that a truncated upload is refused. Every refusal is an `ImageRejected`
whose `reason` a photographer can act on. Errors of the storage itself (missing file, EIO) are
not refusals: they propagate as `OSError` so the caller can retry.

Renditions are decoded once, in JPEG draft mode: libjpeg scales in the IDCT but still
entropy-decodes the whole stream, so truncation is still detected. For a 6000x4000 quality-90
JPEG (9 MB, 2-core EPYC, median of 5) analyse_image took 0.29 s with draft mode against 0.61 s
decoding at full size; the decode alone is 0.11 s (to 3000x2000) against 0.18 s, the rest of
the saving is resampling 6 MP instead of 24 MP for the preview.

What a worker holds per photo is kept to the decode (24 MB at 3000x2000: Pillow keeps RGB in 4
bytes a pixel) and the preview (11 MB): the file is read as it is decoded rather than into memory
first, the preview is resampled in bands (``_shrink``), and colour conversion and rotation are
done on the preview rather than on the decode. Renditions are baseline JPEGs. Together these took
a 24 MP photo from 0.26 s to 0.21 s and the image step's peak from 57 to 41 MB above the process
(``python -m bench.images``: 0.47x pyvips' time on the same photos).

A caller that wants to look at the pixels itself (``inspect``: the QR cards of ``subjects.detect``)
gets this same decode, before any rendition is made, so looking costs no second decode. It may ask
for more detail than the renditions need (``inspect_side``: the decode's long side is at least
that much, or the full size); the draft scale is then chosen for both. At 6000x4000 the renditions'
scale (1/2, 3000x2000) already meets the 2400 px ``subjects.detect`` asks for.
"""

from __future__ import annotations

import io
import itertools
import logging
import math
import os
import re
import threading
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from PIL import Image, ImageCms, ImageFile

logger = logging.getLogger(__name__)

RENDITION_SIZES: dict[str, int] = {"thumb": 400, "preview": 2048}  # long side in px
JPEG_QUALITY = 85

# Magic numbers of the formats a photographer is likely to send. This only names what we refuse;
# no Pillow plugin outside ImagingLimits.formats ever sees the bytes.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),  # also CR2, NEF, ARW, DNG and most other raw files
    (b"MM\x00*", "TIFF"),
    (b"8BPS", "PSD"),
    (b"FUJIFILMCCD-RAW", "RAF"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (b"\xff\x4f\xff\x51", "JPEG2000"),
)
_FTYP_BRANDS = {b"heic": "HEIF", b"heix": "HEIF", b"mif1": "HEIF", b"avif": "AVIF", b"crx ": "CR3"}

# Image files we refuse by name even when the bytes are unrecognisable, because "not an image"
# would be a confusing answer to someone who just uploaded a raw file.
_REFUSED_EXTENSIONS = frozenset(
    {
        *(".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".kdc"),
        *(".mos", ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".rw2", ".sr2", ".srf"),
        *(".srw", ".x3f"),  # camera raw
        *(".avif", ".bmp", ".gif", ".heic", ".heif", ".hif", ".jp2", ".jxl", ".psd"),
        *(".tif", ".tiff", ".webp"),
    }
)
_EXTENSIONS = {"JPEG": {".jpg", ".jpeg", ".jpe", ".jfif"}, "PNG": {".png"}}

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Pillow reads its pixel limit from a module global; the lock keeps two analyses with different
# limits from seeing each other's value while Image.open runs its check.
_pixel_limit_lock = threading.Lock()
_HEAD = 16  # bytes the format is sniffed from
_READ_BLOCK = 256 * 1024
_BAND_ROWS = 128  # output rows resampled at a time (_shrink)


class ImageRejected(Exception):
    """The file is not an acceptable image; .reason is a sentence a photographer understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ImagingLimits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    formats: frozenset[str] = frozenset({"JPEG", "PNG"})  # Pillow format names accepted


@dataclass(frozen=True)
class Rendition:
    name: str  # "thumb" or "preview"
    data: bytes  # encoded JPEG, no metadata at all (no EXIF, no GPS, no XMP), sRGB
    width: int
    height: int


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "JPEG" / "PNG" - sniffed from bytes
    width: int  # pixel size AFTER applying EXIF orientation
    height: int
    taken_at: datetime | None  # EXIF DateTimeOriginal, naive camera local time, whole seconds
    camera_make: str
    camera_model: str
    camera_serial: str  # EXIF BodySerialNumber
    gps_latitude: float | None  # decimal degrees, south negative
    gps_longitude: float | None  # decimal degrees, west negative
    # EXIF SubSecTimeOriginal: the fraction of the second of taken_at, in microseconds (0 if absent).
    # Kept apart so that taken_at stays what every camera and profile agrees on: whole seconds.
    taken_microsecond: int = 0


class _InspectFailed(Exception):
    """The caller's ``inspect`` raised: its error, not a verdict on the image."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


def analyse_image(
    path: str | os.PathLike[str],
    *,
    filename: str,
    limits: ImagingLimits = ImagingLimits(),
    sizes: Mapping[str, int] = RENDITION_SIZES,
    inspect: Callable[[Image.Image], object] | None = None,
    inspect_side: int = 0,
) -> tuple[ImageInfo, list[Rendition]]:
    """Validate the file fully and build the renditions; raise ImageRejected(reason) for anything unacceptable.

    ``inspect``, when given, is called once with the decoded image (as stored: EXIF orientation not
    applied, any mode) whose long side is at least ``inspect_side`` or the image's own; what it
    raises propagates unchanged. It must not modify the image.
    """
    too_large = f"larger than {_number(limits.max_bytes / (1024 * 1024))} MB"
    size = os.stat(path).st_size
    if size == 0:
        raise ImageRejected("file is empty")
    if size > limits.max_bytes:
        raise ImageRejected(too_large)
    extension = os.path.splitext(filename)[1].lower()
    # Pillow reads the file as it decodes (a 9 MB photo is never held twice); what the storage
    # raises on the way is told apart from what Pillow says about the bytes (_UploadFile).
    with io.BufferedReader(_UploadFile(path, limits.max_bytes, too_large), _READ_BLOCK) as f:
        try:
            head = f.peek(_HEAD)[:_HEAD]
            if not head:
                raise ImageRejected("file is empty")
            return _analyse(f, head, extension, limits, sizes, inspect, inspect_side)
        except _InspectFailed as failed:
            raise failed.error from None
        except _StorageFailed as failed:
            raise failed.error from None
        except (ImageRejected, MemoryError):
            raise
        except Exception as exc:  # any other surprise from a decoder is a verdict on the bytes
            raise ImageRejected("image data is damaged") from exc


class _StorageFailed(Exception):
    """Reading the upload's file failed (EIO, a vanished NFS handle): the storage's error, not a verdict."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


class _UploadFile(io.RawIOBase):
    """The upload's file as Pillow reads it: storage errors wrapped, and no byte past ``max_bytes``.

    Pillow turns some OSErrors into its own verdicts ("image file is truncated"); wrapped in
    ``_StorageFailed`` an EIO passes through it unchanged and ``analyse_image`` raises it as the
    OSError it was, for the caller to retry. The limit holds even if the file grew since the stat.
    (A RawIOBase rather than a FileIO subclass: FileIO's read() and readall() bypass readinto.)
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int, too_large: str) -> None:
        super().__init__()
        self._file = io.FileIO(path, "rb")  # a missing file is FileNotFoundError, as it is
        self._max_bytes = max_bytes
        self._too_large = too_large

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        try:
            count = self._read(buffer)
        except OSError as exc:
            raise _StorageFailed(exc) from exc
        if self._file.tell() > self._max_bytes:
            raise ImageRejected(self._too_large)
        return count or 0

    def _read(self, buffer: Any) -> int | None:
        return self._file.readinto(buffer)


def _analyse(
    f: IO[bytes],
    head: bytes,
    extension: str,
    limits: ImagingLimits,
    sizes: Mapping[str, int],
    inspect: Callable[[Image.Image], object] | None,
    inspect_side: int,
) -> tuple[ImageInfo, list[Rendition]]:
    img = _open(f, head, extension, limits)
    fmt = "JPEG" if img.format == "MPO" else str(img.format)  # MPO: a JPEG with extra frames
    width, height = img.size

    # Decode at the smallest DCT scale that still covers the largest rendition and what the
    # inspection asks for; with neither, at full size.
    target = max([*sizes.values(), inspect_side if inspect else 0])
    if target:
        scale = target / max(width, height)
        if scale < 1:
            img.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        img.load()  # the full decode, even in draft mode: a truncated stream fails here
    except (MemoryError, _StorageFailed, ImageRejected):
        raise
    except Exception as exc:
        raise ImageRejected(_damaged(fmt, exc)) from exc
    if inspect is not None:
        try:
            inspect(img)
        except Exception as exc:
            raise _InspectFailed(exc) from exc

    ifd0, exif_ifd, gps_ifd = _exif_tags(img)
    orientation = _orientation(ifd0.get(0x0112))
    if orientation >= 5:  # the four orientations that swap width and height
        width, height = height, width
    info = ImageInfo(
        format=fmt,
        width=width,
        height=height,
        taken_at=_datetime(exif_ifd.get(0x9003)),
        camera_make=_text(ifd0.get(0x010F)),
        camera_model=_text(ifd0.get(0x0110)),
        camera_serial=_text(exif_ifd.get(0xA431)),
        gps_latitude=_coordinate(gps_ifd, ref_tag=1, value_tag=2, limit=90),
        gps_longitude=_coordinate(gps_ifd, ref_tag=3, value_tag=4, limit=180),
        taken_microsecond=_microsecond(exif_ifd.get(0x9291)),
    )
    return info, _renditions(img, orientation, sizes)


def _open(f: IO[bytes], head: bytes, extension: str, limits: ImagingLimits) -> ImageFile.ImageFile:
    accepted = sorted(name.upper() for name in limits.formats)
    sniffed = _sniff(head)
    if sniffed is not None and sniffed not in accepted:
        # Name the file by its extension unless the extension claims an accepted format: a GIF
        # renamed to .jpg is better described as "GIF" than as ".jpg".
        claimed = set().union(*(_EXTENSIONS.get(name, ()) for name in accepted))
        label = extension if extension and extension not in claimed else sniffed
        raise ImageRejected(f"file type {label} is not accepted")

    too_many_pixels = f"image has more than {_number(limits.max_pixels / 1_000_000)} megapixels"
    try:
        with _pixel_limit_lock, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = limits.max_pixels
            try:
                img = Image.open(f, formats=accepted)
            finally:
                Image.MAX_IMAGE_PIXELS = saved_limit
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageRejected(too_many_pixels) from exc
    except (_StorageFailed, ImageRejected):
        raise
    except Exception as exc:
        if sniffed is not None:  # the right magic, but a header Pillow cannot make sense of
            raise ImageRejected(_damaged(sniffed, exc)) from exc
        if extension in _REFUSED_EXTENSIONS:
            raise ImageRejected(f"file type {extension} is not accepted") from exc
        raise ImageRejected("not an image") from exc
    # The rule itself, stated without relying on Pillow's warning machinery.
    if img.width * img.height > limits.max_pixels:
        raise ImageRejected(too_many_pixels)
    return img


def _sniff(data: bytes) -> str | None:
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(data[8:12])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _damaged(fmt: str, exc: Exception) -> str:
    if fmt == "PNG":
        return "PNG is truncated or damaged"
    # Pillow says "image file is truncated" when the data ends before the decoder is done, and
    # "Truncated File Read" when it ends inside the header.
    if fmt == "JPEG" and isinstance(exc, OSError) and "truncated" in str(exc).lower():
        return "JPEG is truncated"
    return "image data is damaged"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _exif_tags(img: Image.Image) -> tuple[dict[int, Any], dict[int, Any], dict[int, Any]]:
    """IFD0, the Exif IFD and the GPS IFD as plain dicts, each empty when it cannot be parsed.

    EXIF is optional: broken metadata must not cost the photographer a photo. Copying into
    dicts forces Pillow's lazy decoding to happen here, where its failures are contained.
    """
    try:
        exif = img.getexif()
    except Exception:
        logger.debug("unreadable EXIF ignored", exc_info=True)
        return {}, {}, {}
    return (
        _plain(lambda: exif),
        _plain(lambda: exif.get_ifd(0x8769)),
        _plain(lambda: exif.get_ifd(0x8825)),
    )


def _plain(read: Callable[[], Mapping[int, Any]]) -> dict[int, Any]:
    try:
        return dict(read())
    except Exception:
        logger.debug("unreadable EXIF directory ignored", exc_info=True)
        return {}


def _orientation(value: Any) -> int:
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


def _datetime(value: Any) -> datetime | None:
    try:
        return datetime.strptime(_text(value)[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:  # absent, blank ("    :  :  ") or invented by the camera
        return None


def _microsecond(value: Any) -> int:
    """SubSecTimeOriginal ("45" is 0.45 s, "045" is 0.045 s) as microseconds; 0 when absent or odd."""
    digits = re.match(r"[0-9]*", _text(value).lstrip())
    return int(digits[0][:6].ljust(6, "0")) if digits and digits[0] else 0


def _coordinate(gps: Mapping[int, Any], *, ref_tag: int, value_tag: int, limit: int) -> float | None:
    parts = gps.get(value_tag)
    if not isinstance(parts, tuple) or len(parts) != 3:  # degrees, minutes, seconds
        return None
    try:
        degrees, minutes, seconds = (float(part) for part in parts)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value) or value > limit or min(degrees, minutes, seconds) < 0:
        return None
    return -value if _text(gps.get(ref_tag)).upper() in ("S", "W") else value


def _renditions(img: Image.Image, orientation: int, sizes: Mapping[str, int]) -> list[Rendition]:
    icc = img.info.get("icc_profile")
    picture = _flatten(img)
    # Largest first, each made from the previous one: resampling 2048 px down to 400 px is far
    # cheaper than starting from the full image again, and loses nothing visible. The colour
    # conversion and the rotation wait for the largest rendition: at 24 MP that is a third of the
    # decode's pixels, and no second image of the decode's size is ever made.
    made: dict[str, Rendition] = {}
    for i, (name, long_side) in enumerate(sorted(sizes.items(), key=lambda item: item[1], reverse=True)):
        picture = _shrink(picture, long_side)
        if i == 0:
            picture = _to_srgb(picture, icc)
            if orientation in _TRANSPOSE:
                picture = picture.transpose(_TRANSPOSE[orientation])
        out = io.BytesIO()
        # Baseline, as libjpeg and libvips write by default: a progressive 2048 px preview took
        # 7 times as long to encode (54 ms against 7 ms) for 4 % fewer bytes.
        picture.save(out, "JPEG", quality=JPEG_QUALITY)
        made[name] = Rendition(name, out.getvalue(), picture.width, picture.height)
    return [made[name] for name in sizes]


def _flatten(img: Image.Image) -> Image.Image:
    """The image in a mode Pillow resamples properly (L, RGB, CMYK): alpha laid on white."""
    if img.mode.startswith("I"):
        # 16-bit greyscale: Pillow's convert() clips at 255 rather than scaling.
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if img.mode == "1":
        img = img.convert("L")  # Pillow resamples 1-bit (and palette) images by nearest neighbour
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("LA", "La", "PA", "RGBa", "RGBA"):
        rgba = img.convert("RGBA")
        img = Image.new("RGB", rgba.size, "white")
        img.paste(rgba, mask=rgba.getchannel("A"))
    return img


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    converted: Image.Image | None = None
    if icc:
        try:
            source = ImageCms.getOpenProfile(io.BytesIO(icc))
            # A fresh sRGB profile per call (~0.1 ms): LittleCMS profile handles are not meant
            # to be shared between threads.
            srgb = ImageCms.createProfile("sRGB")
            converted = ImageCms.profileToProfile(img, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or mismatched profile: the untagged pixels are the best we have
    if converted is None:
        converted = img if img.mode == "RGB" else img.convert("RGB")
    # Pillow's JPEG writer copies the comment from .info; an empty one keeps every piece of the
    # original's metadata (EXIF, GPS, ICC, XMP, comments) out of the renditions.
    converted.info = {}
    return converted


def _shrink(img: Image.Image, long_side: int) -> Image.Image:
    scale = long_side / max(img.size)
    if scale >= 1:  # never upscale
        return img
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    bands = size[1] // _BAND_ROWS
    if bands < 2:
        return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    # Band by band: in one pass Pillow first resamples every row of the input to the output's
    # width, a temporary image of the output's width by the input's height (16 MB for the
    # 3000x2000 decode of a 24 MP photo), before the vertical pass; a band needs only its own
    # rows. ``box`` lets the filter reach into the rows around each band, so they join seamlessly.
    # Bands of equal height, none below _BAND_ROWS: Pillow resamples a short band in another
    # order, and on noise that differs by up to 17 levels from the rest (clipping in between).
    out = Image.new(img.mode, size)
    rows = img.height / size[1]  # input rows per output row
    edges = [round(i * size[1] / bands) for i in range(bands + 1)]
    for top, bottom in itertools.pairwise(edges):
        box = (0, top * rows, img.width, min(img.height, bottom * rows))
        band = img.resize((size[0], bottom - top), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
        out.paste(band, (0, top))
    return out
