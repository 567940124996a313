"""``python manage.py uploads [--account A] [--job J] [--state S] [--json]`` and ``uploads reprocess ID...``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from albums import selectors, services
from albums.models import Upload


class Command(BaseCommand):
    help = "The upload log; 'uploads reprocess ID...' queues uploads again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", default="list", choices=["list", "reprocess"])
        parser.add_argument("ids", nargs="*", type=int, help="upload ids (reprocess)")
        parser.add_argument("--account")
        parser.add_argument("--job")
        parser.add_argument("--state", choices=Upload.State.values)
        parser.add_argument("--json", action="store_true", help="print one JSON array")

    def handle(self, *args: Any, action: str, ids: list[int], **options: Any) -> None:
        if action == "reprocess":
            if not ids:
                raise CommandError("Name the upload ids to process again.")
            missing = set(ids) - set(Upload.objects.filter(pk__in=ids).values_list("pk", flat=True))
            if missing:
                raise CommandError(f"No upload with id {', '.join(map(str, sorted(missing)))}.")
            count = services.upload_reprocess(upload_ids=ids)
            self.stdout.write(f"{count} upload(s) queued again")
            return
        uploads = selectors.upload_log(account=options["account"], job=options["job"], state=options["state"])
        rows = [selectors.upload_as_dict(u) for u in uploads]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>6} {r['received_at'][:19]} {r['state']:<10} {r['path']} {r['size']}"
                + (f"  ({r['reason']})" if r["reason"] else "")
            )
