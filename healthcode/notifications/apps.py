from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "healthcode.notifications"
    label = "notifications"

    def ready(self) -> None:
        """Colour changes and reviews, written by the codes app, become messages."""
        from django.db.models.signals import post_save

        from healthcode.codes.models import ColorChange, Review
        from healthcode.codes.signals import colors_changed
        from healthcode.notifications import receivers

        post_save.connect(
            receivers.on_color_change, sender=ColorChange, dispatch_uid="notify_color_change"
        )
        colors_changed.connect(
            receivers.on_colors_changed, sender=ColorChange, dispatch_uid="notify_colors_changed"
        )
        post_save.connect(receivers.on_review, sender=Review, dispatch_uid="notify_review")
