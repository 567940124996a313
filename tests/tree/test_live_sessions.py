"""The registry of open sessions (tree.live) and the database ban store (tree.guard) the web reads:
rows appear at login and go at the end, a disconnect request reaches the door's callback on the
next heartbeat, a crashed server's rows disappear once their lease ran out; bans placed without
Redis are listed and lifted from another process's point of view, their failures forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django import Settings

from albums.models import Door
from jobs import services
from jobs.models import Account, FTPUser
from tree import bans, guard, live
from tree.guard import BanPolicy, DatabaseBanStore, LoginGuard
from tree.models import LiveSession, LoginBan
from tree.principal import Client, Principal

pytestmark = pytest.mark.django_db


def _client(ftp_user: FTPUser, door: Door = Door.SFTP) -> Client:
    return Client(principal=Principal(ftp_user=ftp_user, method="password"), door=door, address="10.0.0.7")


def test_a_session_is_listed_while_open_and_gone_when_it_ends(account: Account, ftp_user: FTPUser) -> None:
    registry = live.Registry(heartbeat=False)
    moved = [0]
    token = registry.open(_client(ftp_user, Door.FTPS), disconnect=lambda: None, bytes=lambda: moved[0])
    assert token is not None
    (row,) = live.sessions_of(account=account)
    assert (row.username, row.address, row.door, row.bytes) == ("photographer", "10.0.0.7", "ftps", 0)

    moved[0] = 5_000_000
    for _ in range(live.RENEW_EVERY):  # bytes are written on the renewal beat, never per write
        registry.beat()
    assert live.sessions_of(account=account).get().bytes == 5_000_000
    registry.close(token)
    assert not LiveSession.objects.exists()


def test_a_disconnect_request_reaches_the_door_once_on_the_next_heartbeat(account: Account, ftp_user: FTPUser) -> None:
    registry = live.Registry(heartbeat=False)
    asked: list[str] = []
    registry.open(_client(ftp_user), disconnect=lambda: asked.append("end"), bytes=lambda: 0)
    other = live.Registry(heartbeat=False)  # another server process: its sessions are not this one's to end
    other.open(_client(ftp_user), disconnect=lambda: asked.append("wrong"), bytes=lambda: 0)
    mine = LiveSession.objects.get(server=registry.server)

    live.session_disconnect(session=mine)
    registry.beat()
    registry.beat()
    other.beat()
    assert asked == ["end"]
    from audit.models import AuditEvent

    assert AuditEvent.objects.filter(action="session.disconnect", account=account).count() == 1


def test_the_rows_of_a_server_that_died_disappear_when_their_lease_runs_out(
    account: Account, ftp_user: FTPUser
) -> None:
    crashed = live.Registry(heartbeat=False)
    crashed.open(_client(ftp_user), disconnect=lambda: None, bytes=lambda: 0)
    LiveSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # no renewal came
    assert not live.sessions_of(account=account).exists()  # hidden at once
    alive = live.Registry(heartbeat=False)
    alive.open(_client(ftp_user), disconnect=lambda: None, bytes=lambda: 0)
    for _ in range(live.RENEW_EVERY):
        alive.beat()
    assert list(LiveSession.objects.values_list("server", flat=True)) == [alive.server]  # and deleted


def test_deleting_an_ftp_user_asks_its_sessions_to_end(account: Account, ftp_user: FTPUser) -> None:
    registry = live.Registry(heartbeat=False)
    asked: list[str] = []
    registry.open(_client(ftp_user), disconnect=lambda: asked.append("end"), bytes=lambda: 0)
    services.ftp_user_delete(ftp_user=ftp_user)
    registry.beat()
    assert asked == ["end"]


@pytest.fixture
def db_guard(settings: Settings) -> LoginGuard:
    settings.LOGIN_REDIS_URL = ""
    return LoginGuard(DatabaseBanStore(), BanPolicy(window=60, user_failures=3, address_failures=100, duration=600))


def test_without_redis_a_ban_is_a_row_the_web_lists_and_lifts(
    db_guard: LoginGuard, account: Account, ftp_user: FTPUser
) -> None:
    for _ in range(3):
        db_guard.failed("10.0.0.7", "photographer")
    assert "Too many failed logins for 'photographer'" in db_guard.refusal("10.0.0.7", "photographer")
    assert LoginBan.objects.filter(key="user:10.0.0.7:photographer").exists()
    (ban,) = bans.bans_of_account(account=account)
    assert (ban.address, ban.username, ban.minutes_left) == ("10.0.0.7", "photographer", 10)
    assert guard.bans_of("photographer") == [ban]

    bans.ban_lift(account=account, address="10.0.0.7", username="photographer")
    assert db_guard.refusal("10.0.0.7", "photographer") == ""
    db_guard.failed("10.0.0.7", "photographer")  # the old failures went with the ban
    assert db_guard.refusal("10.0.0.7", "photographer") == ""


def test_a_studio_sees_and_lifts_only_bans_of_its_own_users(
    db_guard: LoginGuard, account: Account, ftp_user: FTPUser, outsider_account: Account
) -> None:
    from jobs.exceptions import NotFound

    services.ftp_user_create(account=outsider_account, username="stranger", password="a long password")
    for _ in range(3):
        db_guard.failed("10.0.0.8", "stranger")
    assert bans.bans_of_account(account=account) == []
    with pytest.raises(NotFound):
        bans.ban_lift(account=account, address="10.0.0.8", username="stranger")
    assert db_guard.refusal("10.0.0.8", "stranger")


def test_expired_ban_rows_are_cleared(db_guard: LoginGuard) -> None:
    LoginBan.objects.create(key="addr:10.0.0.9", until=timezone.now() - timedelta(seconds=1))
    assert db_guard.refusal("10.0.0.9", "anyone") == ""
    db_guard.expire()
    assert not LoginBan.objects.exists()


def test_a_session_whose_connection_is_gone_is_unlisted_on_the_next_heartbeat(
    account: Account, ftp_user: FTPUser
) -> None:
    registry = live.Registry(heartbeat=False)
    connected = [True]
    registry.open(_client(ftp_user), disconnect=lambda: None, bytes=lambda: 0, alive=lambda: connected[0])
    registry.beat()
    assert live.sessions_of(account=account).exists()
    connected[0] = False  # the door missed its close: no ghost is renewed forever
    registry.beat()
    assert not LiveSession.objects.exists()
