from __future__ import annotations

from django.urls import path

from healthcode.front import views

app_name = "front"

urlpatterns: list = []
