"""DESIGN §3 over FTP and FTPS (Python's ftplib): the same tree, refusals and sentences as SFTP, as FTP
reply codes; logins, TLS rules and the camera quirks of DESIGN §8."""

from __future__ import annotations

import ftplib
import hashlib
import io
import socket
import ssl
import time
from typing import cast

import pytest

from albums.models import Photo, Upload
from jobs import services
from tests.conftest import PASSWORD
from tests.ftpd.conftest import ftps, get, plain_ftp, put, refusal, tls_context
from tests.images import jpeg
from tree import refusals

ALBUM = "/job00001/Class 1"


def code(error: ftplib.Error) -> int:
    return int(str(error)[:3])


def text(error: ftplib.Error) -> str:
    return str(error)[4:]


def test_the_greeting_comes_once_and_names_no_version(ftp_server) -> None:
    for _ in range(20):
        with socket.create_connection((ftp_server.host, ftp_server.port), timeout=10) as sock:
            sock.settimeout(0.5)
            received = b""
            try:
                while chunk := sock.recv(4096):
                    received += chunk
            except TimeoutError:
                pass
        assert received.count(b"220") == 1, received  # lftp and busybox break on a second one
        assert b"pyftpdlib" not in received and b"2.2" not in received


def test_the_tree_over_ftps_is_the_tree_over_sftp(ftp_server, ftp_user, planned_job, account, outsider_account) -> None:
    services.job_create(account=account, internal_name="job00002", status="active")
    services.job_create(account=outsider_account, internal_name="job00003")
    data = jpeg(size=(640, 480))
    with ftps(ftp_server) as ftp:
        assert ftp.pwd() == "/" and ftp.nlst("/") == ["job00001"]
        assert ftp.mkd("/job00001/Class 1") == "/job00001/Class 1"
        ftp.cwd(ALBUM)
        assert ftp.pwd() == ALBUM
        put(ftp, "a.jpg", data)
        put(ftp, "GROUP/Müller Anna.jpg", data[::-1])  # section folders are case-insensitive; UTF-8 names
        assert sorted(ftp.nlst()) == ["a.jpg", "group", "individuals"]
        assert ftp.nlst("group") == ["Müller Anna.jpg"]
        assert ftp.size("a.jpg") == len(data) and get(ftp, "a.jpg") == data
        facts = dict(ftp.mlsd("/job00001"))
        assert facts["Class 1"]["type"] == "dir"
        lines: list[str] = []
        ftp.retrlines("LIST", lines.append)
        assert any(line.startswith("-rw-r--r--") and line.endswith(" a.jpg") for line in lines)
        assert any(line.startswith("drwxr-xr-x") and line.endswith(" group") for line in lines)
        ftp.cwd("..")
        assert ftp.pwd() == "/job00001"
    uploads = {u.filename: u for u in Upload.objects.all()}
    assert uploads["a.jpg"].door == "ftps" and uploads["a.jpg"].section == "individuals"
    assert uploads["Müller Anna.jpg"].section == "group"
    assert uploads["a.jpg"].sha256 == hashlib.sha256(data).hexdigest()
    assert uploads["a.jpg"].source_path == "/job00001/Class 1/a.jpg"


def test_every_refusal_has_the_trees_sentence_and_an_ftp_code(
    ftp_server, ftp_user, planned_job, album, outsider_account
) -> None:
    services.job_create(account=outsider_account, internal_name="job00009")
    with ftps(ftp_server) as ftp:
        cases = {
            "new job": (refusal(ftp.mkd, "/job99999"), 550, refusals.JOBS_BY_STUDIO),
            "file at top": (refusal(put, ftp, "/photo.jpg", b"x"), 550, refusals.NO_FILES_AT_TOP),
            "file in job": (refusal(put, ftp, "/job00001/photo.jpg", b"x"), 550, refusals.NO_FILES_IN_JOB),
            "folder in album": (refusal(ftp.mkd, f"{ALBUM}/extra"), 550, refusals.ONLY_SECTION_FOLDERS),
            "remove job": (refusal(ftp.rmd, "/job00001"), 550, refusals.JOB_FOLDERS_FIXED),
            "rename section": (
                refusal(ftp.rename, f"{ALBUM}/group", f"{ALBUM}/gruppe"),
                550,
                refusals.SECTION_FOLDERS_FIXED,
            ),
            "other account": (refusal(ftp.cwd, "/job00009"), 550, refusals.no_job("job00009")),
            "missing folder": (
                refusal(put, ftp, "/job00001/Class 9/a.jpg", b"x"),
                550,
                refusals.no_album("Class 9", "job00001"),
            ),
            "missing file": (refusal(ftp.size, f"{ALBUM}/nothing.jpg"), 550, refusals.no_file("nothing.jpg")),
        }
        for name, (error, expected_code, sentence) in cases.items():
            assert (code(error), text(error)) == (expected_code, sentence), name
        for bad in ("back\\slash.jpg", "tab\tname.jpg", "x" * 252 + ".jpg"):
            error = refusal(put, ftp, f"{ALBUM}/{bad}", b"x")
            assert code(error) == 553, bad
        dotted = refusal(put, ftp, f"{ALBUM}/../Class 1/a.jpg", b"x")
        assert (code(dotted), text(dotted)) == (
            553,
            "Paths containing '.' or '..' are not accepted here; use the folder's full path.",
        )
        # Looking around follows ".." and never climbs out.
        ftp.cwd("/../../job00001/../..")
        assert ftp.pwd() == "/"
    assert not Upload.objects.exists()


def test_a_name_that_is_not_utf8_is_refused_with_a_reason(ftp_server, ftp_user, album) -> None:
    with ftps(ftp_server) as ftp:
        ftp.encoding = "latin-1"  # an old client sending ISO-8859-1
        error = refusal(put, ftp, f"{ALBUM}/caf\u00e9.jpg", b"x")
    assert (code(error), text(error)) == (553, "File names must be UTF-8.")


def test_mkd_of_an_existing_folder_succeeds_as_cameras_expect_and_rmd_removes_an_empty_album(
    ftp_server, ftp_user, album
) -> None:
    with ftps(ftp_server) as ftp:
        assert ftp.mkd(ALBUM) == ALBUM
        assert ftp.mkd("/job00001") == "/job00001"
        assert ftp.mkd(f"{ALBUM}/individuals") == f"{ALBUM}/individuals"
        ftp.mkd("/job00001/Empty")
        ftp.rmd("/job00001/Empty")
        assert ftp.nlst("/job00001") == ["Class 1"]
        assert ftp.sendcmd("ALLO 1000").startswith("200")  # Dahua-style clients loop on 202


def test_rename_delete_resume_append_unique_and_times(ftp_server, ftp_user, album) -> None:
    data = jpeg(size=(800, 600))
    with ftps(ftp_server) as ftp:
        ftp.cwd(ALBUM)
        # MOBOTIX: a temporary name, STOR, DELE of the target, RNFR/RNTO, all in one session.
        put(ftp, "cam.jpg", jpeg(colour=(1, 1, 1)))
        put(ftp, "mx0108e702.jpg.tmp", data)
        ftp.delete("cam.jpg")
        ftp.rename("mx0108e702.jpg.tmp", "cam.jpg")
        assert get(ftp, "cam.jpg") == data
        # REST + STOR resumes; APPE appends.
        put(ftp, "big.jpg.part", data[:1000])
        ftp.voidcmd("TYPE I")
        ftp.storbinary("STOR big.jpg.part", io.BytesIO(data[1000:5000]), rest=1000)
        ftp.storbinary("APPE big.jpg.part", io.BytesIO(data[5000:]))
        ftp.rename("big.jpg.part", "group/big.jpg")
        assert get(ftp, "group/big.jpg") == data
        # STOU picks a name nobody has.
        reply = ftp.storbinary("STOU", io.BytesIO(b"unique"))
        assert reply.startswith("226")
        # MFMT sets the time like SFTP setstat; MDTM reads it.
        assert ftp.sendcmd("MFMT 20240506070809 cam.jpg").startswith("213 Modify=20240506070809")
        assert ftp.sendcmd("MDTM cam.jpg") == "213 20240506070809"
        assert ftp.sendcmd("SITE CHMOD 644 cam.jpg").startswith("200")
    names = sorted(Upload.objects.values_list("filename", flat=True))
    assert "big.jpg" in names and "cam.jpg" in names and not any(n.endswith((".tmp", ".part")) for n in names)
    assert Upload.objects.get(filename="big.jpg").sha256 == hashlib.sha256(data).hexdigest()


def test_the_226_comes_only_once_the_upload_is_recorded_and_listed(ftp_server, ftp_user, album, monkeypatch) -> None:
    from tree import files

    seen: list[str] = []
    real = files.finished

    def finishing(*args, **kwargs):
        time.sleep(0.5)  # a slow disk: the client must wait for it
        upload = real(*args, **kwargs)
        seen.append("recorded")
        return upload

    monkeypatch.setattr(files, "finished", finishing)
    with ftps(ftp_server) as ftp:
        reply = put(ftp, f"{ALBUM}/a.jpg", jpeg())
        seen.append(reply[:3])
        assert "a.jpg" in ftp.nlst(ALBUM)
    assert seen == ["recorded", "226"]
    assert Upload.objects.filter(filename="a.jpg").exists()


def test_a_person_cannot_log_in_over_plain_ftp_and_a_device_can_where_allowed(
    ftp_server, ftp_user, account, album
) -> None:
    with pytest.raises(ftplib.error_perm) as refused, plain_ftp(ftp_server, "photographer"):
        pass
    assert str(refused.value).startswith("530 This FTP user must connect with FTPS (FTP over TLS) or SFTP")
    camera = services.ftp_user_create(account=account, username="axis-cam", password=PASSWORD)
    services.ftp_user_set_plain_ftp(ftp_user=camera, allowed=True)
    with plain_ftp(ftp_server, "axis-cam") as ftp:
        put(ftp, f"{ALBUM}/01.06.2025_14_30_25.123.jpg", jpeg())
    assert Upload.objects.get().door == "ftp"


def test_anonymous_logins_are_refused(ftp_server, ftp_user) -> None:
    for name in ("anonymous", "ftp"):
        with pytest.raises(ftplib.error_perm) as refused:
            client = ftplib.FTP_TLS(context=tls_context())
            client.connect(ftp_server.host, ftp_server.port, timeout=10)
            client.auth()
            client.login(name, "guest@example.com")
        assert str(refused.value).startswith("530 Anonymous logins are not allowed")


def test_data_connections_must_be_protected_when_the_control_connection_is(ftp_server, ftp_user, album) -> None:
    with ftps(ftp_server, protect=False) as ftp:
        error = refusal(put, ftp, f"{ALBUM}/a.jpg", b"x")
        assert code(error) == 522 and "PROT P" in str(error)
        ftp.prot_p()
        put(ftp, f"{ALBUM}/a.jpg", jpeg())
    assert Upload.objects.count() == 1


def test_implicit_ftps_serves_the_same_tree(ftp_server, ftp_user, album) -> None:
    raw = socket.create_connection((ftp_server.host, ftp_server.implicit_port), timeout=10)
    sock = tls_context().wrap_socket(raw)

    class ImplicitFTP(ftplib.FTP_TLS):
        def connect(self, *args: object, **kwargs: object) -> str:  # the TLS connection already exists
            self.sock, self.af = sock, sock.family
            self.file = sock.makefile("r", encoding=self.encoding)
            self.welcome = self.getresp()
            return self.welcome

    ftp = ImplicitFTP(context=tls_context())
    ftp.host = ftp_server.host
    assert ftp.connect().startswith("220")
    ftp.login("photographer", PASSWORD)
    ftp.prot_p()
    put(ftp, f"{ALBUM}/implicit.jpg", jpeg())
    ftp.quit()
    assert Upload.objects.get().door == "ftps"


def test_a_file_over_the_size_limit_is_refused_with_552_and_nothing_is_kept(
    ftp_server, ftp_user, album, settings
) -> None:
    settings.TREE_MAX_FILE_BYTES = 100_000
    with ftps(ftp_server) as ftp:
        ftp.voidcmd("TYPE I")
        data = ftp.transfercmd(f"STOR {ALBUM}/huge.jpg")
        try:
            for _ in range(30):
                data.sendall(b"x" * 10_000)
            cast(ssl.SSLSocket, data).unwrap()
        except OSError:
            pass  # the server stops reading and closes the data connection once the limit is passed
        data.close()
        error = refusal(ftp.voidresp)
        assert "huge.jpg" not in ftp.nlst(ALBUM)
    assert (code(error), text(error)) == (552, "Upload refused: files larger than 100000 bytes are not accepted.")
    assert not Upload.objects.exists()


def test_a_photo_made_over_ftps_holds_exactly_the_bytes_sent(ftp_server, celery_worker, ftp_user, album) -> None:
    data = jpeg(size=(2400, 1600), colour=(30, 140, 200))
    with ftps(ftp_server) as ftp:
        put(ftp, f"{ALBUM}/portrait.jpg", data)
    from tests.helpers import wait_for

    photo = wait_for(lambda: Photo.objects.filter(filename="portrait.jpg").first(), timeout=60)
    with photo.original.open("rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == hashlib.sha256(data).hexdigest()
