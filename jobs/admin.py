"""Admin for accounts, FTP users, SSH keys and jobs, and the base every admin of the portal builds on.

``AccountScopedAdmin`` is where the scoping lives. A staff user sees, and can pick in any form, only
what belongs to the accounts they are a member of: rows (and so list filters, search, autocomplete and
the change/delete/history URLs, which all start from ``get_queryset``) and every foreign-key choice,
whatever model it points to (``related_choices``). Superusers see everything.

Writes go through ``jobs.services`` and ``albums.services``: the admin never writes a rule of its own.
A form runs the service's check in ``clean`` so its sentence shows next to the field; a refusal at save
time is shown as a message, never as a traceback. FTP users are read-only here: a studio's owners
manage them on the FTP settings page (``jobs.views``), the only place that decides who may.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import actions as admin_actions
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import model_ngettext
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db import models, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from jobs import selectors, services
from jobs.exceptions import PortalError
from jobs.models import Account, FTPUser, Membership, PhotoJob, SSHKey


def member_accounts(request: HttpRequest) -> QuerySet[Account]:
    """The accounts the logged-in user is a member of (owner or staff)."""
    return selectors.staffed_accounts(request.user)


def related_choices(admin_site: admin.AdminSite, request: HttpRequest, model: type[models.Model]) -> QuerySet[Any]:
    """What a user may pick for a relation to ``model``: exactly what they may see of it in this admin."""
    if request.user.is_superuser:
        return model._default_manager.all()
    if model is Account:
        return member_accounts(request)
    try:
        model_admin = admin_site.get_model_admin(model)
    except NotRegistered:
        model_admin = None
    if isinstance(model_admin, AccountScopedAdmin):
        return model_admin.get_queryset(request)
    # Deny by default: a model nobody taught the admin to scope (users, groups) offers no choices.
    return model._default_manager.none()


def adopt(obj: models.Model, saved: models.Model) -> None:
    """Let the admin go on (log entry, message, redirect) with the object it built, as the service saved it."""
    obj.__dict__.update(saved.__dict__)


def delete_selected(modeladmin: AccountScopedAdmin, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
    """Django's "Delete selected" with its confirmation page, but each object goes through ``delete_model``
    (the service) on its own: a refusal keeps that object, says why, and does not stop the others."""
    _, _, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if not request.POST.get("post") or perms_needed or protected:
        return admin_actions.delete_selected(modeladmin, request, queryset)  # the confirmation (or refusal) page
    deleted = 0
    for obj in queryset:
        try:
            with transaction.atomic():
                modeladmin.log_deletions(request, queryset.filter(pk=obj.pk))  # before: a deleted row has no pk
                modeladmin.delete_model(request, obj)
        except PortalError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
        else:
            deleted += 1
    if deleted:
        modeladmin.message_user(
            request, f"Deleted {deleted} {model_ngettext(modeladmin.opts, deleted)}.", messages.SUCCESS
        )
    return None


class ScopedChoicesMixin:
    """Every foreign-key and many-to-many choice limited to what the user may see (``related_choices``)."""

    admin_site: admin.AdminSite

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            kwargs["queryset"] = related_choices(self.admin_site, request, db_field.related_model)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "queryset" not in kwargs:
            kwargs["queryset"] = related_choices(self.admin_site, request, db_field.related_model)
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class AccountScopedAdmin(ScopedChoicesMixin, admin.ModelAdmin):
    """Rows limited to the accounts the staff user belongs to; superusers see everything.

    ``account_path`` leads from the model to its account. Deleting, single or bulk, goes through
    ``delete_model``, which a subclass points at its service.
    """

    account_path = "account"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        # A subquery rather than a join: no duplicate rows, so no distinct() under the counts and filters.
        return qs.filter(**{f"{self.account_path}__in": member_accounts(request)})

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        django_delete = actions.get("delete_selected")
        if django_delete is not None:
            actions["delete_selected"] = (delete_selected, *django_delete[1:])
        return actions

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PortalError as exc:
            # The service refused at save time what the form's check let through (someone else was
            # quicker); Django's transaction around the save has rolled everything back.
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except PortalError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyMixin:
    """Shown, never written in the admin (for everyone, superusers too)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ServiceModelForm(forms.ModelForm):
    """An admin form whose rules are the services'.

    ``clean`` runs the service's check (``check_with_service``) so its sentence shows next to the field.
    Django's own validation of ``service_checked_fields`` (unique fields, constraints) is skipped: it
    would repeat the service's rule in raw words ("Constraint “album_name_unique_ci” is violated."), and
    the service's write stays the last word anyway.
    """

    service_checked_fields: tuple[str, ...] = ()

    def _get_validation_exclusions(self) -> set[str]:
        return super()._get_validation_exclusions() | set(self.service_checked_fields)  # type: ignore[misc]

    def check_with_service(self, field: str, check: Callable[..., object], **kwargs: Any) -> None:
        try:
            check(**kwargs)
        except PortalError as exc:
            self.add_error(field, exc.message)


class UnseenRowsMixin:
    """Rows of a model the user may not view do not exist for them.

    Django's history view looks a row up before it checks the permission: without this it answers
    "permission denied" for a row that exists and "does not exist" for one that does not, which tells
    a studio's staff which logins other studios have.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)  # type: ignore[misc]
        return qs if self.has_view_or_change_permission(request) else qs.none()  # type: ignore[attr-defined]


# Logins and groups are the operators' (createsuperuser, ``account add-member``); studio staff have no
# permission on them, and now cannot probe them either.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PortalUserAdmin(UnseenRowsMixin, UserAdmin):
    pass


@admin.register(Group)
class PortalGroupAdmin(UnseenRowsMixin, GroupAdmin):
    pass


# --- accounts and FTP users -------------------------------------------------------------------


class MembershipInline(ScopedChoicesMixin, admin.TabularInline):
    """Members of a studio: an operator (superuser) adds and changes them here, an owner on the members
    page; either way through ``jobs.services.account_add_member`` (``AccountAdmin.save_formset``)."""

    model = Membership
    extra = 0
    fields = ("user", "role")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the rows are the account's, which the admin already scopes


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, AccountScopedAdmin):
    """Studios are created on the command line (``account create``); members are added with
    ``account add-member``, on the members page (owners) or here (operators)."""

    account_path = "pk"
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    fields = readonly_fields = ("name", "created_at", "members_page")
    inlines = [MembershipInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)  # for the members inline: the account's own fields stay

    @admin.display(description=gettext_lazy("members"))
    def members_page(self, obj: Account) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("jobs:members", args=[obj.pk]), gettext_lazy("The studio's members page")
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> tuple[str, ...]:
        if obj is not None and selectors.can_manage_members(request.user, obj):
            return self.readonly_fields
        return ("name", "created_at")

    def get_fields(self, request: HttpRequest, obj: Account | None = None) -> tuple[str, ...]:
        return self.get_readonly_fields(request, obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)
            return
        account = form.instance
        deleted = [f for f in formset.initial_forms if formset.can_delete and formset._should_delete_form(f)]
        for f in deleted:
            services.membership_remove(membership=f.instance)
        for f in formset.forms:
            if f in deleted or not f.has_changed() or not f.cleaned_data:
                continue
            if f.instance.pk is not None and "user" in f.changed_data:  # the row now names someone else
                services.membership_remove(membership=Membership.objects.get(pk=f.instance.pk))
            services.account_add_member(account=account, user=f.cleaned_data["user"], role=f.cleaned_data["role"])
        # What Django's change message reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


class SSHKeyInline(ScopedChoicesMixin, ReadOnlyMixin, admin.TabularInline):
    model = SSHKey
    extra = 0
    fields = readonly_fields = ("key_type", "fingerprint", "comment", "created_at", "last_used_at")


@admin.register(FTPUser)
class FTPUserAdmin(ReadOnlyMixin, AccountScopedAdmin):
    """FTP users as staff need to know them; the password hash is never shown, only whether there is one."""

    list_display = ["username", "account", "is_active", "has_password", "last_login_at", "last_login_address"]
    list_filter = ["is_active", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["username"]
    fields = readonly_fields = (
        "username",
        "account",
        "is_active",
        "has_password",
        "last_login_at",
        "last_login_address",
        "created_at",
        "settings_page",
    )
    inlines = [SSHKeyInline]

    @admin.display(description="has a password")
    def has_password(self, obj: FTPUser) -> str:
        return "yes" if obj.password else "no"

    @admin.display(description="changes")
    def settings_page(self, obj: FTPUser) -> str:
        url = reverse("jobs:ftp_user", kwargs={"account_id": obj.account_id, "username": obj.username})
        return format_html(
            "The studio's owners set the password, add SSH keys and deactivate this FTP user on"
            ' <a href="{}">its FTP settings page</a>.',
            url,
        )


# --- jobs ---------------------------------------------------------------------------------------


def _set_status(status: str) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet[PhotoJob]], None]:
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[PhotoJob]) -> None:
        for job in queryset:
            try:
                services.job_set_status(job=job, status=status)
            except PortalError as exc:
                modeladmin.message_user(request, f"{job}: {exc.message}", messages.ERROR)
        modeladmin.message_user(
            request,
            gettext("%(count)d job(s) set to %(status)s.")
            % {"count": queryset.count(), "status": PhotoJob.Status(status).label},
        )

    action.__name__ = f"set_status_{status}"
    return admin.action(
        description=format_lazy(gettext_lazy("Set status: {status}"), status=PhotoJob.Status(status).label)
    )(action)


class PhotoJobForm(ServiceModelForm):
    service_checked_fields = ("account", "internal_name")

    class Meta:
        model = PhotoJob
        fields = ["account", "internal_name", "title", "status"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        job = self.instance if self.instance.pk else None
        account = job.account if job is not None else cleaned.get("account")
        if account is not None and "internal_name" in cleaned:
            self.check_with_service(
                "internal_name",
                services.job_name_check,
                account=account,
                internal_name=cleaned["internal_name"],
                job=job,
            )
        return cleaned


@admin.register(PhotoJob)
class PhotoJobAdmin(AccountScopedAdmin):
    """Jobs: the account is chosen on add and fixed after; jobs are archived, never deleted here."""

    form = PhotoJobForm
    list_display = ["internal_name", "title", "account", "status", "album_count", "photo_count", "status_changed_at"]
    list_filter = ["status", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["internal_name", "title"]
    actions = [_set_status(s) for s in PhotoJob.Status.values]
    # Explicit: with the counts' GROUP BY, Django leaves Meta.ordering out (autocomplete pages by it).
    ordering = ["internal_name", "pk"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .annotate(n_albums=Count("albums", distinct=True), n_photos=Count("albums__photos", distinct=True))
        )

    @admin.display(description=gettext_lazy("albums"), ordering="n_albums")
    def album_count(self, obj: Any) -> str:
        url = reverse("admin:albums_album_changelist") + f"?job__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.n_albums)

    @admin.display(description=gettext_lazy("photos"), ordering="n_photos")
    def photo_count(self, obj: Any) -> str:
        url = reverse("admin:albums_photo_changelist") + f"?album__job__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj.n_photos)

    def get_fields(self, request: HttpRequest, obj: PhotoJob | None = None) -> tuple[str, ...]:
        fields = ("account", "internal_name", "title", "status")
        return fields if obj is None else (*fields, "created_at", "status_changed_at")

    def get_readonly_fields(self, request: HttpRequest, obj: PhotoJob | None = None) -> tuple[str, ...]:
        return () if obj is None else ("account", "created_at", "status_changed_at")

    def has_delete_permission(self, request: HttpRequest, obj: PhotoJob | None = None) -> bool:
        return False  # deleting a job would take its albums, photos and upload log with it

    def save_model(self, request: HttpRequest, obj: PhotoJob, form: PhotoJobForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.job_create(
                account=data["account"], internal_name=data["internal_name"], title=data["title"], status=data["status"]
            )
            adopt(obj, created)
            return
        job = PhotoJob.objects.select_related("account").get(pk=obj.pk)
        if {"internal_name", "title"} & set(form.changed_data):
            services.job_update(job=job, internal_name=data["internal_name"], title=data["title"])
        if "status" in form.changed_data:
            services.job_set_status(job=job, status=data["status"])
        adopt(obj, job)
