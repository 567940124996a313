"""The image step next to pyvips (issue 12): seconds, CPU seconds and peak RSS per 24 MP photo.

``rows(var, quick)`` makes camera-like 24 MP JPEGs (6000x4000, quality 90, EXIF of a camera; a
gradient, blobs of colour, coarse blotches and per-pixel grain, so they compress like a photo of
about 6.5 MB rather than like a flat colour) and runs, in alternating rounds, two worker-like
processes over the same photos: the portal's image step (``albums.imaging.analyse_image``: full
verified decode, EXIF, thumbnail 400 px and preview 2048 px long side, sRGB, JPEG q85, no
metadata; what a worker does per photo minus the database and storage) and pyvips doing that job
the way a vips user would (``pyvips.Image.thumbnail`` from the file for each size, shrink-on-load,
``fail_on="truncated"``, ``export_profile="srgb"``, ``jpegsave_buffer(Q=85, strip=True)``; libvips'
default thread pool). Each process is fresh (``python -m bench.images --child portal|vips ...``)
and loads what a portal worker loads (Django set up with the portal's settings, ``albums.tasks``)
before its photos, so its peak RSS (VmHWM, read by the process itself at the end) is that of a worker process after
N photos, counting the shared pages a ps listing counts too. The first photo of each process
is a warm-up and not timed.

``python -m bench.images [--quick]`` prints the rows on their own.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import Row, alternate, median_row, print_table

ROOT = Path(__file__).resolve().parent.parent
SIZE = (6000, 4000)
QUALITY = 90
SIDES = (2048, 400)  # the portal's preview and thumbnail (albums.imaging.RENDITION_SIZES)


def photo_jpeg(seed: int, size: tuple[int, int] = SIZE) -> bytes:
    """A camera-like JPEG: the same bytes for the same seed."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)  # noqa: S311 - picture content, not a secret
    width, height = size
    tint = Image.new("RGB", size, (rng.randrange(60, 200), rng.randrange(60, 200), rng.randrange(60, 200)))
    img = Image.blend(Image.linear_gradient("L").resize(size).convert("RGB"), tint, 0.6)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        rx, ry = rng.randrange(width // 16, width // 4), rng.randrange(height // 16, height // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=colour)
    coarse = Image.frombytes("RGB", (width // 8, height // 8), rng.randbytes((width // 8) * (height // 8) * 3))
    img = Image.blend(img, coarse.resize(size, Image.Resampling.BICUBIC), 0.15)
    grain = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    img = Image.blend(img, grain, 0.06)
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R6"
    exif.get_ifd(0x8769)[0x9003] = f"2026:05:06 09:{seed // 60 % 60:02d}:{seed % 60:02d}"
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY, exif=exif)
    return out.getvalue()


def write_photos(folder: Path, count: int, *, first_seed: int = 0) -> list[Path]:
    """``count`` distinct photos in ``folder``; made once per seed and copied, since making one takes seconds."""
    folder.mkdir(parents=True, exist_ok=True)
    distinct = min(count, 4)
    made = [photo_jpeg(first_seed + i) for i in range(distinct)]
    paths = []
    for i in range(count):
        path = folder / f"IMG_{first_seed + i:04d}.jpg"
        # Copies differ in their last bytes (a comment after EOI is ignored by decoders), so every
        # file is distinct for the portal's duplicate detection.
        path.write_bytes(made[i % distinct] + f"copy {i}".encode())
        paths.append(path)
    return paths


# --- the two sides, each in its own worker-like process --------------------------------------------


def _portal_step(path: Path) -> None:
    from albums import imaging

    imaging.analyse_image(path, filename=path.name)


def _vips_step(path: Path) -> None:
    import pyvips  # type: ignore[import-untyped]

    for side in SIDES:
        image = pyvips.Image.thumbnail(str(path), side, export_profile="srgb", fail_on="truncated")
        image.jpegsave_buffer(Q=85, strip=True)


def _child(side: str, paths: list[Path]) -> None:
    """One side over ``paths``, after loading what a worker loads; prints per-photo seconds as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import albums.tasks  # noqa: F401 - a worker has it (and all it imports) loaded

    if side == "vips":
        import pyvips  # noqa: F401

    step = _portal_step if side == "portal" else _vips_step
    walls, cpus = [], []
    for path in paths:
        cpu = time.process_time()
        start = time.perf_counter()
        step(path)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    print(json.dumps({"wall": walls[1:], "cpu": cpus[1:], "peak_kib": peak_rss_kib()}))


def peak_rss_kib(pid: int | str = "self") -> int:
    """A process's peak resident set (VmHWM) in KiB.

    Not ``ru_maxrss``: Linux carries a process's maximum over fork and exec, so a child of a big
    parent would report the parent's size.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def _run_child(side: str, paths: list[Path], var: Path) -> tuple[float, float, float]:
    """Median wall and CPU seconds per photo (warm-up left out) and the process's peak RSS in MiB."""
    env = {
        **os.environ,
        "PORTAL_VAR_DIR": str(var),
        "DEBUG": "False",
        "SECRET_KEY": "bench-images-throw-away-key",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.images", "--child", side, *map(str, paths)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    if proc.wait():
        raise RuntimeError(f"bench.images child {side} exited with {proc.returncode}")
    figures = json.loads(output)
    return statistics.median(figures["wall"]), statistics.median(figures["cpu"]), figures["peak_kib"] / 1024


def _vips_version() -> str:
    try:
        import pyvips
    except (ImportError, OSError) as exc:
        return f"unavailable ({exc})"
    return f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, pyvips {pyvips.__version__}"


def rows(var: Path, quick: bool) -> list[Row]:
    rounds, photos = (3, 4) if quick else (5, 8)
    vips = _vips_version()
    with tempfile.TemporaryDirectory(prefix="bench-images-", dir=var) as tmp:
        folder = Path(tmp)
        paths = write_photos(folder / "photos", photos)
        size_mb = paths[0].stat().st_size / 1e6
        figures: dict[str, list[tuple[float, float, float]]] = {"portal": [], "vips": []}

        def side(name: str) -> float:
            figures[name].append(_run_child(name, paths, folder / "var"))
            return figures[name][-1][0]

        reference = None if vips.startswith("unavailable") else (lambda i: side("vips"))
        alternate(rounds, lambda i: side("portal"), reference)
    mine, theirs = figures["portal"], figures["vips"]
    where = f"{photos} photos of 6000x4000 ({size_mb:.1f} MB, q{QUALITY}) per process, the first a warm-up"
    where += f"; libvips {vips}"

    def column(side: list[tuple[float, float, float]], k: int) -> list[float]:
        return [figure[k] for figure in side]

    return [
        median_row(
            "image step, 24 MP JPEG to both renditions",
            "s/photo",
            column(mine, 0),
            column(theirs, 0) or None,
            reference_name="pyvips",
            target="<= 1.0",
            note=f"wall seconds per photo, median per process, median of rounds; {where}",
        ),
        median_row(
            "image step CPU, 24 MP JPEG",
            "CPU s/photo",
            column(mine, 1),
            column(theirs, 1) or None,
            reference_name="pyvips",
            note="user+system CPU seconds per photo (libvips uses its thread pool, the portal one thread): "
            "what bounds photos/s when every core runs a worker process",
        ),
        median_row(
            "peak RSS of a worker-like process",
            "MiB",
            column(mine, 2),
            column(theirs, 2) or None,
            reference_name="pyvips",
            note="VmHWM of a fresh process that set up Django with the portal's settings and imported "
            f"albums.tasks (as a Celery pool process has), then did {photos} photos; the real pool "
            "processes' figure is in the intake rows",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.images")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", choices=["portal", "vips"])
    parser.add_argument("photos", nargs="*", type=Path)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.photos)
        return
    with tempfile.TemporaryDirectory(prefix="bench-images-") as var:
        print_table(rows(Path(var), args.quick))


if __name__ == "__main__":
    main()
