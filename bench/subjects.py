"""The QR-card benchmark (DESIGN §10): what scanning adds to the worker, and what it reads.

``run()`` returns (label, figure) rows: the worker's ``analyse_image`` on a 24 MP photo (6000x4000
JPEG, quality 90) without scanning, with the scan the worker does for an album with subjects (the
renditions' own decode at 3000x2000, which meets ``subjects.detect.MIN_SIDE``), and, for comparison, a scan of a
second decode at full size and of the 2048 px preview; then the share of cards read at each card
size (the QR symbol's width as a fraction of the frame width) by the worker's scan, by a scan at
full size and by one of the preview. The photos are the tests' synthetic ones
(``tests/subjects/cardimages.py``): a card turned up to 12 degrees, anywhere in the middle half of
the frame, blurred like a real lens at 24 MP (a Gaussian of 2.5 px), or sharp (1 px) for the small
sizes. Times are medians; nothing is written anywhere but a temp dir.
``python -m bench.subjects`` prints them on its own.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Row

ROOT = Path(__file__).resolve().parent.parent
SIZE = (6000, 4000)
LENS_BLUR = 2.5  # px at 24 MP: a good lens, focused on the child rather than the card
# (card size as a fraction of the frame width, blur in px at 24 MP): the promised range with a
# lens's blur, then small sharp cards, where the resolution of the decode is what counts.
CORPUS = [(size, LENS_BLUR) for size in (0.02, 0.03, 0.05, 0.08, 0.12, 0.2)] + [
    (size, 1.0) for size in (0.012, 0.015, 0.02, 0.03)
]


def _django() -> None:
    """Card codes need the portal's settings (the MAC secret); a bench run may not have set them up."""
    from django.conf import settings

    if not settings.configured:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
        import django

        django.setup()


def _median_time(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(*, photos_per_size: int = 8, repeat: int = 5) -> list[tuple[str, str]]:
    _django()
    from PIL import Image

    from albums import imaging
    from subjects import codes, detect
    from tests.subjects import cardimages

    rows: list[tuple[str, str]] = []
    job = "BENCHJOBAA"
    rng = random.Random(11)  # noqa: S311 - where synthetic cards go, not a secret
    scenes = [cardimages.scene(SIZE, seed=seed) for seed in range(4)]
    with tempfile.TemporaryDirectory(prefix="bench-subjects-") as folder:
        code = codes.code_for(job, 1)
        path = Path(folder, "card.jpg")
        path.write_bytes(cardimages.camera_jpeg(cardimages.with_card(scenes[0], code, size=0.03, blur=LENS_BLUR)))

        def plain() -> None:
            imaging.analyse_image(path, filename="card.jpg")

        def scanned() -> None:
            scanner = detect.Scanner(job_public_id=job)
            imaging.analyse_image(path, filename="card.jpg", inspect=scanner, inspect_side=detect.MIN_SIDE)
            assert scanner.found is not None and scanner.found.codes == [code]

        def full_size() -> None:
            assert detect.scan(path, job_public_id=job, side=max(SIZE)).codes == [code]  # full size, greyscale

        with Image.open(path) as img:
            img.draft("RGB", (3000, 2000))  # what analyse_image decodes for the renditions and the scan
            img.load()
            decoded = img.copy()
        preview = decoded.resize((2048, 1365), Image.Resampling.LANCZOS)

        before = _median_time(plain, repeat)
        after = _median_time(scanned, repeat)
        rows.append(("analyse_image 24 MP, album without subjects", f"{before:.3f} s"))
        rows.append(("analyse_image 24 MP + card scan (3000 px decode)", f"{after:.3f} s"))
        rows.append(("  card scan adds", f"{after - before:+.3f} s"))
        alone = _median_time(lambda: detect.scan(decoded, job_public_id=job), repeat)
        rows.append(("  (the scan alone, on that 3000 px decode)", f"{alone:.3f} s"))
        rows.append(("  (a second decode at 6000 px + scan)", f"{_median_time(full_size, repeat):.3f} s"))
        preview_time = _median_time(lambda: detect.scan(preview, job_public_id=job), repeat)
        rows.append(("  (scan of the 2048 px preview only)", f"{preview_time:.3f} s"))

        for size, blur in CORPUS:
            read = {"worker": 0, "full": 0, "preview": 0}
            for n in range(photos_per_size):
                code = codes.code_for(job, 100 + n)
                shot = cardimages.with_card(
                    scenes[n % len(scenes)],
                    code,
                    size=size,
                    angle=rng.uniform(-12, 12),
                    at=(rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)),
                    blur=blur,
                )
                path.write_bytes(cardimages.camera_jpeg(shot))
                scanner = detect.Scanner(job_public_id=job)
                imaging.analyse_image(path, filename="card.jpg", inspect=scanner, inspect_side=detect.MIN_SIDE)
                read["worker"] += scanner.found is not None and scanner.found.codes == [code]
                read["full"] += detect.scan(path, job_public_id=job, side=max(SIZE)).codes == [code]
                with Image.open(path) as img:
                    img.draft("RGB", (3000, 2000))
                    small = img.resize((2048, 1365), Image.Resampling.LANCZOS)
                read["preview"] += detect.scan(small, job_public_id=job).codes == [code]
            rows.append(
                (
                    f"cards read at {size:.1%} of the width, blur {blur:g} px",
                    f"{read['worker']}/{photos_per_size}"
                    f" (6000 px: {read['full']}/{photos_per_size}, 2048 px: {read['preview']}/{photos_per_size})",
                )
            )
    return rows


def rows(var: Path, quick: bool) -> list[Row]:
    """The timings as rows of the bench's table (no reference: scanning has no rival to race)."""
    out = []
    for label, figure in run(photos_per_size=2 if quick else 8, repeat=1 if quick else 5):
        number, _, unit = figure.partition(" ")
        if unit == "s":
            out.append(Row(f"QR cards: {label.strip()}", "s", float(number)))
        else:
            out.append(Row(f"QR cards: {label.strip()}", "read", float(number.split("/")[0]), note=figure))
    return out


if __name__ == "__main__":
    for label, figure in run():
        print(f"{label:<52} {figure}")
