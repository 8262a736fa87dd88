from __future__ import annotations

import pytest

from tests.production.support import STRIPE_KEYS, manage, production_env


@pytest.fixture(scope="session")
def production_static_root(tmp_path_factory) -> str:
    """``collectstatic`` once, as the container build does: production serves the manifest."""
    root = tmp_path_factory.mktemp("staticfiles")
    result = manage(
        "collectstatic",
        "--noinput",
        "-v0",
        env=production_env(**STRIPE_KEYS, STATIC_ROOT=str(root)),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return str(root)
