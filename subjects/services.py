"""Writes for subjects: a roster imported from CSV, blank cards (DESIGN §10).

Numbers are unique per job, not only per album: a card's code is ``codes.code_for(job.public_id,
number)`` and codes must be unique across the portal, so the second album of a job continues where
the first one stopped (Class 1: 1-25, Class 2: 26-50). ``Subject.number`` is also unique per album
by its constraint; numbering per job satisfies both. The next number is the job's highest + 1,
taken under a lock on the job row, so two imports at once never hand out one number twice.

A roster is all or nothing: every line is checked first, and any bad line (its number and why)
fails the whole import, with nothing written.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max

from albums.models import Album
from albums.services import album_create, album_name_check
from audit.services import event_record
from jobs.exceptions import Invalid, PortalError
from jobs.models import PhotoJob
from subjects import codes
from subjects.models import Subject

logger = logging.getLogger(__name__)

NAME_MAX = Subject._meta.get_field("name").max_length or 200
EXTERNAL_ID_MAX = Subject._meta.get_field("external_id").max_length or 100
NUMBER_MAX = 999_999  # the card payload carries at most six digits (subjects.codes)
BLANK_MAX = 1000  # cards one request may make: a school, not a typo's worth of paper
ERRORS_SHOWN = 50  # a roster in the wrong format fails on every line; the first ones say enough

# Header names as rosters spell them (compared lower-case, with "_" and "-" read as spaces).
COLUMNS = {
    "name": ("name", "full name", "student name", "student", "pupil", "child"),
    "album": ("class", "album", "klasse", "class name", "classe"),
    "external_id": ("id", "external id", "externalid", "ext id", "student id"),
}
_COLUMN_OF = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
_DELIMITERS = (";", ",", "\t")


class RosterInvalid(Invalid):
    """A roster with bad lines; ``errors`` holds one sentence per line (the message joins them)."""

    def __init__(self, errors: Sequence[str]) -> None:
        shown = list(errors[:ERRORS_SHOWN])
        if len(errors) > ERRORS_SHOWN:
            shown.append(f"... and {len(errors) - ERRORS_SHOWN} more.")
        lines = "line has an error" if len(errors) == 1 else "lines have errors"
        super().__init__(f"The roster was not imported ({len(errors)} {lines}):\n" + "\n".join(shown))
        self.errors = list(errors)


@dataclass(frozen=True)
class RosterRow:
    line: int
    name: str
    album: str  # the class as written; "" for the default album
    external_id: str


# --- reading a roster -----------------------------------------------------------------------------


def _decode(roster: str | bytes) -> str:
    if isinstance(roster, str):
        return roster.removeprefix("\ufeff")
    try:
        return roster.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError as exc:
        line = roster[: exc.start].count(b"\n") + 1
        raise RosterInvalid([f"Line {line}: this is not UTF-8 text; save the roster as CSV UTF-8."]) from None


def _delimiter(text: str) -> str:
    """The delimiter of the header line: Excel writes ";" where the decimal mark is a comma."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return max(_DELIMITERS, key=header.count) if any(d in header for d in _DELIMITERS) else ","


def _header_key(cell: str) -> str:
    return " ".join(cell.replace("_", " ").replace("-", " ").lower().split())


def _columns(cells: list[str], line: int) -> tuple[dict[str, int], list[str]]:
    """Which cell holds which column, and the header's errors."""
    found: dict[str, int] = {}
    errors = []
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        if not key:
            continue  # a trailing delimiter; a value below it is an error of that line
        column = _COLUMN_OF.get(key)
        if column is None:
            accepted = "; ".join(f"{c}: {', '.join(a)}" for c, a in COLUMNS.items())
            errors.append(f"Line {line}: unknown column {cell.strip()!r} (the columns are {accepted}).")
        elif column in found:
            errors.append(f"Line {line}: the column {cell.strip()!r} appears twice.")
        else:
            found[column] = index
    if "name" not in found and not errors:
        errors.append(f"Line {line}: there is no name column; the first line must name the columns (name, class, id).")
    return found, errors


def _read(roster: str | bytes) -> tuple[list[RosterRow], list[tuple[int, str]]]:
    """The good rows of a roster, and (line, error) for the bad ones; a roster with no usable header raises.

    Checks what the file alone can tell: the columns, empty names, lengths, stray values. Blank
    lines are skipped.
    """
    text = _decode(roster)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    columns: dict[str, int] | None = None
    rows: list[RosterRow] = []
    errors: list[tuple[int, str]] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns, header_errors = _columns(cells, line)
                if header_errors:
                    raise RosterInvalid(header_errors)
                continue
            row, row_errors = _row(cells, columns, line)
            errors.extend((line, e) for e in row_errors)
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        errors.append((reader.line_num, f"Line {reader.line_num}: {exc}."))
    if not rows and not errors:
        raise Invalid("The roster has no one in it: after the line naming the columns, put one line per person.")
    return rows, errors


def _row(cells: list[str], columns: dict[str, int], line: int) -> tuple[RosterRow | None, list[str]]:
    used = set(columns.values())
    stray = [i for i, cell in enumerate(cells) if cell.strip() and i not in used]
    if stray:
        count = len(columns)
        return None, [
            f"Line {line}: {len([c for c in cells if c.strip()])} values, but the first line names {count} "
            f"column{'s' if count != 1 else ''} (a name with an unquoted delimiter in it?)."
        ]

    def value(column: str) -> str:
        index = columns.get(column)
        return " ".join(cells[index].split()) if index is not None and index < len(cells) else ""

    name, album, external_id = value("name"), value("album"), value("external_id")
    errors = []
    if not name:
        errors.append(f"Line {line}: the name is empty.")
    elif len(name) > NAME_MAX:
        errors.append(f"Line {line}: the name is longer than {NAME_MAX} characters.")
    if len(external_id) > EXTERNAL_ID_MAX:
        errors.append(f"Line {line}: the id is longer than {EXTERNAL_ID_MAX} characters.")
    if errors:
        return None, errors
    return RosterRow(line=line, name=name, album=album, external_id=external_id), []


# --- writes ---------------------------------------------------------------------------------------


def _lock_next_number(job: PhotoJob, count: int) -> int:
    """The first of ``count`` free numbers of ``job``; call inside a transaction (the job row stays locked)."""
    PhotoJob.objects.select_for_update().filter(pk=job.pk).first()
    highest = Subject.objects.filter(album__job_id=job.pk).aggregate(n=Max("number"))["n"] or 0
    if highest + count > NUMBER_MAX:
        raise Invalid(f"A job holds at most {NUMBER_MAX} subjects; this would make {highest + count}.")
    return highest + 1


def _new_subjects(job: PhotoJob, album: Album, people: Sequence[tuple[str, str]], first: int) -> list[Subject]:
    subjects = [
        Subject(
            album=album,
            number=number,
            name=name,
            external_id=external_id,
            code=codes.code_for(job.public_id, number),
        )
        for number, (name, external_id) in enumerate(people, start=first)
    ]
    made = Subject.objects.bulk_create(subjects)
    from subjects.tasks import scan_album_later  # photos already in the album get scanned for cards

    scan_album_later(album.pk)
    return made


@transaction.atomic
def subjects_import(*, roster: str | bytes, album: Album | None = None, job: PhotoJob | None = None) -> list[Subject]:
    """Create the subjects of a roster CSV (columns name, class, id; UTF-8, ``;`` or ``,``) and return them.

    ``album`` takes the rows with no class; a row's class names an album of ``job`` (``album.job``
    when only ``album`` is given), matched case-insensitively and created when missing. Each album's
    new subjects get consecutive numbers, in the roster's order, continuing the job's numbering (see
    the module docstring). An id already imported into the job, or twice in the roster, is an error
    of its line, so importing one roster twice changes nothing. All or nothing: ``RosterInvalid``
    (an ``Invalid``) lists every bad line.
    """
    if job is None:
        if album is None:
            raise Invalid("Name the job or the album to import the roster into.")
        job = album.job
    elif album is not None and album.job_id != job.pk:
        raise Invalid(f"The album {album.name!r} is not an album of the job {job.internal_name}.")
    rows, errors = _read(roster)
    first_number = _lock_next_number(job, len(rows))

    existing = {a.name.lower(): a for a in Album.objects.filter(job=job)}
    taken_ids = {
        s.external_id: s for s in Subject.objects.filter(album__job=job).exclude(external_id="").select_related("album")
    }
    seen_ids: dict[str, int] = {}
    target: dict[int, str] = {}  # line -> album key
    new_albums: dict[str, str] = {}  # album key -> name as first written
    for row in rows:
        problems = []
        if row.album:
            key = row.album.lower()
            if key not in existing and key not in new_albums:
                try:
                    new_albums[key] = album_name_check(job=job, name=row.album)
                except PortalError as exc:
                    problems.append(f"the class {row.album!r} cannot be an album: {exc.message}")
            target[row.line] = key
        elif album is not None:
            target[row.line] = album.name.lower()
            existing.setdefault(album.name.lower(), album)
        else:
            problems.append("there is no class, and no album was named for rows without one.")
        if row.external_id in seen_ids:
            problems.append(f"the id {row.external_id!r} is on line {seen_ids[row.external_id]} too.")
        elif row.external_id in taken_ids:
            other = taken_ids[row.external_id]
            problems.append(f"the id {row.external_id!r} was imported before ({other} in {other.album.name}).")
        if row.external_id:
            seen_ids.setdefault(row.external_id, row.line)
        errors.extend((row.line, f"Line {row.line}: {problem}") for problem in problems)
    if errors:
        raise RosterInvalid([message for _, message in sorted(errors, key=lambda e: e[0])])

    for key, name in new_albums.items():
        existing[key] = album_create(job=job, name=name)
    by_album: dict[str, list[RosterRow]] = {}
    for row in rows:
        by_album.setdefault(target[row.line], []).append(row)
    created: list[Subject] = []
    for key, album_rows in by_album.items():
        people = [(row.name, row.external_id) for row in album_rows]
        created += _new_subjects(job, existing[key], people, first_number + len(created))
    event_record(
        action="subjects.import",
        account=job.account_id,
        target=job,
        detail={"subjects": len(created), "albums": sorted(existing[key].name for key in by_album)},
    )
    logger.info("roster imported into job %s: %d subjects in %d albums", job.pk, len(created), len(by_album))
    return created


@transaction.atomic
def subjects_blank(*, album: Album, count: int) -> list[Subject]:
    """Create ``count`` subjects with no name (blank cards: the photographer writes the name on them).

    They continue the job's numbering (see the module docstring).
    """
    if not 1 <= count <= BLANK_MAX:
        raise Invalid(f"Make between 1 and {BLANK_MAX} blank cards at a time (asked for {count}).")
    job = album.job
    first_number = _lock_next_number(job, count)
    created = _new_subjects(job, album, [("", "")] * count, first_number)
    event_record(action="subjects.blank", account=job.account_id, target=album, detail={"subjects": count})
    logger.info("%d blank subjects made in album %s", count, album.pk)
    return created
