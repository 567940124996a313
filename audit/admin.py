"""The audit log in the admin: read by a studio's owners (their accounts' events only) and by
superusers (everything); staff of the plain role do not see it at all. Nobody changes or deletes a row.

Who may read it is ``jobs.selectors``' role rule (``owned_accounts``), as everywhere else.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from jobs import selectors


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "account", "actor", "address", "action", "object_repr"]
    list_filter = ["action", "actor_kind", "actor_name", ("at", admin.DateFieldListFilter)]
    date_hierarchy = "at"
    search_fields = ["object_repr", "object_id", "actor_name"]
    list_select_related = ["account"]
    # Names, not links: the FTP user or login an event names may be gone, or not the reader's to open.
    fields = readonly_fields = (
        "at",
        "account",
        "actor",
        "address",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "details",
    )
    show_full_result_count = False  # the log only grows: no COUNT(*) of all of it on every page

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(account__in=selectors.owned_accounts(request.user))

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        filters = list(self.list_filter)
        if request.user.is_superuser or selectors.owned_accounts(request.user).count() > 1:
            filters.insert(0, ("account", admin.RelatedOnlyFieldListFilter))
        return filters

    def _reads_the_log(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and (
            request.user.is_superuser or selectors.owned_accounts(request.user).exists()
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._reads_the_log(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self._reads_the_log(request):
            return False
        return obj is None or request.user.is_superuser or selectors.is_owner(request.user, obj.account_id or 0)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("who"), ordering="actor_name")
    def actor(self, obj: AuditEvent) -> str:
        return f"{obj.actor_name} ({obj.get_actor_kind_display()})"

    @admin.display(description=_("details"))
    def details(self, obj: AuditEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.detail, indent=2, ensure_ascii=False))
