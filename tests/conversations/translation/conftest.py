"""Fixtures: a DeepL stand-in per test and our DeepLTranslator pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from conversations.translation.deepl_client import DeepLTranslator
from tests.standins.deepl_server import DeepLStandIn


@pytest.fixture
def deepl_api() -> Iterator[DeepLStandIn]:
    with DeepLStandIn(auth_key="atelier-test-key:fx") as standin:
        yield standin


@pytest.fixture
def recorded_sleeps() -> list[float]:
    """Waits the translator asked for between retries (recorded, not slept)."""
    return []


@pytest.fixture
def make_translator(
    deepl_api: DeepLStandIn, recorded_sleeps: list[float]
) -> Iterator[Callable[..., DeepLTranslator]]:
    made: list[DeepLTranslator] = []

    def make(**overrides: object) -> DeepLTranslator:
        options: dict[str, object] = {
            "auth_key": deepl_api.auth_key,
            "server_url": deepl_api.url,
            "timeout": 2.0,
            "max_retries": 2,
            "sleep": recorded_sleeps.append,
        }
        options.update(overrides)
        translator = DeepLTranslator(**options)  # type: ignore[arg-type]
        made.append(translator)
        return translator

    yield make
    for translator in made:
        translator.close()


@pytest.fixture
def translator(make_translator: Callable[..., DeepLTranslator]) -> DeepLTranslator:
    return make_translator()
