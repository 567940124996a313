"""``manage.py subjects import|cards|list|export`` (DESIGN §7), run as an operator runs them: a
process, files, exit status, errors as one sentence on stderr."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings

from albums.models import Album
from subjects import codes
from subjects.models import PhotoScan, Subject
from tests.jobs.test_commands import manage
from tests.subjects.test_export import assign, card_photo, make_photo

pytestmark = pytest.mark.django_db(transaction=True)

STUDIO, JOB = "Sunshine Studio", "job00001"


@pytest.fixture(autouse=True)
def _children_share_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child processes read and write the originals where this test session keeps them."""
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


def ok(*args: str, stdin: str = "") -> str:
    result = manage(*args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_roster_and_blank_cards_become_subjects_and_cards(album: Album, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_bytes("\ufeffName;Klasse;ID\nZoë Müller;Class 1;17\nBen Okafor;Class 2;18\nAnna Lind;;19\n".encode())

    imported = ok("subjects", "import", STUDIO, JOB, "Class 1", str(roster))
    blank = ok("subjects", "import", STUDIO, JOB, "class 2", "--blank", "2")
    piped = ok("subjects", "import", STUDIO, JOB, "Class 1", "-", stdin="name\nCleo Piped\n")

    assert imported.strip() == "3 subjects created: Class 1: 2 (1-2), Class 2: 1 (3-3)"
    assert blank.strip() == "2 subjects created: Class 2: 2 (4-5)"
    assert piped.strip() == "1 subject created: Class 1: 1 (6-6)"
    assert list(Subject.objects.values_list("album__name", "number", "name")) == [
        ("Class 1", 1, "Zoë Müller"),
        ("Class 1", 2, "Anna Lind"),
        ("Class 1", 6, "Cleo Piped"),
        ("Class 2", 3, "Ben Okafor"),
        ("Class 2", 4, ""),
        ("Class 2", 5, ""),
    ]
    assert all(codes.parse(s.code) for s in Subject.objects.all())

    pdf = tmp_path / "cards" / "Class 1.pdf"
    pdf.parent.mkdir()
    printed = ok("subjects", "cards", STUDIO, JOB, "Class 1", "--pdf", str(pdf))
    assert printed.startswith(f"3 cards on 1 page written to {pdf} (")
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert [p.name for p in pdf.parent.iterdir()] == ["Class 1.pdf"]  # no part file left behind


def test_bad_roster_lines_are_all_named_on_stderr_and_nothing_is_imported(album: Album, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("name,class\nAnna,Class 7\n,Class 1\nBen,Class 1,extra\n", encoding="utf-8")

    result = manage("subjects", "import", STUDIO, JOB, "Class 1", str(roster))

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "The roster was not imported (2 lines have errors):" in result.stderr
    assert "Line 3: the name is empty." in result.stderr
    assert "Line 4: 3 values, but the first line names 2 columns" in result.stderr
    assert not Subject.objects.exists()
    assert not Album.objects.filter(name="Class 7").exists()


def test_list_shows_subjects_with_their_photos_cards_and_flags(album: Album) -> None:
    ok("subjects", "import", STUDIO, JOB, "Class 1", "-", stdin="name\nZoë Müller\nBen Okafor\n")
    zoe, ben = Subject.objects.order_by("number")
    card = card_photo(album, "card.jpg", zoe, minute=1)
    portrait = assign(make_photo(album, "zoe.jpg", minute=2), zoe, flags=["long gap"])
    Subject.objects.filter(pk=ben.pk).update(flags=["card with no photos after it"])
    before = make_photo(album, "before.jpg", minute=0)
    PhotoScan.objects.create(photo=before, flags=["before the first card"])

    rows = json.loads(ok("subjects", "list", STUDIO, JOB, "--json"))
    assert [
        (r["album"], r["number"], r["name"], r["code"], r["photos"], r["card_photos"], r["flags"]) for r in rows
    ] == [
        ("Class 1", 1, "Zoë Müller", zoe.code, [{"id": portrait.pk, "filename": "zoe.jpg", "flags": ["long gap"]}],
         [{"id": card.pk, "filename": "card.jpg", "flags": []}], []),
        ("Class 1", 2, "Ben Okafor", ben.code, [], [], ["card with no photos after it"]),
        ("Class 1", None, "", None, [{"id": before.pk, "filename": "before.jpg", "flags": ["before the first card"]}],
         [], ["before the first card"]),
    ]  # fmt: skip
    assert json.loads(ok("subjects", "list", STUDIO, JOB, "--album", "CLASS 1", "--json")) == rows

    lines = ok("subjects", "list", STUDIO, JOB).splitlines()
    assert lines == [
        f"Class 1\t0001\tZoë Müller\t{zoe.code}\t1 photo, 1 card photo",
        f"Class 1\t0002\tBen Okafor\t{ben.code}\t0 photos  [card with no photos after it]",
        "Class 1\t----\t(no subject)\t\t1 photo  [before the first card]",
    ]


def test_export_writes_the_album_as_a_zip(album: Album, tmp_path: Path) -> None:
    ok("subjects", "import", STUDIO, JOB, "Class 1", "-", stdin="name\nZoë Müller\n")
    zoe = Subject.objects.get()
    card_photo(album, "card.jpg", zoe, minute=1)
    portrait = assign(make_photo(album, "zoe.jpg", minute=2), zoe)
    out = tmp_path / "class1.zip"

    said = ok("subjects", "export", STUDIO, JOB, "Class 1", "--zip", str(out))

    assert said.startswith(f"Class 1 exported to {out} (")
    archive = zipfile.ZipFile(io.BytesIO(out.read_bytes()))
    assert archive.namelist() == ["subjects.csv", "0001 Zoë Müller/zoe.jpg"]
    with portrait.original.open("rb") as f:
        assert archive.read("0001 Zoë Müller/zoe.jpg") == f.read()


def test_an_export_that_fails_leaves_no_zip_behind(album: Album, tmp_path: Path) -> None:
    photo = make_photo(album, "gone.jpg", minute=1)
    photo.original.delete(save=False)
    out = tmp_path / "class1.zip"

    result = manage("subjects", "export", STUDIO, JOB, "Class 1", "--zip", str(out))

    assert result.returncode == 1
    assert "The original of Class 1/gone.jpg could not be read" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "No Such Studio", JOB, "Class 1", "--blank", "2"), "There is no account named 'No Such Studio'."),
        (("import", STUDIO, "job99", "Class 1", "--blank", "2"), "has no job named 'job99'."),
        (("import", STUDIO, JOB, "Class 9", "--blank", "2"), "The job job00001 has no album named 'Class 9'."),
        (("import", STUDIO, JOB, "Class 1"), "Give a roster CSV file or --blank N (one of them)."),
        (("import", STUDIO, JOB, "Class 1", "roster.csv", "--blank", "2"), "Give a roster CSV file or --blank N"),
        (("import", STUDIO, JOB, "Class 1", "/nonexistent/roster.csv"), "Cannot read /nonexistent/roster.csv"),
        (("import", STUDIO, JOB, "Class 1", "--blank", "0"), "Make between 1 and 1000 blank cards"),
        (("cards", STUDIO, JOB, "Class 1", "--pdf", "/tmp/never.pdf"), "There are no subjects to print cards for"),
        (("export", STUDIO, JOB, "Class 1", "--zip", "/nonexistent/out.zip"), "Cannot write /nonexistent/out.zip"),
        (("list", STUDIO, JOB, "--album", "Class 9"), "has no album named 'Class 9'."),
    ],
)
def test_errors_are_one_sentence_on_stderr_with_a_nonzero_exit(
    album: Album, args: tuple[str, ...], message: str
) -> None:
    result = manage("subjects", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not Subject.objects.exists()
    assert not Path("/tmp/never.pdf").exists()
