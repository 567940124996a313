"""Admin for albums, photos and the upload log, scoped like every admin of the portal
(``jobs.admin.AccountScopedAdmin``): the studio's photo management (DESIGN §6).

Albums are created, renamed and deleted through ``albums.services`` (the same rules as a
photographer's folders over SFTP); an album's page shows its photos as a thumbnail grid per
section. Photos are made by intake only: shown (preview, readable metadata, who uploaded them and
their upload history) and deleted (``photo_delete`` also removes their renditions from storage).
The upload log is a record: viewed (state, the reason in full and what the photographer should do
about it, ``albums.reasons.advice``), its file shown or downloaded (``albums.views.upload_file``),
and processed again (``albums.intake.upload_reprocess``).

Other apps add to these pages through two hooks, so this module knows nothing of them:
``individuals_groupers`` split an album's individuals photos into groups (``subjects.admin``: one
per subject), ``photo_filters`` are more filters of the photo list (``subjects.admin``: the state
of review). Files are linked through the studio-checked views, never a public media URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from albums import intake, reasons, views
from albums import services as album_services
from albums.models import Album, Door, Photo, Section, Upload
from jobs.admin import AccountScopedAdmin, ReadOnlyMixin, ServiceModelForm, adopt, related_choices
from jobs.models import PhotoJob

STYLES = {"all": ("albums/admin.css",)}


# --- shared pieces ------------------------------------------------------------------------------


class ShownRelatedFilter(admin.RelatedOnlyFieldListFilter):
    """A relation filter that stays on the page with a single choice (one job is the normal case)."""

    def has_output(self) -> bool:
        return True


def titled(base: type[admin.FieldListFilter], title: Any) -> type[admin.FieldListFilter]:
    """A field's list filter under a title of our words (a field's own name may be "ftp username")."""

    class Titled(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.title = title

    return Titled


def changelist_url(model: type[Any], **filters: str | int) -> str:
    opts = model._meta
    base = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{base}?{urlencode(filters)}" if filters else base


def change_url(obj: Any) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def when(moment: Any, format: str = "DATETIME_FORMAT") -> str:
    """A stored time as a person reads it, in the zone of this page (the studio's)."""
    return formats.date_format(timezone.localtime(moment), format) if moment else ""


def fieldset_fields(fieldsets: Any) -> list[str]:
    return [str(name) for _title, options in fieldsets for name in options["fields"]]


def without_empty(fieldsets: Any, empty: dict[str, bool]) -> list[Any]:
    """The fieldsets without the fields that would only show a dash for this object."""
    return [
        (title, {**options, "fields": tuple(f for f in options["fields"] if not empty.get(f, False))})
        for title, options in fieldsets
    ]


def state_badge(upload: Upload) -> str:
    return format_html('<span class="upload-state state-{}">{}</span>', upload.state, Upload.State(upload.state).label)


def uploader(upload: Upload) -> str:
    """Who uploaded: the FTP user's name as it was (kept when the FTP user is deleted)."""
    return upload.ftp_username or (upload.ftp_user.username if upload.ftp_user_id and upload.ftp_user else "")


# --- albums --------------------------------------------------------------------------------------


@dataclass
class PhotoGroup:
    """Photos shown together in an album's grid, under a title (none for a section shown whole)."""

    title: str
    photos: list[Photo]
    link: str = ""  # where the group is worked on (a subject's place in the review)
    link_text: str = ""
    key: str = ""


@dataclass
class GridSection:
    key: str
    title: str
    groups: list[PhotoGroup] = field(default_factory=list)
    count: int = 0
    list_url: str = ""


# Functions (album, its individuals photos) -> groups, or None to leave the section whole; the first
# that answers groups it (``subjects.admin`` adds one: a group per subject).
individuals_groupers: list[Callable[[Album, list[Photo]], list[PhotoGroup] | None]] = []


def album_grid(album: Album) -> list[GridSection]:
    """The album's photos per section (individuals, group), the individuals grouped when a grouper knows how."""
    photos = list(album.photos.order_by("taken_at", "filename", "pk"))
    sections = []
    for section in Section:
        mine = [p for p in photos if p.section == section]
        groups = None
        if section == Section.INDIVIDUALS:
            for grouper in individuals_groupers:
                groups = grouper(album, mine)
                if groups is not None:
                    break
        sections.append(
            GridSection(
                key=str(section.value),
                title=str(section.label),
                groups=groups if groups is not None else [PhotoGroup("", mine)],
                count=len(mine),
                list_url=changelist_url(Photo, album__id__exact=album.pk, section__exact=section.value),
            )
        )
    return sections


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
    """Albums with their photo counts (linked to the photo list); an album's page shows its photos as a
    grid. The job is chosen on add and fixed after; "created by" is the FTP user who made the folder
    (empty for albums made here)."""

    form = AlbumForm
    account_path = "job__account"
    # Explicit: with the counts' GROUP BY, Django leaves Meta.ordering out (autocomplete pages by it).
    ordering = ["name", "pk"]
    list_display = ["name", "job", "individuals", "group", "photos_link", "created_at"]
    list_filter = [
        ("job", titled(ShownRelatedFilter, gettext_lazy("job"))),
        ("job__account", titled(admin.RelatedOnlyFieldListFilter, gettext_lazy("studio"))),
        "job__status",
    ]
    search_fields = ["name", "job__internal_name"]

    class Media:
        css = STYLES

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_individuals=Count("photos", filter=Q(photos__section="individuals")),
                n_group=Count("photos", filter=Q(photos__section="group")),
            )
        )

    def get_fieldsets(self, request: HttpRequest, obj: Album | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": ("job", "name")})]
        return [
            (None, {"fields": ("job", "name", "created_by", "created_at")}),
            (_("Photos"), {"fields": ("photo_grid",), "classes": ("photo-grid-fieldset",)}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Album | None = None) -> tuple[str, ...]:
        return () if obj is None else ("job", "created_by", "created_at", "photo_grid")

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

    @admin.display(description=gettext_lazy("individuals"), ordering="n_individuals")
    def individuals(self, obj: Any) -> str:
        url = changelist_url(Photo, album__id__exact=obj.pk, section__exact=Section.INDIVIDUALS)
        return format_html('<a href="{}">{}</a>', url, obj.n_individuals)

    @admin.display(description=gettext_lazy("group"), ordering="n_group")
    def group(self, obj: Any) -> str:
        url = changelist_url(Photo, album__id__exact=obj.pk, section__exact=Section.GROUP)
        return format_html('<a href="{}">{}</a>', url, obj.n_group)

    @admin.display(description=gettext_lazy("photos"))
    def photos_link(self, obj: Any) -> str:
        url = changelist_url(Photo, album__id__exact=obj.pk)
        return format_html('<a href="{}" class="album-photos">{}</a>', url, _("All photos"))

    @admin.display(description=gettext_lazy("Photos"))
    def photo_grid(self, obj: Album) -> SafeString:
        return render_to_string("admin/albums/album/photo_grid.html", {"album": obj, "sections": album_grid(obj)})


# --- photos --------------------------------------------------------------------------------------


# More filters of the photo list, added by other apps (``subjects.admin``: the state of review).
photo_filters: list[Any] = []


def camera_text(photo: Photo) -> str:
    """``Canon EOS R5``: make and model, the make said once (many cameras repeat it in the model)."""
    make, model = photo.camera_make.strip(), photo.camera_model.strip()
    if make and model.lower().startswith(make.lower()):
        return model
    return " ".join(part for part in (make, model) if part)


def map_url(latitude: float, longitude: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}#map=17/{latitude:.6f}/{longitude:.6f}"
    )


def producing_upload(photo: Photo) -> Upload | None:
    """The upload this photo's bytes came from (the first that made it), if the log still has it."""
    uploads = Upload.objects.filter(photo=photo, state=Upload.State.DONE).select_related("ftp_user")
    return uploads.filter(sha256=photo.sha256).order_by("received_at", "pk").first() or uploads.first()


@admin.register(Photo)
class PhotoAdmin(AccountScopedAdmin):
    """Photos are made by intake only: viewed, and deleted (single or bulk) with their renditions."""

    account_path = "album__job__account"
    list_display = ["thumb", "file_name", "album", "section", "pixel_size", "taken_at", "camera", "uploader"]
    list_display_links = ["thumb", "file_name"]
    list_filter = [
        ("album__job", titled(ShownRelatedFilter, gettext_lazy("job"))),
        ("album", titled(ShownRelatedFilter, gettext_lazy("album"))),
        ("section", titled(admin.ChoicesFieldListFilter, gettext_lazy("section"))),
        ("uploaded_by", titled(admin.RelatedOnlyFieldListFilter, gettext_lazy("uploaded by"))),
        ("created_at", titled(admin.DateFieldListFilter, gettext_lazy("uploaded"))),
        ("taken_at", titled(admin.DateFieldListFilter, gettext_lazy("taken"))),
        ("album__job__account", titled(admin.RelatedOnlyFieldListFilter, gettext_lazy("studio"))),
    ]
    list_select_related = ["album", "uploaded_by"]
    search_fields = ["filename", "album__name", "sha256"]
    fieldsets = [
        (None, {"fields": ("preview_image",)}),
        (
            gettext_lazy("Photo"),
            {
                "fields": (
                    "file_name",
                    "album_link",
                    "job_link",
                    "section_text",
                    "pixel_size",
                    "file_size",
                    "format_text",
                )
            },
        ),
        (
            gettext_lazy("Taken"),
            {"fields": ("taken", "camera", "serial", "camera_id_text", "position")},
        ),
        (
            gettext_lazy("Uploaded"),
            {"fields": ("uploader", "uploaded_at", "door", "sha256_text", "upload_history")},
        ),
    ]
    readonly_fields = fieldset_fields(fieldsets)

    class Media:
        css = STYLES

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        return [*self.list_filter, *photo_filters]

    def get_fieldsets(self, request: HttpRequest, obj: Photo | None = None) -> Any:
        return without_empty(self.fieldsets, {"camera_id_text": obj is None or not obj.camera_id})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Photo | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        album_services.photo_delete(photo=obj)

    # --- the list ----------------------------------------------------------------------------------

    @admin.display(description="")
    def thumb(self, obj: Photo) -> str:
        if not obj.thumbnail:
            return ""
        return format_html('<img class="photo-thumb" src="{}" alt="{}">', obj.thumbnail.url, obj.filename)

    @admin.display(description=gettext_lazy("pixel size"), ordering="width")
    def pixel_size(self, obj: Photo) -> str:
        size = _("%(width)s × %(height)s px")  # noqa: RUF001 - the multiplication sign is meant
        return size % {"width": obj.width, "height": obj.height}

    @admin.display(description=gettext_lazy("camera"), ordering="camera_model")
    def camera(self, obj: Photo) -> str:
        return camera_text(obj)

    @admin.display(description=gettext_lazy("uploaded by"), ordering="uploaded_by__username")
    def uploader(self, obj: Photo) -> str:
        if obj.uploaded_by is not None:
            return obj.uploaded_by.username
        upload = producing_upload(obj) if obj.pk else None
        return uploader(upload) if upload is not None else ""

    # --- the photo's page --------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("Preview"))
    def preview_image(self, obj: Photo) -> str:
        shown = obj.preview or obj.thumbnail
        if not shown:
            return _("No preview (the photo is still being processed).")
        return format_html(
            '<a href="{}" class="photo-preview-link"><img class="photo-preview" src="{}" alt="{}"></a>'
            '<div class="photo-original"><a href="{}">{}</a></div>',
            obj.original.url,
            shown.url,
            obj.filename,
            obj.original.url,
            _("Open the original"),
        )

    @admin.display(description=gettext_lazy("File name"), ordering="filename")
    def file_name(self, obj: Photo) -> str:
        return obj.filename

    @admin.display(description=gettext_lazy("Format"))
    def format_text(self, obj: Photo) -> str:
        return obj.format

    @admin.display(description=gettext_lazy("Album"))
    def album_link(self, obj: Photo) -> str:
        return format_html('<a href="{}">{}</a>', change_url(obj.album), obj.album.name)

    @admin.display(description=gettext_lazy("Job"))
    def job_link(self, obj: Photo) -> str:
        job = obj.album.job
        return format_html('<a href="{}">{}</a> {}', change_url(job), job.internal_name, job.title)

    @admin.display(description=gettext_lazy("Section"))
    def section_text(self, obj: Photo) -> str:
        return str(Section(obj.section).label)

    @admin.display(description=gettext_lazy("Size"))
    def file_size(self, obj: Photo) -> str:
        return filesizeformat(obj.size)

    @admin.display(description=gettext_lazy("Taken at"))
    def taken(self, obj: Photo) -> str:
        return when(obj.taken_at) or _("not recorded by the camera")

    @admin.display(description=gettext_lazy("Serial number"))
    def serial(self, obj: Photo) -> str:
        return obj.camera_serial

    @admin.display(description=gettext_lazy("Camera id"))
    def camera_id_text(self, obj: Photo) -> str:
        return obj.camera_id

    @admin.display(description=gettext_lazy("Position"))
    def position(self, obj: Photo) -> str:
        if obj.gps_latitude is None or obj.gps_longitude is None:
            return _("not recorded by the camera")
        return format_html(
            '{}: {}, {}: {} <a href="{}" class="photo-map" rel="noopener noreferrer" target="_blank">{}</a>',
            _("Latitude"),
            f"{obj.gps_latitude:.6f}",
            _("Longitude"),
            f"{obj.gps_longitude:.6f}",
            map_url(obj.gps_latitude, obj.gps_longitude),
            _("Show on the map (OpenStreetMap)"),
        )

    @admin.display(description=gettext_lazy("Uploaded at"))
    def uploaded_at(self, obj: Photo) -> str:
        return when(obj.created_at)

    @admin.display(description=gettext_lazy("Door"))
    def door(self, obj: Photo) -> str:
        upload = producing_upload(obj)
        return str(Door(upload.door).label) if upload is not None else ""

    @admin.display(description=gettext_lazy("SHA-256"))
    def sha256_text(self, obj: Photo) -> str:
        return format_html('<span class="checksum">{}</span>', obj.sha256)

    @admin.display(description=gettext_lazy("Upload history"))
    def upload_history(self, obj: Photo) -> SafeString:
        uploads = Upload.objects.filter(photo=obj).select_related("ftp_user").order_by("received_at", "pk")
        rows = [
            {
                "upload": u,
                "url": change_url(u),
                "badge": state_badge(u),
                "uploader": uploader(u),
                "door": Door(u.door).label,
                "received": when(u.received_at),
            }
            for u in uploads
        ]
        return render_to_string("admin/albums/photo/upload_history.html", {"rows": rows})


# --- the upload log --------------------------------------------------------------------------------


@admin.register(Upload)
class UploadAdmin(ReadOnlyMixin, AccountScopedAdmin):
    """The upload log: one row per finished file, its state as a badge and the reason in full.

    It is a record, so nobody edits or deletes it here (its page is a view); "Process again" is what
    staff may do with it (the ``albums.change_upload`` permission), from the list or the page.
    """

    list_display = ["state_badge", "reason_text", "file_name", "album_text", "uploader", "door", "received"]
    list_display_links = ["file_name"]
    list_filter = [
        ("state", titled(admin.ChoicesFieldListFilter, gettext_lazy("state"))),
        ("job", titled(ShownRelatedFilter, gettext_lazy("job"))),
        ("ftp_username", titled(admin.AllValuesFieldListFilter, gettext_lazy("uploaded by"))),
        ("door", titled(admin.ChoicesFieldListFilter, gettext_lazy("door"))),
        ("received_at", titled(admin.DateFieldListFilter, gettext_lazy("received"))),
        ("reason", titled(admin.AllValuesFieldListFilter, gettext_lazy("reason"))),
        ("job__account", titled(admin.RelatedOnlyFieldListFilter, gettext_lazy("studio"))),
    ]
    list_select_related = ["job", "ftp_user"]
    search_fields = ["filename", "album_name", "sha256", "reason", "ftp_username"]
    fieldsets = [
        (None, {"fields": ("state_badge", "reason_text", "advice")}),
        (
            gettext_lazy("File"),
            {"fields": ("file_name", "path", "file_links", "size_text", "sha256_text", "photo_link")},
        ),
        (
            gettext_lazy("From"),
            {"fields": ("uploader", "door", "client_address_text", "source_path_text", "album_link", "section_text")},
        ),
        (gettext_lazy("When"), {"fields": ("received", "finished", "acknowledged", "purged")}),
    ]
    readonly_fields = fieldset_fields(fieldsets)
    change_form_template = "admin/albums/upload/change_form.html"
    actions = ["reprocess"]

    class Media:
        css = STYLES

    def get_fieldsets(self, request: HttpRequest, obj: Upload | None = None) -> Any:
        if obj is None:
            return self.fieldsets
        return without_empty(
            self.fieldsets,
            {
                "photo_link": obj.photo_id is None,
                "client_address_text": not obj.client_address,
                # A person's client sends the path it shows; only a device's (below its album) says more.
                "source_path_text": not obj.source_path or obj.source_path == obj.path,
                "sha256_text": not obj.sha256,
                "finished": obj.finished_at is None,
                "acknowledged": obj.acknowledged_at is None,
                "purged": obj.purged_at is None,
            },
        )

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("albums.change_upload")

    @admin.action(description=gettext_lazy("Process again"), permissions=["reprocess"])
    def reprocess(self, request: HttpRequest, queryset: QuerySet[Upload]) -> None:
        chosen = list(queryset.values_list("pk", flat=True))
        self._reprocess(request, chosen)

    def _reprocess(self, request: HttpRequest, chosen: list[int]) -> None:
        queued = intake.upload_reprocess(upload_ids=chosen)
        self.message_user(
            request,
            ngettext("%(count)d upload queued again.", "%(count)d uploads queued again.", len(queued))
            % {"count": len(queued)},
        )
        busy = sorted(set(chosen) - set(queued))
        if busy:
            self.message_user(
                request,
                _("Being processed now, so not queued: %(ids)s.") % {"ids": ", ".join(map(str, busy))},
                messages.WARNING,
            )

    # --- "Process again" from the upload's page -------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        admin_view = self.admin_site.admin_view
        return [
            path(
                "<int:upload_id>/reprocess/",
                admin_view(require_POST(self.reprocess_view)),
                name="albums_upload_reprocess",
            ),
            path("<int:upload_id>/file/", admin_view(self.file_view), name="albums_upload_file"),
            *super().get_urls(),
        ]

    def _visible(self, request: HttpRequest, upload_id: int) -> Upload:
        """The upload, when this person may view it; another studio's is as missing as one that does not exist."""
        upload = self.get_queryset(request).filter(pk=upload_id).first() if self.has_view_permission(request) else None
        if upload is None:
            raise Http404("No such upload.")
        return upload

    def reprocess_view(self, request: HttpRequest, upload_id: int) -> HttpResponse:
        upload = self._visible(request, upload_id)
        if not self.has_reprocess_permission(request):
            raise PermissionDenied
        self._reprocess(request, [upload.pk])
        return HttpResponseRedirect(change_url(upload))

    def file_view(self, request: HttpRequest, upload_id: int) -> FileResponse:
        """The upload's file (a rejected one from quarantine), shown or, with ``?download``, downloaded."""
        return views.upload_file(self._visible(request, upload_id), download="download" in request.GET)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = {"can_reprocess": self.has_reprocess_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    # --- columns and fields ------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("state"), ordering="state")
    def state_badge(self, obj: Upload) -> str:
        return state_badge(obj)

    @admin.display(description=gettext_lazy("reason"), ordering="reason")
    def reason_text(self, obj: Upload) -> str:
        return format_html('<span class="upload-reason">{}</span>', obj.reason) if obj.reason else ""

    @admin.display(description=gettext_lazy("What to do"))
    def advice(self, obj: Upload) -> str:
        return reasons.advice(obj.reason) or _("Nothing to do.")

    @admin.display(description=gettext_lazy("album"), ordering="album_name")
    def album_text(self, obj: Upload) -> str:
        return f"{obj.job.internal_name} / {obj.album_name}"

    @admin.display(description=gettext_lazy("uploaded by"), ordering="ftp_username")
    def uploader(self, obj: Upload) -> str:
        return uploader(obj)

    @admin.display(description=gettext_lazy("door"), ordering="door")
    def door(self, obj: Upload) -> str:
        return str(Door(obj.door).label)

    @admin.display(description=gettext_lazy("received"), ordering="received_at")
    def received(self, obj: Upload) -> str:
        return when(obj.received_at, "SHORT_DATETIME_FORMAT")

    @admin.display(description=gettext_lazy("File name"), ordering="filename")
    def file_name(self, obj: Upload) -> str:
        return obj.filename

    @admin.display(description=gettext_lazy("Path"))
    def path(self, obj: Upload) -> str:
        return obj.path

    @admin.display(description=gettext_lazy("The file"))
    def file_links(self, obj: Upload) -> str:
        if not obj.file.name:
            return _("Removed by housekeeping.")
        url = reverse("admin:albums_upload_file", args=[obj.pk])
        download = format_html(
            '<a href="{}?download=1" class="upload-download" download>{}</a>', url, _("Download the file")
        )
        if views.inline_type(obj) is None:
            return download
        return format_html(
            '<a href="{}" class="upload-view">{}</a> · {}<div><img class="upload-picture" src="{}" alt="{}"></div>',
            url,
            _("View the file"),
            download,
            url,
            obj.filename,
        )

    @admin.display(description=gettext_lazy("Size"))
    def size_text(self, obj: Upload) -> str:
        return filesizeformat(obj.size)

    @admin.display(description=gettext_lazy("SHA-256"))
    def sha256_text(self, obj: Upload) -> str:
        return format_html('<span class="checksum">{}</span>', obj.sha256) if obj.sha256 else ""

    @admin.display(description=gettext_lazy("Photo"))
    def photo_link(self, obj: Upload) -> str:
        photo = obj.photo
        return format_html('<a href="{}">{}</a>', change_url(photo), photo.filename) if photo is not None else ""

    @admin.display(description=gettext_lazy("Address"))
    def client_address_text(self, obj: Upload) -> str:
        return obj.client_address or ""

    @admin.display(description=gettext_lazy("Path on the camera"))
    def source_path_text(self, obj: Upload) -> str:
        return obj.source_path

    @admin.display(description=gettext_lazy("Album"))
    def album_link(self, obj: Upload) -> str:
        if obj.album is None:
            return _("%(name)s (deleted)") % {"name": obj.album_name}
        return format_html('<a href="{}">{} / {}</a>', change_url(obj.album), obj.job.internal_name, obj.album_name)

    @admin.display(description=gettext_lazy("Section"))
    def section_text(self, obj: Upload) -> str:
        return str(Section(obj.section).label)

    @admin.display(description=gettext_lazy("Finished"))
    def finished(self, obj: Upload) -> str:
        return when(obj.finished_at)

    @admin.display(description=gettext_lazy("Acknowledged by the photographer"))
    def acknowledged(self, obj: Upload) -> str:
        return when(obj.acknowledged_at)

    @admin.display(description=gettext_lazy("File removed by housekeeping"))
    def purged(self, obj: Upload) -> str:
        return when(obj.purged_at)
