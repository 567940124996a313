"""``python manage.py uploads [--account A] [--job J] [--state S] [--json]`` and ``uploads reprocess ID...``.

The upload log as operators script it (DESIGN §7): one line per upload, or one JSON array with
``--json``. ``reprocess`` queues uploads again through ``albums.intake.upload_reprocess``, the
same path as the admin's "Process again".

Times: the lines show when each upload was received in its account's time zone (``Account.time_zone``,
with the zone's abbreviation); ``--json`` keeps ISO 8601 in UTC with its offset (``+00:00``), so
scripts never have to know the studio's zone.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from albums import intake, selectors
from albums.models import Upload
from jobs.models import Account, PhotoJob
from portal import timezones


class Command(BaseCommand):
    help = "The upload log; 'uploads reprocess ID...' queues uploads again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", default="list", choices=["list", "reprocess"])
        parser.add_argument("ids", nargs="*", type=int, help="upload ids (reprocess)")
        parser.add_argument("--account", help="account (studio) name")
        parser.add_argument("--job", help="job internal name, e.g. job00001")
        parser.add_argument("--state", choices=Upload.State.values)
        parser.add_argument("--json", action="store_true", help="print one JSON array")

    def handle(self, *args: Any, action: str, ids: list[int], **options: Any) -> None:
        if action == "reprocess":
            self._reprocess(ids)
            return
        if ids:
            raise CommandError("Upload ids are only taken by 'uploads reprocess'.")
        account, job = options["account"], options["job"]
        # A misspelt name would otherwise print an empty log and look like "no uploads".
        if account and not Account.objects.filter(name=account).exists():
            raise CommandError(f"No account named {account!r}.")
        jobs = PhotoJob.objects.filter(account__name=account) if account else PhotoJob.objects.all()
        if job and not jobs.filter(internal_name=job).exists():
            raise CommandError(f"No job {job!r}" + (f" in account {account!r}." if account else "."))
        uploads = selectors.upload_log(account=account, job=job, state=options["state"])
        if options["json"]:
            rows = [selectors.upload_as_dict(u) for u in uploads]
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for upload in uploads:
            r = selectors.upload_as_dict(upload)
            received = timezones.local(upload.received_at, upload.account).strftime("%Y-%m-%d %H:%M:%S %Z")
            self.stdout.write(
                f"{r['id']:>6} {received} {r['state']:<10} {r['path']} {r['size']}"
                + (f"  ({r['reason']})" if r["reason"] else "")
                + ("  [bytes purged]" if r["purged_at"] else "")
            )

    def _reprocess(self, ids: list[int]) -> None:
        if not ids:
            raise CommandError("Name the upload ids to process again.")
        missing = set(ids) - set(Upload.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if missing:
            raise CommandError(f"No upload with id {', '.join(map(str, sorted(missing)))}.")
        queued = intake.upload_reprocess(upload_ids=ids)
        self.stdout.write(f"{len(queued)} upload(s) queued again")
        busy = sorted(set(ids) - set(queued))
        if busy:
            # Not an error: the upload is being processed, and the sweeper re-queues it should its
            # worker be gone.
            self.stderr.write(f"being processed now, not queued: {', '.join(map(str, busy))}")
