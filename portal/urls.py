"""URL routes: the admin and its photo files (the account settings pages come with the web issue)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from albums.views import photo_file

admin.site.site_header = "Photo job portal"
admin.site.site_title = "Photo job portal"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    # Photo files are personal data: served by a view that checks the studio, never publicly.
    path("media/<path:name>", photo_file, name="photo_file"),
]
