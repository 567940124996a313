"""URL routes: the admin, its photo files, and the account FTP settings page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from albums.views import photo_file
from webauth import views as webauth_views

admin.site.site_header = _("Photo job portal")
admin.site.site_title = _("Photo job portal")
admin.site.site_url = "/accounts/"  # "View site" leads studio owners to their FTP settings

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # The admin's login, guarded and in two steps for two-factor login (webauth), ahead of the admin's own.
    path("admin/login/", webauth_views.login, name="login"),
    path("admin/", include("webauth.urls")),
    path("admin/", admin.site.urls),
    # The language switch posts here (django.views.i18n.set_language); the choice is kept in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("jobs.urls")),
    path("accounts/<int:account_id>/cameras/", include("devices.urls")),
    # Photo files are personal data: served by a view that checks the studio, never publicly.
    path("media/<path:name>", photo_file, name="photo_file"),
]
