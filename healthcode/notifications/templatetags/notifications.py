"""`{% load notifications %}{% unread_messages user as count %}`: the unread count for a badge."""

from __future__ import annotations

from typing import Any

from django import template

from healthcode.notifications.services import unread_count

register = template.Library()


@register.simple_tag
def unread_messages(user: Any) -> int:
    """How many of the user's messages are unread (0 for anonymous)."""
    return unread_count(user)
