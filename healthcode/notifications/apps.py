from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "healthcode.notifications"
    label = "notifications"

    def ready(self) -> None:
        """Colour changes and reviews, written by the codes app, become messages."""
        from django.db.models.signals import post_save

        from healthcode.codes.models import ColorChange, Review
        from healthcode.notifications import receivers

        post_save.connect(
            receivers.on_color_change, sender=ColorChange, dispatch_uid="notify_color_change"
        )
        post_save.connect(receivers.on_review, sender=Review, dispatch_uid="notify_review")
