"""i18n fixtures: the DeepL stand-in wired into settings, an artisan and a buyer per language."""

from __future__ import annotations

import pytest

from core.models import Role
from tests.conftest import make_user
from tests.standins.deepl_server import DeepLStandIn

KEY = "atelier-i18n-key:fx"


@pytest.fixture
def deepl_api(settings):
    """A loopback DeepL the real ``deepl`` library talks to."""
    with DeepLStandIn(auth_key=KEY) as api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = api.url
        settings.DEEPL_TIMEOUT = 2.0
        settings.DEEPL_MAX_RETRIES = 0
        settings.DEEPL_MONTHLY_CHAR_BUDGET = 100_000
        yield api


@pytest.fixture
def no_deepl(settings):
    settings.DEEPL_AUTH_KEY = ""
    settings.DEEPL_SERVER_URL = ""


@pytest.fixture
def french_buyer(db):
    return make_user("lea@example.fr", preferred_language="fr", display_name="Léa")


@pytest.fixture
def german_artisan(db):
    return make_user(
        "jonas@example.de", Role.ARTISAN, preferred_language="de", display_name="Jonas"
    )


@pytest.fixture
def english_buyer(db):
    return make_user("ann@example.com", preferred_language="en", display_name="Ann")


def translate_bodies(api) -> list[dict]:
    """JSON bodies of the /v2/translate calls the stand-in received."""
    return [call.body for call in api.translate_calls]
