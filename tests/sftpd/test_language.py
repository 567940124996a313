"""The SFTP door speaks the account's language (photographers have no browser to ask): a German studio's
photographers read the tree's refusals in German, an English studio's exactly as before, even at the
same time on the same server."""

from __future__ import annotations

import asyncio

import asyncssh

from jobs import services
from jobs.models import Account, FTPUser, PhotoJob
from tests.conftest import PASSWORD
from tests.sftpd.conftest import refusal, run, sftp_session

IN_JOB_EN = "Upload into an album folder inside the job folder, not into the job folder itself."
IN_JOB_DE = "Laden Sie in einen Albumordner innerhalb des Auftragsordners hoch, nicht in den Auftragsordner selbst."


async def _put(sftp: asyncssh.SFTPClient, path: str, data: bytes) -> None:
    async with sftp.open(path, "wb") as f:
        await f.write(data)


def _studio(name: str, language: str) -> tuple[Account, FTPUser]:
    studio = services.account_create(name=name, language=language)
    services.job_create(account=studio, internal_name="job00001")
    user = services.ftp_user_create(account=studio, username=f"{language}-photographer", password=PASSWORD)
    return studio, user


def test_a_german_studios_photographer_reads_refusals_in_german(sftp_server, transactional_db) -> None:
    _studio("Fotostudio Sonne", "de")

    async def scenario() -> dict[str, asyncssh.SFTPError]:
        async with sftp_session(sftp_server.port, "de-photographer") as sftp:
            return {
                "file in job": await refusal(_put(sftp, "/job00001/photo.jpg", b"x")),
                "missing job": await refusal(sftp.listdir("/job99999")),
                "new job": await refusal(sftp.mkdir("/job99999")),
            }

    errors = run(scenario)
    assert isinstance(errors["file in job"], asyncssh.SFTPPermissionDenied)
    assert errors["file in job"].reason == IN_JOB_DE
    assert isinstance(errors["missing job"], asyncssh.SFTPNoSuchFile)
    assert errors["missing job"].reason == "Es gibt keinen geplanten Fotoauftrag namens 'job99999'."
    assert errors["new job"].reason == (
        "Auftragsordner legt das Studio an; legen Sie Albumordner innerhalb eines Auftragsordners an."
    )


def test_an_english_studio_reads_the_same_sentences_as_before_while_a_german_one_is_connected(
    sftp_server, transactional_db
) -> None:
    _studio("Fotostudio Sonne", "de")
    _studio("Sunshine Studio", "en")

    async def refused(username: str) -> str:
        async with sftp_session(sftp_server.port, username) as sftp:
            reasons = []
            for _ in range(5):  # interleaved with the other session's requests
                reasons.append((await refusal(_put(sftp, "/job00001/photo.jpg", b"x"))).reason)
                await asyncio.sleep(0)
            assert len(set(reasons)) == 1, reasons
            return reasons[0]

    async def scenario() -> tuple[str, str]:
        german, english = await asyncio.gather(refused("de-photographer"), refused("en-photographer"))
        return german, english

    german, english = run(scenario)
    assert german == IN_JOB_DE
    assert english == IN_JOB_EN


def test_changing_the_accounts_language_takes_effect_at_the_next_login(
    sftp_server, ftp_user: FTPUser, planned_job: PhotoJob, account: Account
) -> None:
    async def reason() -> str:
        async with sftp_session(sftp_server.port) as sftp:
            return (await refusal(_put(sftp, "/job00001/photo.jpg", b"x"))).reason

    assert run(reason) == IN_JOB_EN
    services.account_set_locale(account=account, time_zone=account.time_zone, language="de")
    assert run(reason) == IN_JOB_DE
