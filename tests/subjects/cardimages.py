"""Photo-like JPEGs with printed QR cards in them, for the subjects tests and the benchmark.

A ``scene`` is a photo without a card: a gradient with a few blobs of colour (a child, a
background) and sensor noise, deterministic for a seed so that two photos never share bytes by
accident (identical bytes are one photo to the intake). ``with_card`` pastes a card into it the way
a photographer shows one: a white card around a real card code's QR symbol (segno), turned a few
degrees, slightly out of focus. ``size`` is the width of the QR symbol itself (its modules, without
the quiet zone and the card around it) as a fraction of the frame width: 0.03 is the smallest card
a photographer should expect to be read. ``damaged`` paints over part of the symbol's data, so a
reader finds the symbol but cannot decode it. ``camera_jpeg`` encodes with the EXIF a camera writes
(make, model, body serial, DateTimeOriginal with SubSecTimeOriginal).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime

import segno
from PIL import Image, ImageDraw, ImageFilter

from tests.images import exif_of

QUIET_ZONE = 4  # modules of white around a QR symbol, as the standard asks and the printed cards have
PAPER = (236, 234, 228)
INK = (28, 28, 34)


@dataclass(frozen=True)
class Camera:
    make: str
    model: str
    serial: str


CANON = Camera("Canon", "Canon EOS R6", "083021004512")
NIKON = Camera("NIKON CORPORATION", "NIKON Z 6_2", "6012877")


def scene(size: tuple[int, int] = (2400, 1600), *, seed: int = 0) -> Image.Image:
    """A photo without a card: gradient, blobs of colour and noise, the same for the same seed."""
    rng = random.Random(seed)
    width, height = size
    tint = Image.new("RGB", size, (rng.randrange(60, 200), rng.randrange(60, 200), rng.randrange(60, 200)))
    img = Image.blend(Image.linear_gradient("L").resize(size).convert("RGB"), tint, 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        rx, ry = rng.randrange(width // 16, width // 4), rng.randrange(height // 16, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)
    # Sensor noise: coarse blotches and per-pixel grain, both from the seed.
    coarse = Image.frombytes("L", (width // 8, height // 8), rng.randbytes((width // 8) * (height // 8)))
    img = Image.blend(img, coarse.resize(size, Image.Resampling.BICUBIC).convert("RGB"), 0.08)
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    return Image.blend(img, grain, 0.06)


def card_symbol(code: str) -> Image.Image:
    """The card's QR symbol in black on white, one pixel per module, with its quiet zone."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="png", scale=1, border=QUIET_ZONE)
    return Image.open(io.BytesIO(out.getvalue())).convert("L")


def modules(code: str) -> int:
    """How many modules wide the code's QR symbol is, without its quiet zone."""
    return card_symbol(code).width - 2 * QUIET_ZONE


def with_card(
    img: Image.Image,
    code: str,
    *,
    size: float,
    at: tuple[float, float] = (0.5, 0.5),
    angle: float = 4.0,
    blur: float = 1.0,
    damaged: bool = False,
) -> Image.Image:
    """``img`` with a card showing ``code`` centred at ``at`` (fractions of the frame); a new image."""
    symbol = card_symbol(code)
    count = symbol.width - 2 * QUIET_ZONE
    module = max(1.0, size * img.width / count)  # pixels per module in the photo
    side = round(symbol.width * module)
    qr = symbol.resize((side, side), Image.Resampling.NEAREST)
    if damaged:
        # A thumb or a scribble over the data: the finder patterns (the three big squares) stay,
        # so the symbol is found, but more is lost than error correction can restore.
        draw = ImageDraw.Draw(qr)
        q = round(QUIET_ZONE * module)
        data = side - 2 * q
        draw.rectangle((q + data * 0.30, q + data * 0.30, q + data * 0.95, q + data * 0.72), fill=255)
        draw.rectangle((q + data * 0.55, q + data * 0.72, q + data * 0.95, q + data * 0.95), fill=0)
    # The printed card: the symbol with its quiet zone, a strip below for the number and name.
    card = Image.new("RGB", (side, round(side * 1.3)), PAPER)
    ink = Image.new("RGB", qr.size, INK)
    card.paste(ink, (0, 0), qr.point(lambda v: 255 - v))
    ImageDraw.Draw(card).rectangle((side * 0.15, side * 1.08, side * 0.85, side * 1.16), fill=INK)
    mask = Image.new("L", card.size, 255)
    card = card.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    if blur:
        card = card.filter(ImageFilter.GaussianBlur(blur))
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    out = img.copy()
    x = round(at[0] * img.width - card.width / 2)
    y = round(at[1] * img.height - card.height / 2)
    out.paste(card, (x, y), mask)
    return out


def camera_jpeg(
    img: Image.Image,
    *,
    camera: Camera | None = None,
    taken: datetime | None = None,
    quality: int = 90,
) -> bytes:
    """``img`` as a camera writes it: JPEG with make, model, serial, capture time and its sub-seconds."""
    exif = exif_of(
        make=camera.make if camera else "",
        model=camera.model if camera else "",
        serial=camera.serial if camera else "",
        taken=taken.strftime("%Y:%m:%d %H:%M:%S") if taken else "",
    )
    if taken is not None:
        exif.get_ifd(0x8769)[0x9291] = f"{taken.microsecond // 10000:02d}"  # SubSecTimeOriginal, 1/100 s
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=exif)
    return out.getvalue()
