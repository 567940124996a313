"""Routes of a studio's cameras, below its FTP settings (``/accounts/<id>/cameras/``)."""

from __future__ import annotations

from django.urls import path

from devices import views

app_name = "devices"
urlpatterns = [
    path("", views.camera_list, name="camera_list"),
    path("<str:username>/", views.camera_detail, name="camera"),
]
