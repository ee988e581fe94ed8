from __future__ import annotations

from django.urls import path

from healthcode.front import views

app_name = "front"

urlpatterns = [
    path("", views.home, name="home"),
    path("codes/new", views.add_code, name="add_code"),
    path("codes/<str:code_id>", views.code_page, name="code"),
    path("codes/<str:code_id>/qr", views.code_qr, name="code_qr"),
    path("codes/<str:code_id>/why", views.why, name="why"),
    path("codes/<str:code_id>/checkin", views.checkin, name="checkin"),
    path("codes/<str:code_id>/declaration", views.declaration, name="declaration"),
    path("elder", views.elder, name="elder"),
]
