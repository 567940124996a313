"""Tests for albums.imaging: every image is made here with Pillow, hostile ones by patching bytes."""

from __future__ import annotations

import io
import random
import struct
import warnings
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageFile, JpegImagePlugin

from albums.imaging import (
    RENDITION_SIZES,
    ImageInfo,
    ImageRejected,
    ImagingLimits,
    Rendition,
    analyse_image,
)
from tests.images import (
    SRGB_ICC,
    camera_exif,
    encode,
    jpeg,
    jpeg_markers,
    picture,
    png_bomb,
    rgb,
    with_frame_size,
)

Write = Callable[[str, bytes], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def analyse(path: Path, **kwargs: Any) -> tuple[ImageInfo, list[Rendition]]:
    return analyse_image(path, filename=kwargs.pop("filename", path.name), **kwargs)


def rejection(path: Path, **kwargs: Any) -> str:
    with pytest.raises(ImageRejected) as caught:
        analyse(path, **kwargs)
    return caught.value.reason


def rendition(renditions: list[Rendition], name: str) -> Image.Image:
    (found,) = [r for r in renditions if r.name == name]
    img = Image.open(io.BytesIO(found.data))
    assert img.format == "JPEG"
    assert img.size == (found.width, found.height)
    return img


@pytest.fixture
def draft_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records what every JpegImageFile.draft call returned (None means no scaled decode)."""
    calls: list[Any] = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Any, mode: str | None, size: tuple[int, int] | None) -> Any:
        result = real_draft(self, mode, size)
        calls.append(result)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    return calls


# --- rejections ----------------------------------------------------------------------------------


def test_it_rejects_an_empty_file(write: Write) -> None:
    assert rejection(write("a.jpg", b"")) == "file is empty"


def test_it_rejects_text_named_jpg_as_not_an_image(write: Write) -> None:
    assert rejection(write("notes.jpg", b"Shoot list: bride, groom, cake\n" * 20)) == "not an image"


@pytest.mark.parametrize("progressive", [False, True])
def test_it_rejects_truncated_jpeg(write: Write, progressive: bool) -> None:
    data = jpeg((600, 400), progressive=progressive)
    assert rejection(write("a.jpg", data[: len(data) // 2])) == "JPEG is truncated"


def test_it_rejects_a_jpeg_with_a_broken_huffman_table_as_damaged(write: Write) -> None:
    data = jpeg()
    dht = data.index(b"\xff\xc4")
    data = data[: dht + 5] + b"\xff" * 20 + data[dht + 25 :]
    assert rejection(write("a.jpg", data)) == "image data is damaged"


def test_it_rejects_a_jpeg_truncated_inside_its_header(write: Write) -> None:
    assert rejection(write("a.jpg", jpeg()[:300])) == "JPEG is truncated"


def test_it_rejects_truncated_jpeg_even_when_decoding_in_draft_mode(write: Write, draft_calls: list[Any]) -> None:
    data = jpeg((2000, 1500))
    path = write("a.jpg", data[: len(data) * 3 // 4])

    assert rejection(path, sizes={"thumb": 240}) == "JPEG is truncated"
    # libjpeg was asked to decode at 1/8 scale, and still noticed the missing data.
    assert draft_calls == [("RGB", (0, 0, 250, 187.5))]


@pytest.mark.parametrize("width, height", [(65500, 65500), (12000, 10000)])
def test_it_rejects_a_jpeg_whose_header_claims_too_many_pixels(write: Write, width: int, height: int) -> None:
    # 4290 MP trips Pillow's DecompressionBombError, 120 MP its warning; both are refusals.
    data = with_frame_size(jpeg((64, 48)), width, height)
    assert struct.pack(">HH", height, width) in data
    path = write("a.jpg", data)
    assert rejection(path) == "image has more than 100 megapixels"


def test_it_rejects_a_png_decompression_bomb(write: Write) -> None:
    data = png_bomb(20000)
    assert len(data) < 100_000
    assert rejection(write("a.png", data)) == "image has more than 100 megapixels"


def test_it_states_the_configured_pixel_limit(write: Write) -> None:
    limits = ImagingLimits(max_pixels=10_000)
    assert rejection(write("a.jpg", jpeg((150, 100))), limits=limits) == ("image has more than 0.01 megapixels")
    assert analyse(write("b.jpg", jpeg((100, 100))), limits=limits)[0].width == 100


def test_it_rejects_a_file_over_the_default_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024 + 1)  # sparse: costs no disk and no time
    assert rejection(path) == "larger than 50 MB"


def test_it_states_the_configured_size_limit(write: Write, tmp_path: Path) -> None:
    path = write("a.jpg", jpeg())
    assert len(path.read_bytes()) > 1000
    assert rejection(path, limits=ImagingLimits(max_bytes=1000)) == "larger than 0.000953674 MB"
    assert analyse(path, limits=ImagingLimits(max_bytes=len(path.read_bytes())))[0].width == 300

    sparse = tmp_path / "b.jpg"
    with sparse.open("wb") as f:
        f.truncate(1536 * 1024 + 1)
    assert rejection(sparse, limits=ImagingLimits(max_bytes=1536 * 1024)) == "larger than 1.5 MB"


def test_it_rejects_an_animated_gif_by_its_extension(write: Write) -> None:
    frames = [Image.new("P", (20, 20), colour) for colour in (1, 2, 3)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert rejection(write("party.GIF", data)) == "file type .gif is not accepted"


@pytest.mark.parametrize("name", ["party.jpg", "party"])
def test_it_names_the_real_format_when_the_extension_does_not_help(write: Write, name: str) -> None:
    data = encode(Image.new("RGB", (20, 20)), "GIF")
    assert rejection(write(name, data)) == "file type GIF is not accepted"


def test_it_rejects_raw_files_by_their_extension(write: Write) -> None:
    data = random.Random(1).randbytes(4096)
    assert rejection(write("IMG_0001.CR2", data)) == "file type .cr2 is not accepted"


def test_it_rejects_a_tiff_based_raw_file(write: Write) -> None:
    data = encode(picture(), "TIFF")
    assert rejection(write("DSC_0001.nef", data)) == "file type .nef is not accepted"


def test_it_never_lets_a_refused_formats_decoder_parse_the_bytes(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import BmpImagePlugin, GifImagePlugin, TiffImagePlugin

    opened: list[str] = []
    for plugin in (
        BmpImagePlugin.BmpImageFile,
        GifImagePlugin.GifImageFile,
        TiffImagePlugin.TiffImageFile,
    ):
        monkeypatch.setattr(plugin, "_open", lambda self: opened.append(self.format))
    rejection(write("a.gif", encode(picture(), "GIF")))
    rejection(write("a.dng", encode(picture(), "TIFF")))
    rejection(write("a.jpg", b"II*\x00" + bytes(100)))
    # BMP is not in the magic table, so only the formats= restriction keeps its decoder out.
    assert rejection(write("b.jpg", encode(picture(), "BMP"))) == "not an image"
    assert rejection(write("b.bmp", encode(picture(), "BMP"))) == "file type .bmp is not accepted"
    assert opened == []


def test_it_rejects_formats_left_out_of_the_limits(write: Write) -> None:
    path = write("a.png", encode(picture(), "PNG"))
    limits = ImagingLimits(formats=frozenset({"JPEG"}))
    assert rejection(path, limits=limits) == "file type .png is not accepted"


def test_it_rejects_a_truncated_png(write: Write) -> None:
    data = encode(picture((400, 300)), "PNG")
    assert rejection(write("a.png", data[: len(data) // 2])) == "PNG is truncated or damaged"


def test_it_does_not_turn_a_missing_file_into_a_rejection(tmp_path: Path) -> None:
    # The caller retries storage errors; a rejection would be final.
    with pytest.raises(FileNotFoundError):
        analyse_image(tmp_path / "gone.jpg", filename="gone.jpg")


def test_it_leaves_pillows_global_settings_as_it_found_them(write: Write) -> None:
    before = (Image.MAX_IMAGE_PIXELS, list(warnings.filters))
    analyse(write("a.jpg", jpeg()))
    rejection(write("b.jpg", with_frame_size(jpeg(), 65500, 65500)))
    assert (Image.MAX_IMAGE_PIXELS, list(warnings.filters)) == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- accepted oddities ---------------------------------------------------------------------------


def test_it_accepts_garbage_after_the_jpeg_end_marker(write: Write) -> None:
    info, renditions = analyse(write("a.jpg", jpeg() + b"\x00junk from the card reader" * 50))
    assert (info.format, info.width, info.height) == ("JPEG", 300, 200)
    assert len(renditions) == 2


@pytest.mark.parametrize("orientation", [0, 9])
def test_it_ignores_an_impossible_orientation(write: Write, orientation: int) -> None:
    info, renditions = analyse(write("a.jpg", jpeg(exif=camera_exif(orientation=orientation))))
    assert (info.width, info.height) == (300, 200)
    assert rendition(renditions, "thumb").size == (300, 200)
    assert info.camera_make == "Canon"  # the rest of the EXIF is still read


def test_it_ignores_an_orientation_written_as_text(write: Write) -> None:
    data = jpeg(exif=camera_exif(orientation=6))
    # Retype the IFD0 entry from SHORT 6 to ASCII "6" (Exif.tobytes writes big-endian).
    entry = b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
    assert data.count(entry) == 1
    data = data.replace(entry, b"\x01\x12\x00\x02\x00\x00\x00\x026\x00\x00\x00")
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == "6"

    info, _ = analyse(write("a.jpg", data))
    assert (info.width, info.height) == (300, 200)


def test_it_accepts_a_jpeg_whose_exif_is_unparseable(write: Write) -> None:
    data = jpeg(exif=b"Exif\x00\x00" + b"\xde\xad" * 40)
    assert Image.open(io.BytesIO(data)).info["exif"].startswith(b"Exif\x00\x00\xde\xad")
    info, renditions = analyse(write("a.jpg", data))
    assert info == ImageInfo("JPEG", 300, 200, None, "", "", "", None, None)
    assert len(renditions) == 2


def test_it_applies_the_exif_orientation(write: Write) -> None:
    img = picture((300, 200))
    img.paste((255, 0, 0), (0, 0, 60, 60))  # mark the top-left corner
    info, renditions = analyse(write("a.jpg", encode(img, "JPEG", exif=camera_exif(orientation=6))))

    assert (info.width, info.height) == (200, 300)
    turned = rendition(renditions, "thumb")
    assert turned.size == (200, 300)
    # Orientation 6 means "rotate 90 degrees clockwise to view": top-left becomes top-right.
    red, green, blue = rgb(turned, (190, 10))
    assert red > 200 and green < 60 and blue < 60


def test_it_accepts_a_cmyk_jpeg(write: Write) -> None:
    cyan = Image.new("CMYK", (120, 80), (255, 0, 0, 0))
    data = encode(cyan, "JPEG")
    assert b"Adobe" in data  # Pillow writes inverted CMYK with an Adobe marker

    info, renditions = analyse(write("a.jpg", data))
    thumb = rendition(renditions, "thumb")
    assert (info.format, thumb.mode) == ("JPEG", "RGB")
    red, green, blue = rgb(thumb, (60, 40))
    assert red < 40 and green > 215 and blue > 215


def test_it_accepts_a_progressive_jpeg(write: Write) -> None:
    info, renditions = analyse(write("a.jpg", jpeg((900, 600), progressive=True)))
    assert (info.width, info.height) == (900, 600)
    assert rendition(renditions, "thumb").size == (400, 267)


def test_it_accepts_a_greyscale_jpeg(write: Write) -> None:
    _, renditions = analyse(write("a.jpg", encode(picture(mode="L"), "JPEG")))
    assert rendition(renditions, "preview").mode == "RGB"


def test_it_accepts_a_multi_picture_jpeg_as_jpeg(write: Write) -> None:
    data = encode(picture(), "MPO", save_all=True, append_images=[picture()])
    info, _ = analyse(write("a.jpg", data))
    assert info.format == "JPEG"


def test_it_scales_a_16_bit_png_instead_of_clipping_it(write: Write) -> None:
    grey = Image.new("I;16", (40, 30), 32768)  # mid grey in 16 bits
    info, renditions = analyse(write("a.png", encode(grey, "PNG")))
    assert info.format == "PNG"
    red, green, blue = rgb(rendition(renditions, "thumb"), (20, 15))
    assert 120 < red < 136 and red == green == blue


def test_it_accepts_a_palette_png_with_transparency_onto_white(write: Write) -> None:
    img = Image.new("P", (40, 30), 0)
    img.putpalette([0, 0, 0, 255, 0, 0])
    img.paste(1, (0, 0, 20, 30))
    _, renditions = analyse(write("a.png", encode(img, "PNG", transparency=0)))
    thumb = rendition(renditions, "thumb")
    assert thumb.mode == "RGB"
    assert min(rgb(thumb, (35, 15))) > 245  # transparent black became white
    red, green, blue = rgb(thumb, (5, 15))
    assert red > 230 and green < 30 and blue < 30


def test_it_accepts_an_rgba_png_onto_white(write: Write) -> None:
    img = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    img.paste((0, 0, 255, 255), (0, 0, 20, 30))
    _, renditions = analyse(write("a.png", encode(img, "PNG")))
    thumb = rendition(renditions, "thumb")
    assert min(rgb(thumb, (35, 15))) > 245
    red, green, blue = rgb(thumb, (5, 15))
    assert red < 30 and green < 30 and blue > 225


def test_it_converts_from_an_embedded_icc_profile(write: Write, monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[bytes] = []
    real = ImageCms.profileToProfile

    def spy(img: Image.Image, source: Any, target: Any, **kwargs: Any) -> Any:
        used.append(source.tobytes())
        return real(img, source, target, **kwargs)

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    data = encode(Image.new("RGB", (40, 30), (200, 120, 40)), "JPEG", icc_profile=SRGB_ICC)
    _, renditions = analyse(write("a.jpg", data))

    assert used == [SRGB_ICC]
    red, green, blue = rgb(rendition(renditions, "thumb"), (20, 15))
    assert abs(red - 200) < 8 and abs(green - 120) < 8 and abs(blue - 40) < 8


def test_it_falls_back_to_plain_conversion_when_the_icc_profile_is_broken(write: Write) -> None:
    data = encode(Image.new("RGB", (40, 30), (200, 120, 40)), "JPEG", icc_profile=b"not icc" * 20)
    _, renditions = analyse(write("a.jpg", data))
    red, green, blue = rgb(rendition(renditions, "thumb"), (20, 15))
    assert abs(red - 200) < 8 and abs(green - 120) < 8 and abs(blue - 40) < 8


# --- metadata ------------------------------------------------------------------------------------


def test_it_reads_the_camera_exif(write: Write) -> None:
    info, _ = analyse(write("a.jpg", jpeg(exif=camera_exif())))
    assert info.taken_at == datetime(2024, 5, 6, 7, 8, 9)
    assert (info.camera_make, info.camera_model, info.camera_serial) == (
        "Canon",
        "Canon EOS R5",
        "032021001234",
    )
    assert info.gps_latitude == pytest.approx(-(33 + 51 / 60 + 36 / 3600))
    assert info.gps_longitude == pytest.approx(-(151 + 12 / 60 + 54 / 3600))


def test_it_reports_absent_exif_as_empty(write: Write) -> None:
    info, _ = analyse(write("a.png", encode(picture(), "PNG")))
    assert info == ImageInfo("PNG", 300, 200, None, "", "", "", None, None)


def test_it_reports_odd_exif_values_as_empty(write: Write) -> None:
    exif = camera_exif()
    exif.get_ifd(0x8769)[0x9003] = "    :  :     :  :  "  # what cameras write without a clock
    exif.get_ifd(0x8825)[2] = (95.0, 0.0, 0.0)  # north of the pole
    info, _ = analyse(write("a.jpg", jpeg(exif=exif)))
    assert (info.taken_at, info.gps_latitude) == (None, None)
    assert info.gps_longitude == pytest.approx(-(151 + 12 / 60 + 54 / 3600))


# --- renditions ----------------------------------------------------------------------------------


def test_it_makes_a_thumb_and_a_preview_by_their_long_side(write: Write) -> None:
    _, renditions = analyse(write("a.jpg", jpeg((3000, 2000))))
    assert [(r.name, r.width, r.height) for r in renditions] == [
        ("thumb", 400, 267),
        ("preview", 2048, 1365),
    ]
    assert max(rendition(renditions, "preview").size) == RENDITION_SIZES["preview"]


def test_it_never_upscales_a_small_image(write: Write) -> None:
    _, renditions = analyse(write("a.jpg", jpeg((320, 240))))
    assert [(r.name, r.width, r.height) for r in renditions] == [
        ("thumb", 320, 240),
        ("preview", 320, 240),
    ]


@pytest.mark.parametrize("icc", [SRGB_ICC, b""], ids=["with-icc", "without-icc"])
def test_it_strips_all_metadata_from_the_renditions(write: Write, icc: bytes) -> None:
    data = jpeg(
        (600, 400),
        exif=camera_exif(),
        icc_profile=icc,
        comment=b"shot for the Smith wedding",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
    )
    source = Image.open(io.BytesIO(data))
    assert {"exif", "comment", "xmp"} <= set(source.info)
    assert ("icc_profile" in source.info) == bool(icc)

    _, renditions = analyse(write("a.jpg", data))
    for r in renditions:
        img = Image.open(io.BytesIO(r.data))
        assert dict(img.getexif()) == {}
        assert img.getexif().get_ifd(0x8825) == {}
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(img.info)
        assert jpeg_markers(r.data).count(0xE0) == 1  # JFIF only
        assert not {0xE1, 0xE2, 0xFE} & set(jpeg_markers(r.data))  # EXIF/XMP, ICC, comment


def test_it_decodes_big_jpegs_in_draft_mode(write: Write, draft_calls: list[Any]) -> None:
    img = picture((2000, 1500))
    img.paste((255, 0, 0), (0, 0, 1000, 1500))  # left half red, to check the decode is right
    path = write("a.jpg", encode(img, "JPEG", quality=90))

    info, renditions = analyse(path, sizes={"preview": 500, "thumb": 100})

    # 1/4 is the strongest DCT scaling that still covers a 500 px preview.
    assert draft_calls == [("RGB", (0, 0, 500.0, 375.0))]
    assert (info.width, info.height) == (2000, 1500)
    preview = rendition(renditions, "preview")
    assert preview.size == (500, 375)
    assert rendition(renditions, "thumb").size == (100, 75)
    red, green, blue = rgb(preview, (100, 200))
    assert red > 230 and green < 30 and blue < 30
