"""Small helpers for the gateway modules: explicit argument beats setting, header lookup.

Gateways read ``django.conf.settings`` when they are built, not at import time, so tests can
override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def first_non_empty(*values: Any) -> Any:
    """The first value that is neither None nor an empty string (explicit arg beats setting)."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works for dicts and Django's ``request.headers``."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
