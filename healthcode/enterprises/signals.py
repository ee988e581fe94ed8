"""Receivers of other apps' signals, connected in EnterprisesConfig.ready()."""

from __future__ import annotations

from typing import Any


def link_invitations_on_declaration(sender: Any, code: Any, **kwargs: Any) -> None:
    """A newly declared code links the open employee invitations whose phone and name
    match it (添加员工 before the person registered)."""
    from healthcode.enterprises.services import link_invitations

    link_invitations(code=code)
