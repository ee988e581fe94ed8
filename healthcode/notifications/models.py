"""The in-app message centre: one message per event that concerns an account (a colour
change, a review or appeal outcome, a dishonesty record), kept in Chinese and English."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from healthcode.notifications.choices import NotificationKind


class Notification(models.Model):
    """One message to an account, about one of its codes (own or a family member's) or about
    the account itself. Written only by `services.notify`; the resident marks it read."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # A message about a deleted code goes with it: it names the person.
    code = models.ForeignKey(
        "codes.HealthCode",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("类型"), max_length=20, choices=NotificationKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"))
    title_en = models.CharField(max_length=200, blank=True)
    body_en = models.TextField(blank=True)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"]),
            models.Index(fields=["recipient", "read_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id} at {self.created_at:%Y-%m-%d %H:%M}"

    def _english(self) -> bool:
        return (get_language() or "zh-hans").lower().startswith("en")

    def localized_title(self) -> str:
        """The title in the request's language (Chinese when no English text was given)."""
        return self.title_en if self._english() and self.title_en else self.title

    def localized_body(self) -> str:
        """The text in the request's language (Chinese when no English text was given)."""
        return self.body_en if self._english() and self.body_en else self.body
