"""Regions: China's provinces, cities and counties by GB/T 2260 code, plus Nanning's
development zones as management areas (codes outside the GB/T 2260 space)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from healthcode.regions.choices import RegionLevel


class Region(models.Model):
    """One administrative region (6-digit GB/T 2260 code, e.g. 420000, 440300, 450103)
    or a development zone (code like 45Z101, never a valid GB/T 2260 code)."""

    code = models.CharField(_("区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    name_en = models.CharField(_("英文名称"), max_length=128, blank=True)
    level = models.CharField(_("级别"), max_length=8, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Names from the province down, e.g. 广西壮族自治区南宁市青秀区; zones: 广西壮族自治区南宁市<zone>.
    full_name = models.CharField(_("全称"), max_length=160, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.full_name or self.name

    @property
    def province_code(self) -> str:
        return self.code[:2] + "0000"
