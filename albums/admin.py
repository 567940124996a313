"""Admin for albums, photos and the upload log (with the re-process action)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from albums import intake
from albums.models import Album, Photo, Upload
from jobs.admin import AccountScopedAdmin


@admin.register(Album)
class AlbumAdmin(AccountScopedAdmin):
    account_path = "job__account"
    list_display = ["name", "job", "individuals", "group", "created_at"]
    list_filter = [("job__account", admin.RelatedOnlyFieldListFilter), "job__status"]
    search_fields = ["name", "job__internal_name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_individuals=Count("photos", filter=Q(photos__section="individuals")),
                n_group=Count("photos", filter=Q(photos__section="group")),
            )
        )

    @admin.display(ordering="n_individuals")
    def individuals(self, obj: Any) -> int:
        return obj.n_individuals

    @admin.display(ordering="n_group")
    def group(self, obj: Any) -> int:
        return obj.n_group


@admin.register(Photo)
class PhotoAdmin(AccountScopedAdmin):
    account_path = "album__job__account"
    list_display = ["thumb", "filename", "album", "section", "width", "height", "taken_at", "camera_model"]
    list_filter = [
        "section",
        ("album__job__account", admin.RelatedOnlyFieldListFilter),
        ("album__job", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["filename", "album__name", "sha256"]
    readonly_fields = [f.name for f in Photo._meta.fields]

    @admin.display(description="")
    def thumb(self, obj: Photo) -> str:
        if not obj.thumbnail:
            return ""
        return format_html('<img src="{}" style="max-height:60px">', obj.thumbnail.url)


@admin.register(Upload)
class UploadAdmin(AccountScopedAdmin):
    """The upload log: one row per finished file, with its state and, when rejected, the reason."""

    list_display = [
        "id",
        "received_at",
        "job",
        "album_name",
        "section",
        "filename",
        "state",
        "reason",
        "attempts",
        "size",
        "photo",
    ]
    list_filter = [
        "state",
        "reason",
        ("job__account", admin.RelatedOnlyFieldListFilter),
        ("job", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["filename", "album_name", "sha256", "reason"]
    readonly_fields = [f.name for f in Upload._meta.fields]
    actions = ["reprocess"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads come from the SFTP server only

    @admin.action(description="Process again")
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Upload]) -> None:
        chosen = list(queryset.values_list("pk", flat=True))
        queued = intake.upload_reprocess(upload_ids=chosen)
        self.message_user(request, f"{len(queued)} upload(s) queued again.")
        busy = sorted(set(chosen) - set(queued))
        if busy:
            self.message_user(
                request,
                f"Being processed now, so not queued: {', '.join(map(str, busy))}.",
                messages.WARNING,
            )
