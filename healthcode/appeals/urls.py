"""Pages of the appeals app (mounted under /appeals/)."""

from __future__ import annotations

from django.urls import path

from healthcode.appeals import views

app_name = "appeals"

urlpatterns: list = [
    path("", views.index, name="index"),
    path("new", views.new, name="new"),
    path("<int:pk>", views.detail, name="detail"),
    path("<int:pk>/attachments/<int:number>", views.own_attachment, name="own_attachment"),
    path("queue", views.queue, name="queue"),
    path("queue/<int:pk>", views.staff_detail, name="staff_detail"),
    path("queue/<int:pk>/start", views.staff_start, name="staff_start"),
    path(
        "queue/<int:pk>/attachments/<int:number>",
        views.staff_attachment,
        name="staff_attachment",
    ),
]
