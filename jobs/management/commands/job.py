"""``python manage.py job create|set-status|list ...``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from jobs import selectors, services
from jobs.management.commands._base import ServiceCommand
from jobs.models import PhotoJob


class Command(ServiceCommand):
    help = "Manage photo jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a job")
        create.add_argument("account")
        create.add_argument("internal_name")
        create.add_argument("--title", default="")
        create.add_argument("--status", default=PhotoJob.Status.PLANNED, choices=PhotoJob.Status.values)
        status = sub.add_parser("set-status", help="change a job's status")
        status.add_argument("account")
        status.add_argument("internal_name")
        status.add_argument("status", choices=PhotoJob.Status.values)
        listing = sub.add_parser("list", help="list an account's jobs")
        listing.add_argument("account")

    def handle_create(self, *, account: str, internal_name: str, title: str, status: str, **options: Any) -> None:
        job = services.job_create(
            account=selectors.account_get(name=account), internal_name=internal_name, title=title, status=status
        )
        self.stdout.write(f"job {job.internal_name} created ({job.get_status_display()})")

    def handle_set_status(self, *, account: str, internal_name: str, status: str, **options: Any) -> None:
        job = selectors.job_get(account=selectors.account_get(name=account), internal_name=internal_name)
        services.job_set_status(job=job, status=status)
        self.stdout.write(f"job {job.internal_name} is now {job.get_status_display()}")

    def handle_list(self, *, account: str, **options: Any) -> None:
        for job in PhotoJob.objects.filter(account=selectors.account_get(name=account)):
            self.stdout.write(f"{job.internal_name}\t{job.status}\t{job.title}")
