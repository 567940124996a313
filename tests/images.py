"""Real images for every test, made with Pillow; hostile ones by patching the bytes.

``jpeg()`` is the one JPEG factory: a gradient (so decoding and resampling have real work to do),
tinted by ``colour`` so that different colours give different bytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any, cast

from PIL import Image, ImageCms

SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- builders ------------------------------------------------------------------------------------


def camera_exif(*, orientation: int | None = None) -> Image.Exif:
    """EXIF as a camera writes it: make and model in IFD0, the rest in the Exif and GPS IFDs."""
    exif = Image.Exif()
    exif[0x010F] = "Canon\x00"  # cameras pad with NULs
    exif[0x0110] = " Canon EOS R5 "
    if orientation is not None:
        exif[0x0112] = orientation
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2024:05:06 07:08:09"
    exif_ifd[0xA431] = "032021001234"
    gps = exif.get_ifd(0x8825)
    gps[1] = "S"
    gps[2] = (33.0, 51.0, 36.0)
    gps[3] = "W"
    gps[4] = (151.0, 12.0, 54.0)
    return exif


def picture(
    size: tuple[int, int] = (300, 200), mode: str = "RGB", colour: tuple[int, int, int] | None = None
) -> Image.Image:
    """A gradient rather than a flat colour, so resampling and decoding have real work to do."""
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    if colour is not None:
        img = Image.blend(img, Image.new("RGB", size, colour), 0.5)
    return img.convert(mode)


def rgb(img: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    """One pixel of an RGB image (Pillow types ``getpixel`` for every mode: a float or None too)."""
    return cast(tuple[int, int, int], img.getpixel(xy))


def encode(img: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (300, 200), colour: tuple[int, int, int] | None = None, **params: Any) -> bytes:
    """A real JPEG (``params`` go to Pillow's save: quality, exif, progressive ...)."""
    return encode(picture(size, colour=colour), "JPEG", **params)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int) -> bytes:
    """A valid one-bit black PNG of side x side pixels that is only a few kilobytes on disk."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = bytes(1 + side // 8)  # filter byte + packed pixels
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row * 1000) for _ in range(side // 1000)) + z.flush()
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def with_frame_size(data: bytes, width: int, height: int) -> bytes:
    """Rewrite the size in the SOF0 header of a baseline JPEG, leaving the scan alone."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


def jpeg_markers(data: bytes) -> list[int]:
    """The marker codes before the first scan, e.g. 0xE0 for APP0 (JFIF), 0xE1 for EXIF/XMP."""
    markers, pos = [], 2
    while data[pos + 1] != 0xDA:  # start of scan: metadata cannot follow
        markers.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (120, 80), (255, 0, 0, 0)), "JPEG")


def png_16_bit() -> bytes:
    return encode(Image.new("I;16", (40, 30), 32768), "PNG")


def animated_gif() -> bytes:
    frames = [Image.new("P", (20, 20), colour) for colour in (1, 2, 3)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:])


def with_orientation_as_text(data: bytes) -> bytes:
    """Retype the IFD0 orientation entry of ``jpeg(exif=camera_exif(orientation=6))`` from SHORT 6 to ASCII "6"."""
    entry = b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
    assert data.count(entry) == 1
    return data.replace(entry, b"\x01\x12\x00\x02\x00\x00\x00\x026\x00\x00\x00")


def noisy_jpeg(size: tuple[int, int] = (2400, 1800), seed: int = 1) -> bytes:
    """A JPEG of noise: it hardly compresses, so a camera-sized file (about 5 MB here) costs no big picture."""
    import random

    noise = random.Random(seed).randbytes(size[0] * size[1] * 3)
    return encode(Image.frombytes("RGB", size, noise), "JPEG", quality=92)


# --- camera samples (devices, DESIGN §9) ---------------------------------------------------------


def exif_of(
    *,
    make: str = "",
    model: str = "",
    serial: str = "",
    taken: str = "",
    position: tuple[float, float] | None = None,
) -> Image.Exif:
    """EXIF with only the fields given: Make, Model, BodySerialNumber, DateTimeOriginal, GPS."""
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    exif_ifd = exif.get_ifd(0x8769)
    if taken:
        exif_ifd[0x9003] = taken
    if serial:
        exif_ifd[0xA431] = serial
    if position is not None:
        gps = exif.get_ifd(0x8825)
        for ref_tag, value_tag, value, signs in ((1, 2, position[0], "NS"), (3, 4, position[1], "EW")):
            degrees, rest = divmod(abs(value) * 3600, 3600)
            minutes, seconds = divmod(rest, 60)
            gps[ref_tag] = signs[value < 0]
            gps[value_tag] = (float(degrees), float(minutes), round(seconds, 2))
    return exif


# The Willfine 4.0T CG as the camera-trap reference shows it (E1000159.JPG): serial number = IMEI.
WILLFINE_IMEI = "861943070068027"
WILLFINE_POSITION = (52.098767, 5.125342)  # 52 deg 5' 55.56" N, 5 deg 7' 31.23" E


def willfine_exif(**changes: Any) -> Image.Exif:
    """A Willfine 4.0T CG photo's EXIF; ``changes`` replace fields ("" or None leaves one out)."""
    fields: dict[str, Any] = {
        "make": "Willfine",
        "model": "4.0T CG Regular lens",
        "serial": WILLFINE_IMEI,
        "taken": "2025:12:05 15:46:07",
        "position": WILLFINE_POSITION,
    }
    return exif_of(**{**fields, **changes})


def willfine_report(**changes: str) -> bytes:
    """A Willfine daily report (``<IMEI>-<DDMMYYYY><HHMMSS>-dr.txt``) as UTF-8 text; ``changes`` replace lines."""
    lines = {
        "IMEI": WILLFINE_IMEI,
        "CSQ": "31",
        "CamID": "",
        "Temp": "24℃",
        "Date": "05/12/2025 15:46:47",
        "Battery": "60%",
        "SD": "59405M/59628M",
        "Total": "159",
        "Send": "12",
        "GPS": "52.098737,5.125504",
    }
    lines.update(changes)
    return "".join(f"{k}:{v}\r\n" for k, v in lines.items()).encode()


def padded(data: bytes, size: int) -> bytes:
    """``data`` grown to ``size`` bytes after its end marker (cameras append data there too)."""
    assert len(data) <= size
    return data + bytes(size - len(data))
