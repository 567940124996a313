"""``python manage.py device create|list|lift-ban ...`` (DESIGN §7): cameras and their health."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from albums.models import Section
from devices import profiles, selectors, services
from jobs import selectors as job_selectors
from jobs.management.commands._base import ServiceCommand


class Command(ServiceCommand):
    help = "Manage cameras (FTP users of kind device)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="add a camera that uploads into one album")
        create.add_argument("account")
        create.add_argument("username")
        create.add_argument("--job", required=True, help="the planned job's internal name")
        create.add_argument("--album", required=True, help="the album (created if new)")
        create.add_argument("--section", default=Section.INDIVIDUALS, choices=Section.values)
        create.add_argument("--profile", default=profiles.DEFAULT, choices=list(profiles.PROFILES))
        create.add_argument("--allow-plain-ftp", action="store_true", help="let it log in over plain FTP")
        create.add_argument("--test-patterns", default="", help="file names that are connection tests (a,b)")
        create.add_argument("--expected-interval", type=int, default=24, help="hours before it counts as silent")
        create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
        listing = sub.add_parser("list", help="a studio's cameras and their health")
        listing.add_argument("account")
        listing.add_argument("--json", action="store_true")
        lift = sub.add_parser("lift-ban", help="lift the login bans in force on a camera")
        lift.add_argument("account")
        lift.add_argument("username")

    def handle_create(
        self,
        *,
        account: str,
        username: str,
        job: str,
        album: str,
        section: str,
        profile: str,
        allow_plain_ftp: bool,
        test_patterns: str,
        expected_interval: int,
        password_stdin: bool,
        **options: Any,
    ) -> None:
        owner = job_selectors.account_get(name=account)
        device = services.device_create(
            account=owner,
            username=username,
            job=job_selectors.job_get(account=owner, internal_name=job),
            album_name=album,
            password=self.read_secret("Password: ") if password_stdin else None,
            section=section,
            profile=profile,
            allow_plain_ftp=allow_plain_ftp,
            test_patterns=test_patterns,
            expected_interval_hours=expected_interval or None,
        )
        self.stdout.write(f"camera {device.ftp_user.username} created: uploads into {job}/{device.album.name}")

    def handle_list(self, *, account: str, json: bool, **options: Any) -> None:
        owner = job_selectors.account_get(name=account)
        rows = [selectors.health(d) for d in selectors.devices_of(account=owner)]
        if json:
            self.stdout.write(_dumps([selectors.health_json(h) for h in rows]))
            return
        for h in rows:
            d = h.device
            silent = f"silent {h.silent_hours} h" if h.silent_hours is not None else "ok"
            self.stdout.write(
                f"{d.ftp_user.username}\t{d.album.job.internal_name}/{d.album.name}\t{d.profile}\t"
                f"uploads today {h.uploads_today}, rejected {h.rejections_today}\t{silent}"
            )

    def handle_lift_ban(self, *, account: str, username: str, **options: Any) -> None:
        device = selectors.device_get(account=job_selectors.account_get(name=account), username=username)
        lifted = services.device_lift_bans(device=device)
        self.stdout.write(f"{lifted} ban(s) lifted for {device.ftp_user.username}")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
