"""The app's URLs and the two baseline views of the HTTP benchmark."""

from __future__ import annotations

from django.urls import include, path

from bench.httpbench import views

urlpatterns = [
    path("bench/bare", views.bare, name="bench-bare"),
    path("bench/read-insert/<uuid:public_id>", views.read_insert, name="bench-read-insert"),
    path("", include("healthcode.urls")),
]
