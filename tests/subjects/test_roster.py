"""Roster import and blank cards (``subjects.services``): numbers per job, codes, all-or-nothing errors."""

from __future__ import annotations

import pytest

from albums.models import Album
from jobs import services as jobs
from jobs.exceptions import Forbidden, Invalid
from jobs.models import PhotoJob
from subjects import codes
from subjects.models import Subject
from subjects.services import RosterInvalid, subjects_blank, subjects_import

pytestmark = pytest.mark.django_db


def test_a_roster_makes_a_subject_per_line_and_an_album_per_class(album: Album, planned_job: PhotoJob) -> None:
    roster = "\ufeffName;Klasse;ID\r\nZoë Müller;Class 1;A-17\r\nBen Okafor;Class 2;A-18\r\nAnna Lind;;A-19\r\n"

    created = subjects_import(album=album, roster=roster.encode("utf-8"))

    assert [(s.album.name, s.number, s.name, s.external_id) for s in created] == [
        ("Class 1", 1, "Zoë Müller", "A-17"),
        ("Class 1", 2, "Anna Lind", "A-19"),  # no class: the album the import was started from
        ("Class 2", 3, "Ben Okafor", "A-18"),
    ]
    assert Album.objects.get(job=planned_job, name="Class 2").created_by is None
    for subject in Subject.objects.all():
        assert subject.code == codes.code_for(planned_job.public_id, subject.number)
        assert codes.parse(subject.code) == codes.Card(planned_job.public_id, subject.number)


@pytest.mark.parametrize(
    "header",
    ["name,class,id", "Name,Album,external_id", "NAME,KLASSE,External ID", "name,class,external-id", "name,class"],
)
def test_it_reads_the_usual_header_names(album: Album, header: str) -> None:
    values = "Zoë Müller,Class 1,17" if header.count(",") == 2 else "Zoë Müller,Class 1"
    [subject] = subjects_import(album=album, roster=f"{header}\n{values}\n")
    assert (subject.name, subject.album, subject.external_id) == (
        "Zoë Müller",
        album,
        "17" if header.count(",") == 2 else "",
    )


def test_it_sniffs_the_delimiter_and_keeps_quoted_ones(album: Album) -> None:
    semicolons = subjects_import(album=album, roster='name;class\n"Müller; Anna";class 1\n')
    commas = subjects_import(album=album, roster='name,class\n"Müller, Ben",CLASS 1\n')
    tabs = subjects_import(album=album, roster="name\tclass\nCleo Tab\tClass 1\n")
    assert [s.name for s in semicolons + commas + tabs] == ["Müller; Anna", "Müller, Ben", "Cleo Tab"]
    assert {s.album for s in semicolons + commas + tabs} == {album}  # classes match case-insensitively


def test_blank_lines_and_extra_spaces_do_not_count(album: Album) -> None:
    created = subjects_import(album=album, roster="name;class\n\n  Zoë   Müller ; Class 1 \n;\n\n")
    assert [s.name for s in created] == ["Zoë Müller"]


def test_numbers_are_unique_per_job_so_every_code_is_unique(album: Album, planned_job: PhotoJob) -> None:
    first = subjects_import(album=album, roster="name;class\nAnna;Class 1\nBen;Class 2\n")
    blank = subjects_blank(album=Album.objects.get(name="Class 2"), count=2)
    again = subjects_import(album=album, roster="name\nCleo\n")

    assert [s.number for s in first + blank + again] == [1, 2, 3, 4, 5]
    other_job = jobs.job_create(account=planned_job.account, internal_name="job00002")
    [elsewhere] = subjects_blank(album=Album.objects.create(job=other_job, name="Class 1"), count=1)
    assert elsewhere.number == 1  # another job starts again: its public id keeps the code unique
    assert len({s.code for s in Subject.objects.all()}) == Subject.objects.count() == 6


def test_blank_cards_have_numbers_and_codes_but_no_names(album: Album, planned_job: PhotoJob) -> None:
    created = subjects_blank(album=album, count=3)
    assert [(s.number, s.name, s.code) for s in created] == [
        (n, "", codes.code_for(planned_job.public_id, n)) for n in (1, 2, 3)
    ]


@pytest.mark.parametrize("count", [0, -1, 1001])
def test_it_refuses_a_silly_number_of_blank_cards(album: Album, count: int) -> None:
    with pytest.raises(Invalid, match="between 1 and 1000"):
        subjects_blank(album=album, count=count)
    assert not Subject.objects.exists()


def test_every_bad_line_is_named_and_nothing_is_imported(album: Album, planned_job: PhotoJob) -> None:
    roster = "\n".join(
        [
            "name;class;id",
            "Anna Lind;Class 9;1",  # fine, and its new album must not appear either
            ";Class 1;2",
            "x" * 201 + ";Class 1;3",
            "Ben;Class 1;" + "7" * 101,
            "Cleo;Class 1;4;extra",
            "Dana;a/b;5",
            "Emil;Class 1;1",
        ]
    )
    with pytest.raises(RosterInvalid) as raised:
        subjects_import(album=album, roster=roster)

    assert raised.value.errors == [
        "Line 3: the name is empty.",
        "Line 4: the name is longer than 200 characters.",
        "Line 5: the id is longer than 100 characters.",
        "Line 6: 4 values, but the first line names 3 columns (a name with an unquoted delimiter in it?).",
        "Line 7: the class 'a/b' cannot be an album: 'a/b': names cannot contain '/' or '\\'.",
        "Line 8: the id '1' is on line 2 too.",
    ]
    assert raised.value.message.startswith("The roster was not imported (6 lines have errors):\nLine 3: ")
    assert not Subject.objects.exists()
    assert list(Album.objects.filter(job=planned_job).values_list("name", flat=True)) == ["Class 1"]


def test_an_unknown_column_is_an_error_of_the_first_line(album: Album) -> None:
    with pytest.raises(RosterInvalid) as raised:
        subjects_import(album=album, roster="name;class;birthday\nAnna;Class 1;2017-03-01\n")
    [error] = raised.value.errors
    assert error.startswith("Line 1: unknown column 'birthday' (the columns are name: name, full name")
    assert not Subject.objects.exists()


def test_a_roster_without_a_header_is_refused_with_the_reason(album: Album) -> None:
    with pytest.raises(RosterInvalid, match="Line 1: unknown column 'Anna Lind'"):
        subjects_import(album=album, roster="Anna Lind;Class 1\n")
    with pytest.raises(RosterInvalid, match="Line 1: there is no name column"):
        subjects_import(album=album, roster="class;id\nClass 1;4\n")


def test_a_roster_that_is_not_utf8_names_the_line(album: Album) -> None:
    roster = "name;class\nAnna;Class 1\nZoë Müller;Class 1\n".encode("cp1252")
    with pytest.raises(RosterInvalid, match=r"Line 3: this is not UTF-8 text; save the roster as CSV UTF-8\."):
        subjects_import(album=album, roster=roster)


def test_an_empty_roster_is_refused(album: Album) -> None:
    with pytest.raises(Invalid, match="no one in it"):
        subjects_import(album=album, roster="name;class\n\n")


def test_importing_a_roster_twice_changes_nothing_the_second_time(album: Album) -> None:
    roster = "name;id\nAnna;17\nBen;18\n"
    subjects_import(album=album, roster=roster)
    with pytest.raises(RosterInvalid) as raised:
        subjects_import(album=album, roster=roster)
    assert raised.value.errors == [
        "Line 2: the id '17' was imported before (0001 Anna in Class 1).",
        "Line 3: the id '18' was imported before (0002 Ben in Class 1).",
    ]
    assert Subject.objects.count() == 2


def test_a_roster_needs_an_album_for_rows_without_a_class(planned_job: PhotoJob) -> None:
    with pytest.raises(RosterInvalid, match="Line 3: there is no class, and no album was named"):
        subjects_import(job=planned_job, roster="name,class\nAnna,Class 1\nBen,\n")
    assert not Album.objects.exists()


def test_a_closed_job_gets_no_new_albums_and_nothing_is_imported(album: Album, planned_job: PhotoJob) -> None:
    jobs.job_set_status(job=planned_job, status=PhotoJob.Status.ACTIVE)
    album.refresh_from_db()
    with pytest.raises(Forbidden, match="closed for uploads"):
        subjects_import(album=album, roster="name;class\nAnna;Class 1\nBen;Class 2\n")
    assert not Subject.objects.exists()
    # Existing albums of a closed job still take subjects: cards are printed before and after the shoot.
    assert [s.number for s in subjects_import(album=album, roster="name\nAnna\n")] == [1]
