"""Lazy access to Django settings and HTTP headers for the gateway modules.

Settings are read when a gateway is built, not at import time, so tests can override them
and the package stays importable without a configured Django project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def read_setting(name: str, default: Any = None) -> Any:
    """Return ``settings.<name>`` or ``default`` when unset, empty or Django is unconfigured."""
    if not settings.configured:
        return default
    try:
        value = getattr(settings, name, None)
    except ImproperlyConfigured:
        # Django refuses to hand out an empty SECRET_KEY; for us that is just "unset".
        return default
    if value is None or value == "":
        return default
    return value


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
