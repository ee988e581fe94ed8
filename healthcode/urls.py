"""Top-level URLs: pages, the JSON API, the published keys, health checks and metrics."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from healthcode.api.urls import api
from healthcode.codes import views as code_views
from healthcode.front import views as front_views
from healthcode.ops import views as ops_views

urlpatterns = [
    path("healthz", front_views.healthz, name="healthz"),
    path("livez", ops_views.livez, name="livez"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path(".well-known/healthcode/keys", code_views.jwks, name="jwks"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("healthcode.accounts.urls")),
    path("enterprises/", include("healthcode.enterprises.urls")),
    path("backoffice/", include("healthcode.backoffice.urls")),
    path("messages/", include("healthcode.notifications.urls")),
    path("appeals/", include("healthcode.appeals.urls")),
    path("credit/", include("healthcode.credit.urls")),
    path("privacy/", include("healthcode.privacy.urls")),
    path("django-admin/", admin.site.urls),
    path("", include("healthcode.front.urls")),
]
