"""``python manage.py subjects import|cards|list|export ...`` (DESIGN §7): QR-card subjects for operators.

``import ACCOUNT JOB ALBUM ROSTER.csv`` (``-`` reads standard input) or ``import ... --blank N``;
``cards ... --pdf OUT.pdf``; ``list ACCOUNT JOB [--album A] [--json]``; ``export ... --zip OUT.zip``.
Output files are written next to their name and renamed into place when complete, so a failed run
never leaves half a PDF or ZIP behind.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from jobs import selectors as jobs
from jobs.management.commands._base import ServiceCommand
from jobs.models import PhotoJob
from subjects import cards, export, selectors, services
from subjects.models import Subject


def _write(path: str, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to ``path`` through a temporary sibling; returns the bytes written."""
    target = Path(path)
    part = target.with_name(f".{target.name}.part")
    size = 0
    try:
        with open(part, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                size += len(chunk)
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return size


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _ranges(subjects: list[Subject]) -> str:
    """``Class 1: 25 (1-25), Class 2: 3 (26-28)``."""
    by_album: dict[str, list[int]] = {}
    for s in subjects:
        by_album.setdefault(s.album.name, []).append(s.number)
    return ", ".join(f"{name}: {len(n)} ({min(n)}-{max(n)})" for name, n in by_album.items())


class Command(ServiceCommand):
    help = "Subjects from QR cards: import a roster or make blank cards, print the cards, list, export."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="create subjects from a roster CSV, or blank ones")
        self._where(imp)
        imp.add_argument("roster", nargs="?", help="CSV with columns name, class, id ('-': standard input)")
        imp.add_argument("--blank", type=int, metavar="N", help="make N blank cards instead")
        cards_parser = sub.add_parser("cards", help="the album's cards as a PDF")
        self._where(cards_parser)
        cards_parser.add_argument("--pdf", required=True, dest="pdf_path", metavar="OUT.pdf")
        listing = sub.add_parser("list", help="subjects with their photos and flags")
        listing.add_argument("account")
        listing.add_argument("job")
        listing.add_argument("--album")
        listing.add_argument("--json", action="store_true", dest="as_json", help="print one JSON array")
        exp = sub.add_parser("export", help="the album as a ZIP, a folder per subject")
        self._where(exp)
        exp.add_argument("--zip", required=True, dest="zip_path", metavar="OUT.zip")

    @staticmethod
    def _where(parser: CommandParser) -> None:
        parser.add_argument("account")
        parser.add_argument("job")
        parser.add_argument("album")

    def _job(self, account: str, job: str) -> PhotoJob:
        return jobs.job_get(account=jobs.account_get(name=account), internal_name=job)

    def handle_import(
        self, *, account: str, job: str, album: str, roster: str | None, blank: int | None, **options: Any
    ) -> None:
        if (roster is None) == (blank is None):
            raise CommandError("Give a roster CSV file or --blank N (one of them).")
        target = selectors.album_get(job=self._job(account, job), name=album)
        if blank is not None:
            created = services.subjects_blank(album=target, count=blank)
        else:
            created = services.subjects_import(album=target, roster=self._read(roster or "-"))
        self.stdout.write(f"{_count(len(created), 'subject')} created: {_ranges(created)}")

    @staticmethod
    def _read(path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read()
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None

    def handle_cards(self, *, account: str, job: str, album: str, pdf_path: str, **options: Any) -> None:
        target = selectors.album_get(job=self._job(account, job), name=album)
        subjects = list(Subject.objects.filter(album=target).select_related("album__job").order_by("number"))
        size = _write(pdf_path, [cards.cards_pdf(subjects)])
        pages = _count(cards.pages_for(len(subjects)), "page")
        self.stdout.write(f"{_count(len(subjects), 'card')} on {pages} written to {pdf_path} ({size} bytes)")

    def handle_list(self, *, account: str, job: str, album: str | None, as_json: bool, **options: Any) -> None:
        photo_job = self._job(account, job)
        target = selectors.album_get(job=photo_job, name=album) if album else None
        rows = selectors.subjects_json(photo_job, target)
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for r in rows:
            number = f"{r['number']:04d}" if r["number"] is not None else "----"
            name = r["name"] if r["number"] is not None else "(no subject)"
            cards_seen = f", {_count(len(r['card_photos']), 'card photo')}" if r["card_photos"] else ""
            flags = f"  [{', '.join(map(str, r['flags']))}]" if r["flags"] else ""
            photos = f"{_count(len(r['photos']), 'photo')}{cards_seen}{flags}"
            self.stdout.write(f"{r['album']}\t{number}\t{name}\t{r['code'] or ''}\t{photos}")

    def handle_export(self, *, account: str, job: str, album: str, zip_path: str, **options: Any) -> None:
        target = selectors.album_get(job=self._job(account, job), name=album)
        size = _write(zip_path, export.album_zip(target))
        self.stdout.write(f"{target.name} exported to {zip_path} ({size} bytes)")
