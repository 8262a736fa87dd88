"""Refuse to serve an unsafe production configuration.

``manage.py check --deploy`` is only as good as someone remembering to run it; uvicorn and
gunicorn never run system checks. So with ``STARTUP_CHECKS`` on (the default whenever DEBUG is
off) the ASGI and WSGI entry points run every system check, deployment checks included, before
they hand out an application, and stop the process on any error: the dev payment gateway, a
provider selected without its keys, and whatever else an app registers as an error.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


_warm_ups: list[Callable[[], None]] = []
_imports: list[Callable[[], None]] = []


def register_warm_up(warm_up: Callable[[], None], *, imports_only: bool = False) -> None:
    """Apps register work a serving process should do before its first request needs it
    (e.g. loading the language-detection model); core never imports the apps itself.

    ``imports_only``: the warm-up only imports modules. It then runs at once, on the
    starting thread: Python's per-module import locks can deadlock (``_DeadlockError``)
    when a background thread imports a package with internal cycles (aiogram) while a
    request imports it too."""
    target = _imports if imports_only else _warm_ups
    if warm_up not in target:
        target.append(warm_up)


def _run(warm_up: Callable[[], None]) -> None:
    try:
        warm_up()
    except Exception:  # a failed warm-up only means a slower first request
        logger.exception("warm-up %r failed", warm_up)


def start_warm_ups() -> threading.Thread:
    """Run the import warm-ups now, the others on a background thread (the server starts
    without waiting for models to load)."""
    for warm_up in list(_imports):
        _run(warm_up)

    def run() -> None:
        for warm_up in list(_warm_ups):
            _run(warm_up)

    thread = threading.Thread(target=run, name="atelier-warm-up", daemon=True)
    thread.start()
    return thread


def refuse_unsafe_configuration() -> None:
    """Raise ``ImproperlyConfigured`` listing every system-check error (no-op in development)."""
    if not getattr(settings, "STARTUP_CHECKS", False):
        return
    found = checks.run_checks(include_deployment_checks=True)
    errors = [m for m in found if m.level >= checks.ERROR and not m.is_silenced()]
    if errors:
        lines = "\n".join(f"  {error.id}: {error.msg}" for error in errors)
        raise ImproperlyConfigured(f"Refusing to start with this configuration:\n{lines}")
