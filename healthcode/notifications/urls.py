"""Pages of the notifications app, under /messages/."""

from __future__ import annotations

from django.urls import path

from healthcode.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.index, name="index"),
    path("read-all", views.read_all, name="read_all"),
    path("<int:message_id>/read", views.read_one, name="read_one"),
    path("views", views.data_views, name="data_views"),
]
