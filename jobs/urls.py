"""Routes of the account settings area: FTP users, their confirmations, sessions and bans."""

from __future__ import annotations

from django.urls import path

from jobs import account_views, member_views, views

app_name = "jobs"
urlpatterns = [
    path("", views.account_index, name="account_index"),
    path("<int:account_id>/ftp/", views.ftp_settings, name="ftp_settings"),
    path("<int:account_id>/members/", member_views.members, name="members"),
    path("set-password/done/", member_views.SetPasswordDoneView.as_view(), name="set_password_done"),
    path("set-password/<uidb64>/<token>/", member_views.SetPasswordView.as_view(), name="set_password"),
    path("<int:account_id>/settings/", account_views.account_settings, name="account_settings"),
    path("<int:account_id>/ftp/<str:username>/", views.ftp_user_detail, name="ftp_user"),
    path("<int:account_id>/ftp/<str:username>/deactivate/", views.ftp_user_deactivate, name="ftp_user_deactivate"),
    path("<int:account_id>/ftp/<str:username>/delete/", views.ftp_user_delete, name="ftp_user_delete"),
    path("<int:account_id>/ftp/<str:username>/keys/<int:key_id>/remove/", views.ssh_key_remove, name="ssh_key_remove"),
    path("<int:account_id>/sessions/<int:session_id>/disconnect/", views.session_disconnect, name="session_disconnect"),
    path("<int:account_id>/bans/lift/", views.ban_lift, name="ban_lift"),
]
