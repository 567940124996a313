"""Routes of the account FTP settings page."""

from __future__ import annotations

from django.urls import path

from jobs import account_views, views

app_name = "jobs"
urlpatterns = [
    path("", views.account_index, name="account_index"),
    path("<int:account_id>/ftp/", views.ftp_settings, name="ftp_settings"),
    path("<int:account_id>/settings/", account_views.account_settings, name="account_settings"),
    path("<int:account_id>/ftp/<str:username>/", views.ftp_user_detail, name="ftp_user"),
]
