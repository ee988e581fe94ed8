"""Pages of the privacy app."""

from __future__ import annotations

from django.urls import path

from healthcode.privacy import views

app_name = "privacy"

urlpatterns = [
    path("delete-account", views.delete_account_page, name="delete_account"),
]
