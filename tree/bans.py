"""Which login bans concern a studio, and lifting one from its settings page (audited).

The bans themselves are the guard's (``tree.guard``: in Redis, or in the database without it). A ban
concerns a studio when it is on one of its FTP users' names (from any address) or on a whole
address one of them last logged in or tested from: the rule ``devices.services.device_lift_bans``
uses for one camera, applied to every FTP user of the account.
"""

from __future__ import annotations

from django.db import transaction

from audit.services import event_record
from devices.models import Device
from jobs.exceptions import NotFound
from jobs.models import Account
from tree import guard
from tree.guard import Ban


def bans_of_account(*, account: Account) -> list[Ban]:
    users = list(account.ftp_users.values_list("username", "last_login_address"))
    tested = Device.objects.filter(ftp_user__account=account).values_list("last_test_address", flat=True)
    addresses = {a for _, a in users if a} | {a for a in tested if a}
    return guard.bans_in_force([name for name, _ in users], addresses)


def ban_lift(*, account: Account, address: str, username: str) -> Ban:
    """Lift the ban on ``username`` from ``address`` ("" for the ban of the whole address)."""
    found = [b for b in bans_of_account(account=account) if b.address == address and b.username == username.lower()]
    if not found:
        raise NotFound("This ban is no longer in force.")
    with transaction.atomic():
        guard.lift(found)
        event_record(
            action="login_ban.lift",
            account=account,
            target=account.ftp_users.filter(username=username.lower()).first() if username else None,
            detail={"address": address, "username": username.lower()},
        )
    return found[0]
