"""The 500 handler: JSON for API clients, and "try again" (503) when the database is out.

An exception raised before a django-ninja view runs (e.g. the session or user lookup in a
middleware while PostgreSQL is unreachable) never reaches the API's exception handlers, so
without this an API client would get the HTML 500 page.
"""

from __future__ import annotations

import sys

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.defaults import server_error as html_server_error

from core.decorators import json_error, wants_json


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: Django calls it while handling the exception (``sys.exc_info()``)."""
    if not wants_json(request):
        return html_server_error(request)
    if isinstance(sys.exc_info()[1], OperationalError):
        # Unreachable or timed out (connect_timeout, pool timeout, statement_timeout):
        # nothing was committed, so the same request is safe to retry.
        response = json_error(
            "unavailable", _("Something went wrong. Try again."), 503, retry_after=1
        )
        response["Retry-After"] = "1"
        return response
    return json_error("server_error", _("Something went wrong. Try again."), 500)
