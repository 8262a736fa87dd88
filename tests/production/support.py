"""Booting the production settings (DEBUG off) in child processes.

The test process itself runs with test settings; production is another configuration, so it
is checked where it really runs: in a fresh interpreter or a real uvicorn process whose
environment is exactly what an operator would set.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

# Variables of the test run that must not leak into a "production" child.
_TEST_ONLY = {"ATELIER_TESTING", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"}

STRIPE_KEYS = {
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_production_profile",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_production_profile",
    "STRIPE_WEBHOOK_SECRET": "whsec_production_profile",
}


def production_env(**overrides: str) -> dict[str, str]:
    """DEBUG off with a real secret; everything else as given (None-valued keys removed)."""
    env = {k: v for k, v in os.environ.items() if k not in _TEST_ONLY}
    for name in ("PAYMENT_GATEWAY", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_SETTINGS_MODULE": "core.settings",
            # The same keys as this test process, so both read what the other wrote.
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
