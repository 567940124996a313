"""Members of a studio: ``account add-member`` as an operator runs it, and the one service behind it,
the admin and the members page (roles, admin access, the last owner)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from audit.models import AuditEvent
from jobs import selectors, services
from jobs.exceptions import Conflict, Invalid
from jobs.models import Account, Membership
from tests.jobs.test_commands import manage

PASSWORD = "a long password"


@pytest.mark.django_db(transaction=True)
class TestTheCommand:
    def test_it_creates_a_new_login_with_the_password_from_stdin(self) -> None:
        assert manage("account", "create", "Sunshine Studio").returncode == 0
        result = manage(
            "account", "add-member", "Sunshine Studio", "olivia", "--role", "owner", "--password-stdin", stdin=PASSWORD
        )
        assert result.returncode == 0, result.stderr
        assert "created" in result.stdout
        user = User.objects.get(username="olivia")
        assert user.check_password(PASSWORD)
        assert user.is_staff and not user.is_superuser
        assert selectors.role_of(user, Account.objects.get(name="Sunshine Studio")) == "owner"
        event = AuditEvent.objects.get(action="membership.add")
        assert event.actor_kind == "system" and event.actor_name.startswith("manage.py (")
        assert event.account is not None and event.account.name == "Sunshine Studio"

    def test_an_existing_login_is_added_without_a_password(self) -> None:
        User.objects.create_user(username="sam", password=PASSWORD)
        manage("account", "create", "Sunshine Studio")
        result = manage("account", "add-member", "Sunshine Studio", "sam", "--role", "staff")
        assert result.returncode == 0, result.stderr
        user = User.objects.get(username="sam")
        assert user.check_password(PASSWORD)  # untouched
        assert user.is_staff
        assert Membership.objects.get(user=user).role == "staff"
        assert Client().login(username="sam", password=PASSWORD)

    @pytest.mark.parametrize(
        ("args", "stdin", "message"),
        [
            (("No Such Studio", "olivia", "--role", "owner", "--password-stdin"), PASSWORD, "no account"),
            (("Sunshine Studio", "olivia", "--role", "boss", "--password-stdin"), PASSWORD, "Unknown role"),
            (("Sunshine Studio", "olivia", "--role", "owner"), "", "--password-stdin"),
            (("Sunshine Studio", "olivia", "--role", "owner", "--password-stdin"), "", "standard input"),
            (("Sunshine Studio", "olivia", "--role", "owner", "--password-stdin"), "short", "too short"),
        ],
    )
    def test_errors_are_one_sentence_on_stderr_with_a_nonzero_exit(
        self, args: tuple[str, ...], stdin: str, message: str
    ) -> None:
        manage("account", "create", "Sunshine Studio")
        result = manage("account", "add-member", *args, stdin=stdin)
        assert result.returncode != 0
        assert message in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert not User.objects.filter(username="olivia").exists()


def test_a_member_can_log_in_to_the_admin(account: Account) -> None:
    user = User.objects.create_user(username="sam", password=PASSWORD)
    services.account_add_member(account=account, user=user, role="staff")
    client = Client()
    assert client.login(username="sam", password=PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_roles_decide_who_manages_what(account: Account, owner: User, outsider_account: Account) -> None:
    staff = User.objects.create_user(username="sam", password=PASSWORD)
    services.account_add_member(account=account, user=staff, role="staff")
    assert selectors.is_owner(owner, account) and not selectors.is_owner(staff, account)
    assert selectors.is_member(staff, account) and not selectors.is_member(staff, outsider_account)
    assert list(selectors.owned_accounts(staff)) == []
    assert list(selectors.staffed_accounts(staff)) == [account]
    assert list(selectors.owned_accounts(owner)) == [account]


def test_the_last_owner_stays(account: Account, owner: User) -> None:
    membership = Membership.objects.get(account=account, user=owner)
    with pytest.raises(Conflict, match="last owner"):
        services.membership_set_role(membership=membership, role="staff")
    with pytest.raises(Conflict, match="last owner"):
        services.membership_remove(membership=membership)
    second = User.objects.create_user(username="otto", password=PASSWORD)
    services.account_add_member(account=account, user=second, role="owner")
    services.membership_set_role(membership=membership, role="staff")
    assert selectors.role_of(owner, account) == "staff"


def test_a_removed_member_loses_admin_access(account: Account) -> None:
    user = User.objects.create_user(username="sam", password=PASSWORD)
    membership = services.account_add_member(account=account, user=user, role="staff")
    services.membership_remove(membership=membership)
    user.refresh_from_db()
    assert not user.is_staff and not user.groups.exists()
    assert [e.action for e in AuditEvent.objects.filter(object_repr__startswith="sam ")] == [
        "membership.remove",
        "membership.add",
    ]


def test_an_unknown_role_is_refused(account: Account) -> None:
    with pytest.raises(Invalid, match="Unknown role"):
        services.account_member_onboard(account=account, username="sam", role="boss", password=PASSWORD)
