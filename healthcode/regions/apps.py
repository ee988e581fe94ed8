from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_regions(**kwargs: Any) -> None:
    from healthcode.regions import services

    services.clear_cache()


class RegionsConfig(AppConfig):
    name = "healthcode.regions"
    label = "regions"

    def ready(self) -> None:
        # Keep the in-process lookup index (services.py) in step with single-row writes;
        # bulk writes go through loader.sync_regions, which clears it itself.
        region = self.get_model("Region")
        post_save.connect(_forget_regions, sender=region, dispatch_uid="regions.forget.save")
        post_delete.connect(_forget_regions, sender=region, dispatch_uid="regions.forget.delete")
