"""Rotate the QR signing key: python manage.py rotate_signing_keys [--algorithm EdDSA]."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from healthcode.codes.keys import published_signing_keys, rotate_signing_keys
from healthcode.lib.codec import ALGORITHMS


class Command(BaseCommand):
    help = "Make a new QR signing key the signer; the old ones stay published until their tokens expire."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=sorted(ALGORITHMS),
            help="ES256 or EdDSA (default: the current signer's, ES256 for the first key)",
        )

    def handle(self, *args: Any, algorithm: str | None = None, **options: Any) -> None:
        new_key = rotate_signing_keys(algorithm=algorithm)
        self.stdout.write(
            _("新的签名密钥：%(kid)s（%(algorithm)s）")
            % {"kid": new_key.kid, "algorithm": new_key.algorithm}
        )
        self.stdout.write(_("已发布的公钥："))
        for key in published_signing_keys():
            if key.publish_until is None:
                status = _("当前签名密钥") if key.pk == new_key.pk else _("未退役")
            else:
                status = _("发布至 %(until)s") % {"until": key.publish_until.isoformat()}
            self.stdout.write(f"  {key.kid}  {key.algorithm}  {status}")
