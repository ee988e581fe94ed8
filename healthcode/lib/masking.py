"""Masking of personal data for display: 赵*刚, 163****3678, 450103********1234."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """Keep the first and last character of names of three or more characters; for two
    characters keep the first: 赵小刚 -> 赵*刚, 王五 -> 王*, 欧阳娜娜 -> 欧**娜."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """163****3678."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(id_number: str) -> str:
    """Keep the 6-digit region prefix and the last 4 characters: 450103********1234."""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]
