"""Admin for subjects (DESIGN §10): the subject list and an album's review page, scoped like every
admin of the portal (``jobs.admin.AccountScopedAdmin``).

Subjects are made by the roster import and blank cards (``subjects.services``), placed by
assignment and deleted only with their album, so the subject pages here only show them. The
corrections are on the review page of an album (``review_view``, linked from the album's page and
from each subject in the list): the flags, the cards whose code could not be read (type it), the
unassigned photos and every subject's photo strip, where photos are selected and moved to another
subject or out of every subject, and each subject is marked checked. Its writes go through
``subjects.review``; their refusals are messages. The same page downloads the album as a ZIP, a
folder per subject (``subjects.export``). The album's page gets its link from the template
``admin/albums/album/change_form.html`` of this app, so ``albums`` knows nothing of subjects.

Viewing needs ``subjects.view_subject``, the corrections ``subjects.change_subject``; the album must
be one the user may see (``related_choices``), so another studio's album is a 404 like a missing one.

Two hooks of ``albums.admin`` are filled here: an album's photo grid shows its individuals photos
per subject (``subject_groups``: one group per subject in number order, then the photos of no
subject, then the card photos), and the photo list is filterable by the state of review
(``ReviewFilter``). There is no review field on a photo; its state is derived from what assignment
and the review made of it: *flagged* (its scan has review flags or a reason it is held),
*unassigned* (an individuals photo of no subject, not a card), *card* (a card photo), *assigned*
(belongs to a subject not checked yet) and *checked* (belongs to a subject a person marked checked).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from albums import admin as album_admin
from albums.models import Album, Photo, Section
from jobs.admin import AccountScopedAdmin, ReadOnlyMixin, related_choices
from jobs.exceptions import PortalError
from subjects import export, review
from subjects.models import PhotoScan, Subject


class CheckedFilter(admin.SimpleListFilter):
    title = "checked"
    parameter_name = "checked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Checked"), ("no", "Not checked yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in ("yes", "no"):
            return queryset.filter(checked_at__isnull=self.value() == "no")
        return queryset


def _ids(values: list[str]) -> list[int] | None:
    """Ids from a form, or None when one of them is not an id (a forged or broken post)."""
    return [int(v) for v in values] if all(v.isdigit() for v in values) else None


def _by(request: HttpRequest) -> AbstractBaseUser:
    """Who is making a correction (the admin lets no one in who is not logged in)."""
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


def _photos(count: int) -> str:
    return ngettext("%(count)d photo", "%(count)d photos", count) % {"count": count}


@admin.register(Subject)
class SubjectAdmin(ReadOnlyMixin, AccountScopedAdmin):
    account_path = "album__job__account"
    # Explicit: with the photo count's GROUP BY, Django leaves Meta.ordering out.
    ordering = ["album__name", "album_id", "number"]
    list_display = ["number", "name", "album", "photo_count", "flag_list", "checked", "review_link"]
    list_display_links = ["number", "name"]
    list_filter = [("album", admin.RelatedOnlyFieldListFilter), CheckedFilter]
    search_fields = ["name", "code", "external_id", "album__name"]
    fields = readonly_fields = (
        "album",
        "number",
        "name",
        "external_id",
        "code",
        "photo_count",
        "flag_list",
        "checked_at",
        "activated_at",
        "created_at",
        "strip",
    )
    actions = ["mark_checked", "mark_unchecked"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("album").annotate(n_photos=Count("photos"))

    # Subjects go with their album, never alone. Deleting an album asks this for each of its subjects
    # (Django's cascade check): they go along when the user may delete the album. A subject alone has
    # no delete page or action here.
    def has_delete_permission(self, request: HttpRequest, obj: Subject | None = None) -> bool:
        if obj is None:
            return False
        return self.admin_site.get_model_admin(Album).has_delete_permission(request, obj.album)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        raise PermissionDenied

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})

    # --- the list and the subject's page ---------------------------------------------------------

    @admin.display(description=gettext_lazy("photos"), ordering="n_photos")
    def photo_count(self, obj: Any) -> int:
        return obj.n_photos

    @admin.display(description=gettext_lazy("flags"))
    def flag_list(self, obj: Subject) -> str:
        return "; ".join(review.flag_text(f) for f in obj.flags)

    @admin.display(description=gettext_lazy("checked"), boolean=True, ordering="checked_at")
    def checked(self, obj: Subject) -> bool:
        return obj.checked_at is not None

    @admin.display(description="")
    def review_link(self, obj: Subject) -> str:
        url = reverse("admin:subjects_subject_review", args=[obj.album_id])
        return format_html('<a href="{}#subject-{}">review</a>', url, obj.pk)

    @admin.display(description=gettext_lazy("photos"))
    def strip(self, obj: Subject) -> str:
        photos = obj.photos.order_by("taken_at", "filename")
        thumbs = format_html_join(
            "",
            '<img src="{}" alt="{}" title="{}" style="height:80px;margin:0 4px 4px 0">',
            ((p.thumbnail.url, p.filename, p.filename) for p in photos if p.thumbnail),
        )
        url = reverse("admin:subjects_subject_review", args=[obj.album_id])
        return format_html('<div>{}</div><a href="{}#subject-{}">Review the album</a>', thumbs, url, obj.pk)

    # --- actions -----------------------------------------------------------------------------------

    def has_review_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subjects.change_subject")

    @admin.action(description=gettext_lazy("Mark checked"), permissions=["review"])
    def mark_checked(self, request: HttpRequest, queryset: QuerySet[Subject]) -> None:
        chosen = list(queryset.filter(checked_at__isnull=True))  # the checked ones keep their time
        for subject in chosen:
            review.subject_mark_checked(subject=subject, by=_by(request))
            self.log_change(request, subject, f"{subject} is marked checked.")
        self.message_user(request, _("%(count)d subject(s) marked checked.") % {"count": len(chosen)})

    @admin.action(description=gettext_lazy("Mark not checked"), permissions=["review"])
    def mark_unchecked(self, request: HttpRequest, queryset: QuerySet[Subject]) -> None:
        chosen = list(queryset.filter(checked_at__isnull=False))
        for subject in chosen:
            review.subject_mark_unchecked(subject=subject, by=_by(request))
            self.log_change(request, subject, f"{subject} is marked not checked.")
        self.message_user(request, _("%(count)d subject(s) marked not checked.") % {"count": len(chosen)})

    # --- the review page of an album ---------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("album/<int:album_id>/", view(self.review_view), name="subjects_subject_review"),
            path("album/<int:album_id>/export/", view(self.export_view), name="subjects_subject_export"),
            *super().get_urls(),
        ]

    def _album(self, request: HttpRequest, album_id: int) -> Album:
        """The album, if this user may see it; any other (another studio's, a missing one) is a 404."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        album = related_choices(self.admin_site, request, Album).select_related("job").filter(pk=album_id).first()
        if album is None:
            raise Http404("No such album.")
        return album

    def review_view(self, request: HttpRequest, album_id: int) -> HttpResponse:
        album = self._album(request, album_id)
        if request.method == "POST":
            if not self.has_review_permission(request):
                raise PermissionDenied
            anchor = self._correct(request, album)
            return HttpResponseRedirect(request.path + (f"#{anchor}" if anchor else ""))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Review subjects: %(album)s") % {"album": album.name},
            "album": album,
            "review": review.album_review(album=album),
            "can_review": self.has_review_permission(request),
        }
        return TemplateResponse(request, "admin/subjects/review.html", context)

    def _correct(self, request: HttpRequest, album: Album) -> str:
        """Carry out one correction posted from the review page; returns where on the page to go back to."""
        action = request.POST.get("action", "")
        try:
            if action == "move":
                return self._move(request, album)
            if action == "type_code":
                return self._type_code(request, album)
            if action in ("check", "uncheck"):
                return self._check(request, album, checked=action == "check")
        except PortalError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return ""
        self.message_user(request, _("That is not something this page does."), messages.ERROR)
        return ""

    def _move(self, request: HttpRequest, album: Album) -> str:
        photo_ids = _ids(request.POST.getlist("photo"))
        target = request.POST.get("to", "")
        if photo_ids is None:
            self.message_user(request, _("Some of the chosen photos are not photos of this album."), messages.ERROR)
            return ""
        subject: Subject | None = None
        if target == "unassigned":
            pass
        elif target.isdigit():
            subject = Subject.objects.filter(album=album, pk=int(target)).first()
            if subject is None:
                self.message_user(request, _("There is no such subject in this album."), messages.ERROR)
                return ""
        else:
            self.message_user(request, _("Choose where to move the photos to."), messages.ERROR)
            return ""
        moved = review.photos_move(album=album, photo_ids=photo_ids, to_subject=subject, by=_by(request))
        names = ", ".join(p.filename for p in moved)
        if subject is not None:
            text = _("Moved %(photos)s to %(subject)s: %(names)s.") % {
                "photos": _photos(len(moved)),
                "subject": subject,
                "names": names,
            }
        else:
            text = _("Moved %(photos)s out of every subject (unassigned): %(names)s.") % {
                "photos": _photos(len(moved)),
                "names": names,
            }
        self.log_change(request, album, text)
        self.message_user(request, text, messages.SUCCESS)
        return f"subject-{subject.pk}" if subject is not None else "unassigned"

    def _type_code(self, request: HttpRequest, album: Album) -> str:
        photo_id = request.POST.get("photo", "")
        scan = (
            PhotoScan.objects.select_related("photo").filter(photo__album=album, photo_id=photo_id).first()
            if photo_id.isdigit()
            else None
        )
        if scan is None:
            self.message_user(request, _("There is no such scanned photo in this album."), messages.ERROR)
            return ""
        subject = review.card_code_type(scan=scan, code=request.POST.get("code", ""), by=_by(request))
        if subject is None:
            text = _("The code typed for %(name)s was taken back.") % {"name": scan.photo.filename}
        else:
            text = _("The photo %(name)s is the card of %(subject)s.") % {
                "name": scan.photo.filename,
                "subject": subject,
            }
        self.log_change(request, album, text)
        self.message_user(request, text, messages.SUCCESS)
        return f"subject-{subject.pk}" if subject is not None else "unreadable"

    def _check(self, request: HttpRequest, album: Album, *, checked: bool) -> str:
        subject_id = request.POST.get("subject", "")
        subject = Subject.objects.filter(album=album, pk=subject_id).first() if subject_id.isdigit() else None
        if subject is None:
            self.message_user(request, _("There is no such subject in this album."), messages.ERROR)
            return ""
        if (subject.checked_at is not None) == checked:
            # Twice the same click (a second tab, a reload): nothing to do, nothing to record.
            already = _("%(subject)s was already checked.") if checked else _("%(subject)s was already not checked.")
            self.message_user(request, already % {"subject": subject}, messages.INFO)
            return f"subject-{subject.pk}"
        if checked:
            review.subject_mark_checked(subject=subject, by=_by(request))
            text = _("%(subject)s is marked checked.") % {"subject": subject}
        else:
            review.subject_mark_unchecked(subject=subject, by=_by(request))
            text = _("%(subject)s is marked not checked.") % {"subject": subject}
        self.log_change(request, subject, text)
        self.message_user(request, text, messages.SUCCESS)
        return f"subject-{subject.pk}"

    def export_view(self, request: HttpRequest, album_id: int) -> StreamingHttpResponse:
        album = self._album(request, album_id)
        response = StreamingHttpResponse(export.album_zip(album), content_type="application/zip")
        response["Content-Disposition"] = content_disposition_header(True, export.zip_filename(album))
        response["Cache-Control"] = "private, no-store"  # children's photos: never kept by a proxy
        return response


# --- the hooks of albums.admin: the album grid per subject, the photo list's review filter --------


def subject_groups(album: Album, photos: list[Photo]) -> list[album_admin.PhotoGroup] | None:
    """The album's individuals ``photos`` per subject (None when the album has no subjects)."""
    subjects = list(Subject.objects.filter(album=album).prefetch_related("photos").order_by("number"))
    if not subjects:
        return None
    shown = {p.pk: p for p in photos}
    cards = set(PhotoScan.objects.filter(photo__album=album, is_card=True).values_list("photo_id", flat=True))
    review_url = reverse("admin:subjects_subject_review", args=[album.pk])
    groups: list[album_admin.PhotoGroup] = []
    placed: set[int] = set()
    for subject in subjects:
        own = [shown[p.pk] for p in subject.photos.all() if p.pk in shown and p.pk not in cards]
        own.sort(key=photos.index)
        placed.update(p.pk for p in own)
        groups.append(
            album_admin.PhotoGroup(
                str(subject),
                own,
                link=f"{review_url}#subject-{subject.pk}",
                link_text=_("review"),
                key=f"grid-subject-{subject.pk}",
            )
        )
    loose = [p for p in photos if p.pk not in placed and p.pk not in cards]
    groups.append(album_admin.PhotoGroup(_("No subject"), loose, key="grid-unassigned"))
    card_photos = [p for p in photos if p.pk in cards]
    if card_photos:
        groups.append(album_admin.PhotoGroup(_("Card photos"), card_photos, key="grid-cards"))
    return groups


class ReviewFilter(admin.SimpleListFilter):
    """The state of review of a photo (how it is derived: the module docstring)."""

    title = gettext_lazy("review")
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("flagged", gettext_lazy("Flagged for a look")),
            ("unassigned", gettext_lazy("No subject")),
            ("card", gettext_lazy("Card photos")),
            ("assigned", gettext_lazy("With a subject, not checked")),
            ("checked", gettext_lazy("With a checked subject")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        mine = Subject.photos.through.objects.filter(photo_id=OuterRef("pk"))
        card = Exists(PhotoScan.objects.filter(photo_id=OuterRef("pk"), is_card=True))
        value = self.value()
        if value == "flagged":
            flagged = PhotoScan.objects.filter(photo_id=OuterRef("pk")).filter(
                Q(flags__0__isnull=False) | ~Q(held_reason="")
            )
            return queryset.filter(Exists(flagged))
        if value == "unassigned":
            return queryset.filter(section=Section.INDIVIDUALS).exclude(Exists(mine)).exclude(card)
        if value == "card":
            return queryset.filter(card)
        if value == "assigned":
            return queryset.filter(Exists(mine.filter(subject__checked_at__isnull=True))).exclude(card)
        if value == "checked":
            return queryset.filter(Exists(mine.filter(subject__checked_at__isnull=False))).exclude(card)
        return queryset


album_admin.individuals_groupers.append(subject_groups)
album_admin.photo_filters.append(ReviewFilter)
