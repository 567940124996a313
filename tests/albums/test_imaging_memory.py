"""albums.imaging's economies (issue 12): the file is read as it is decoded, the preview is
resampled in bands, colour conversion waits for the preview, renditions are baseline JPEGs; and
none of it changes what a photographer gets."""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat

from albums import imaging
from albums.imaging import ImageRejected, analyse_image
from tests.images import SRGB_ICC, encode, noisy_jpeg, picture


def _write(tmp_path: Path, data: bytes, name: str = "a.jpg") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_storage_error_while_the_image_is_read_is_raised_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, noisy_jpeg((1200, 900)))  # several read blocks
    read = imaging._UploadFile._read

    def failing_disk(self: imaging._UploadFile, buffer: Any) -> int | None:
        if self.tell() > 0:
            raise OSError(errno.EIO, "Input/output error")
        return read(self, buffer)

    monkeypatch.setattr(imaging._UploadFile, "_read", failing_disk)
    with pytest.raises(OSError) as caught:
        analyse_image(path, filename="a.jpg")
    assert caught.value.errno == errno.EIO


def test_no_more_than_the_limit_is_read_even_if_the_file_grew_after_its_size_was_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, noisy_jpeg((400, 300)))
    with imaging._UploadFile(path, 1000, "larger than 1000 bytes") as upload, pytest.raises(ImageRejected) as caught:
        io.BufferedReader(upload).read()
    assert caught.value.reason == "larger than 1000 bytes"


@pytest.mark.parametrize("size", [(3000, 2000), (2000, 3000), (2600, 1800)])
def test_the_preview_is_resampled_in_bands_that_join_seamlessly(size: tuple[int, int]) -> None:
    noisy = Image.open(io.BytesIO(noisy_jpeg(size)))
    banded = imaging._shrink(noisy, 2048)
    whole = noisy.resize(banded.size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    difference = ImageChops.difference(whole, banded).convert("L")
    # Pillow takes the box in 32-bit floats: a band may sit a hair off, never a visible seam.
    assert ImageStat.Stat(difference).mean[0] < 0.5
    rows = [ImageStat.Stat(difference.crop((0, y, banded.width, y + 1))).mean[0] for y in range(banded.height)]
    assert max(rows) < 1.0


def test_colours_are_converted_on_the_preview_not_on_the_whole_decode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    converted: list[tuple[int, int]] = []
    real = ImageCms.profileToProfile

    def spy(img: Image.Image, *args: Any, **kwargs: Any) -> Any:
        converted.append(img.size)
        return real(img, *args, **kwargs)

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    path = _write(tmp_path, encode(picture((4800, 3200)), "JPEG", icc_profile=SRGB_ICC))
    _, renditions = analyse_image(path, filename="a.jpg")
    assert converted == [(2048, 1365)]
    assert {(r.name, r.width, r.height) for r in renditions} == {("preview", 2048, 1365), ("thumb", 400, 267)}


def test_renditions_are_baseline_jpegs(tmp_path: Path) -> None:
    _, renditions = analyse_image(_write(tmp_path, noisy_jpeg((2400, 1600))), filename="a.jpg")
    for rendition in renditions:
        img = Image.open(io.BytesIO(rendition.data))
        assert img.format == "JPEG" and "progressive" not in img.info and "progression" not in img.info
