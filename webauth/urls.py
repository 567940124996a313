"""Routes of the web login: the two-factor code step and the two-factor settings page."""

from __future__ import annotations

from django.urls import path

from webauth import views

app_name = "webauth"
urlpatterns = [
    path("login/code/", views.login_code, name="login_code"),
    path("two-factor/", views.two_factor, name="two_factor"),
]
