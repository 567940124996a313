"""Who is at a door: the logged-in FTP user (the principal) and the connection it came through.

A door logs a user in with ``authenticate_password`` (or its own key check, for SSH keys), wraps
the result in a ``Client`` with the door's name and the client's address, and hands that to
``tree.operations.Tree``. Everything the tree records (an upload's door, address, uploader) comes
from here, so no door passes those as loose arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from albums.models import Door
from jobs import services
from jobs.models import FTPUser, SSHKey


@dataclass(frozen=True)
class Principal:
    """The FTP user logged in on a connection, and how."""

    ftp_user: FTPUser
    method: str  # "password" or "publickey"
    key: SSHKey | None = None  # the key that logged in (publickey)

    @property
    def username(self) -> str:
        return self.ftp_user.username

    @property
    def account_id(self) -> int:
        return self.ftp_user.account_id


@dataclass(frozen=True)
class Client:
    """A principal at one door, from one address: what every tree operation acts for."""

    principal: Principal
    door: Door
    address: str | None

    @property
    def ftp_user(self) -> FTPUser:
        return self.principal.ftp_user

    @property
    def username(self) -> str:
        return self.principal.username

    @property
    def account_id(self) -> int:
        return self.principal.account_id

    @property
    def is_device(self) -> bool:
        """A camera (DESIGN §9): its files never replace or remove a photo."""
        return self.ftp_user.kind == FTPUser.Kind.DEVICE


def authenticate_password(username: str, password: str) -> Principal | None:
    """The principal for a correct password of an active FTP user, or None.

    One hash check either way, none when this password was verified within LOGIN_VERIFIED_TTL
    (``jobs.services.ftp_user_authenticate_password`` holds the rules; every door comes here).
    """
    user = services.ftp_user_authenticate_password(username=username, password=password)
    return Principal(ftp_user=user, method="password") if user else None


def record_login(client: Client) -> None:
    services.ftp_user_record_login(ftp_user=client.ftp_user, address=client.address, key=client.principal.key)
