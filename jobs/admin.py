"""Admin for accounts, FTP users, SSH keys and jobs. Staff see only their accounts' rows.

Actions call ``jobs.services``; the admin never writes a rule of its own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs import services
from jobs.exceptions import PortalError
from jobs.models import Account, FTPUser, Membership, PhotoJob, SSHKey


class AccountScopedAdmin(admin.ModelAdmin):
    """Limits rows to the accounts the staff user belongs to; superusers see everything."""

    account_path = "account"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.account_path}__memberships__user": request.user}).distinct()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A staff user can only pick (and so only write into) the accounts they belong to.
        if db_field.related_model is Account and not request.user.is_superuser:
            kwargs["queryset"] = Account.objects.filter(memberships__user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Account)
class AccountAdmin(AccountScopedAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = admin.ModelAdmin.get_queryset(self, request)
        return qs if request.user.is_superuser else qs.filter(memberships__user=request.user)


class SSHKeyInline(admin.TabularInline):
    model = SSHKey
    extra = 0
    fields = ["key_type", "fingerprint", "comment", "last_used_at"]
    readonly_fields = fields


@admin.register(FTPUser)
class FTPUserAdmin(AccountScopedAdmin):
    list_display = ["username", "account", "is_active", "last_login_at", "last_login_address"]
    list_filter = ["is_active", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["username"]
    readonly_fields = ["password", "last_login_at", "last_login_address", "created_at"]
    inlines = [SSHKeyInline]


def _set_status(status: str):  # type: ignore[no-untyped-def]
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[PhotoJob]) -> None:
        for job in queryset:
            try:
                services.job_set_status(job=job, status=status)
            except PortalError as exc:
                modeladmin.message_user(request, f"{job}: {exc.message}", messages.ERROR)
        modeladmin.message_user(request, f"{queryset.count()} job(s) set to {PhotoJob.Status(status).label}.")

    action.__name__ = f"set_status_{status}"
    action.short_description = f"Set status: {PhotoJob.Status(status).label}"  # type: ignore[attr-defined]
    return action


@admin.register(PhotoJob)
class PhotoJobAdmin(AccountScopedAdmin):
    list_display = ["internal_name", "title", "account", "status", "status_changed_at"]
    list_filter = ["status", ("account", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["internal_name", "title"]
    actions = [_set_status(s) for s in PhotoJob.Status.values]

    def save_model(self, request: HttpRequest, obj: PhotoJob, form: Any, change: bool) -> None:
        if change and "status" in form.changed_data:
            status = obj.status
            obj.status = form.initial["status"]
            super().save_model(request, obj, form, change)
            services.job_set_status(job=obj, status=status)
        else:
            super().save_model(request, obj, form, change)
