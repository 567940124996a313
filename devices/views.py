"""The cameras of a studio on its settings pages (DESIGN §9): "Add a camera", and each camera's page
with its connection data and health. Views are thin: the form checks shape, ``devices.services``
decides and writes, ``devices.selectors`` reads; only the studio's owners reach these pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from albums.models import Upload
from devices import selectors, services
from devices.connection import CameraConnection
from devices.forms import CameraCreateForm, CameraSettingsForm
from jobs import selectors as job_selectors
from jobs import services as job_services
from jobs.exceptions import PortalError
from jobs.views import as_staff, generated_password, managed_account, render_settings


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@as_staff
def camera_list(request: HttpRequest, account_id: int) -> HttpResponse:
    account = managed_account(request, account_id)
    form = CameraCreateForm(request.POST or None, account=account)
    created = new_password = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or generated_password()
        try:
            created = services.device_create(
                account=account,
                username=data["username"],
                job=job_selectors.job_get(account=account, internal_name=data["job"]),
                album_name=data["album"],
                password=password,
                section=data["section"],
                profile=data["profile"],
                allow_plain_ftp=data["allow_plain_ftp"],
            )
        except PortalError as exc:
            form.add_error(None, exc.message)
        else:
            new_password = None if data["password"] else password
            form = CameraCreateForm(account=account)
    context = {
        "account": account,
        "cameras": [selectors.health(d) for d in selectors.devices_of(account=account)],
        "form": form,
        "created": created,
        "new_password": new_password,
        "camera": CameraConnection(created) if created else None,
    }
    return render_settings(request, "devices/camera_list.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@as_staff
def camera_detail(request: HttpRequest, account_id: int, username: str) -> HttpResponse:
    account = managed_account(request, account_id)
    device = selectors.device_get(account=account, username=username)
    notice = None
    initial = {"test_patterns": device.test_patterns, "expected_interval_hours": device.expected_interval_hours}
    settings_form = CameraSettingsForm(initial=initial)
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "lift_ban":
        lifted = services.device_lift_bans(device=device)
        notice = _("%(count)s ban(s) lifted.") % {"count": lifted} if lifted else _("No ban was in force.")
    elif action in ("notices_on", "notices_off"):
        job_services.ftp_user_set_rejection_notices(ftp_user=device.ftp_user, enabled=action == "notices_on")
        notice = _("Rejection notices switched on.") if action == "notices_on" else _("Rejection notices off.")
    elif action == "settings":
        settings_form = CameraSettingsForm(request.POST)
        if settings_form.is_valid():
            services.device_update(
                device=device,
                test_patterns=settings_form.cleaned_data["test_patterns"] or "",
                expected_interval_hours=settings_form.cleaned_data["expected_interval_hours"],
            )
            notice = _("Settings saved.")
    rejected = Upload.objects.filter(ftp_user=device.ftp_user, state=Upload.State.REJECTED).order_by("-received_at")
    context = {
        "account": account,
        "device": device,
        "health": selectors.health(device),
        "camera": CameraConnection(device),
        "rejected": rejected[:50],
        "reports": device.reports.all()[:10],
        "notice": notice,
        "settings_form": settings_form,
    }
    return render_settings(request, "devices/camera_detail.html", context)
