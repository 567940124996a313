"""Admin for albums, photos and the upload log (with the re-process action), scoped like every admin
of the portal (``jobs.admin.AccountScopedAdmin``).

Albums are created, renamed and deleted through ``albums.services`` (the same rules as a
photographer's folders over SFTP); photos are only viewed and deleted (``photo_delete`` also removes
their renditions from storage); the upload log is a record, only viewed and processed again.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from albums import intake
from albums import services as album_services
from albums.models import Album, Photo, Upload
from jobs.admin import AccountScopedAdmin, ReadOnlyMixin, ServiceModelForm, adopt, related_choices
from jobs.models import PhotoJob


class AlbumForm(ServiceModelForm):
    service_checked_fields = ("job", "name")
    # Names are kept exactly as a photographer's client made them (DESIGN §3): stripping a trailing
    # space here would rename the album folder under them on every save.
    name = forms.CharField(max_length=255, strip=False)

    class Meta:
        model = Album
        fields = ["job", "name"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        album = self.instance if self.instance.pk else None
        job = album.job if album is not None else cleaned.get("job")
        if job is not None and "name" in cleaned:
            self.check_with_service("name", album_services.album_name_check, job=job, name=cleaned["name"], album=album)
        return cleaned


@admin.register(Album)
class AlbumAdmin(AccountScopedAdmin):
    """Albums with their photo counts. The job is chosen on add and fixed after; "created by" is the FTP
    user who made the folder (empty for albums made here)."""

    form = AlbumForm
    account_path = "job__account"
    # Explicit: with the counts' GROUP BY, Django leaves Meta.ordering out (autocomplete pages by it).
    ordering = ["name", "pk"]
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

    def get_fields(self, request: HttpRequest, obj: Album | None = None) -> tuple[str, ...]:
        return ("job", "name") if obj is None else ("job", "name", "created_by", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Album | None = None) -> tuple[str, ...]:
        return () if obj is None else ("job", "created_by", "created_at")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "job":
            # Only a planned job takes new albums (album_create refuses the others): offer only those.
            jobs = related_choices(self.admin_site, request, PhotoJob)
            kwargs["queryset"] = jobs.filter(status=PhotoJob.Status.PLANNED)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Album, form: AlbumForm, change: bool) -> None:
        name = form.cleaned_data["name"]
        if not change:
            adopt(obj, album_services.album_create(job=form.cleaned_data["job"], name=name))
        elif "name" in form.changed_data:
            album = Album.objects.select_related("job").get(pk=obj.pk)
            adopt(obj, album_services.album_rename(album=album, name=name))

    def delete_model(self, request: HttpRequest, obj: Album) -> None:
        album_services.album_delete(album=obj)

    @admin.display(ordering="n_individuals")
    def individuals(self, obj: Any) -> int:
        return obj.n_individuals

    @admin.display(ordering="n_group")
    def group(self, obj: Any) -> int:
        return obj.n_group


@admin.register(Photo)
class PhotoAdmin(AccountScopedAdmin):
    """Photos are made by intake only: shown, and deleted (single or bulk) with their renditions."""

    account_path = "album__job__account"
    list_display = ["thumb", "filename", "album", "section", "width", "height", "taken_at", "camera_model"]
    list_filter = [
        "section",
        ("album__job__account", admin.RelatedOnlyFieldListFilter),
        ("album__job", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["filename", "album__name", "sha256"]
    readonly_fields = [f.name for f in Photo._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Photo | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        album_services.photo_delete(photo=obj)

    @admin.display(description="")
    def thumb(self, obj: Photo) -> str:
        if not obj.thumbnail:
            return ""
        return format_html('<img src="{}" style="max-height:60px">', obj.thumbnail.url)


@admin.register(Upload)
class UploadAdmin(ReadOnlyMixin, AccountScopedAdmin):
    """The upload log: one row per finished file, with its state and, when rejected, the reason.

    It is a record, so nobody edits or deletes it here; "Process again" is what staff may do with it
    (the ``albums.change_upload`` permission).
    """

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

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("albums.change_upload")

    @admin.action(description="Process again", permissions=["reprocess"])
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
