"""get_nlu_engine() picks the engine from Django settings, with safe defaults."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from nlu import interface
from nlu.engine.embedded import EmbeddedNLU
from nlu.interface import Entity, ParseResult, get_nlu_engine
from nlu.rasa_http import RasaHTTPNLU


def test_embedded_is_the_default_when_settings_do_not_name_an_engine(settings):
    del settings.NLU_ENGINE
    engine = get_nlu_engine()
    assert isinstance(engine, EmbeddedNLU)
    # The trained model is shared by the whole process
    assert get_nlu_engine() is engine


def test_rasa_engine_uses_url_and_timeout_from_settings(settings):
    settings.NLU_ENGINE = "rasa"
    settings.RASA_URL = "http://rasa.internal:5005/"
    settings.RASA_TIMEOUT = 3
    engine = get_nlu_engine()
    assert isinstance(engine, RasaHTTPNLU)
    assert (engine.base_url, engine.timeout) == ("http://rasa.internal:5005", 3.0)


def test_rasa_engine_without_url_has_a_default(settings):
    settings.NLU_ENGINE = "rasa"
    del settings.RASA_URL
    assert get_nlu_engine().base_url == interface.DEFAULT_RASA_URL


@pytest.mark.parametrize(
    ("engine_name", "rasa_url", "message"),
    [("spacy", "http://x", "NLU_ENGINE must be"), ("rasa", "", "RASA_URL is empty")],
)
def test_misconfiguration_is_refused(settings, engine_name, rasa_url, message):
    settings.NLU_ENGINE = engine_name
    settings.RASA_URL = rasa_url
    with pytest.raises(ImproperlyConfigured, match=message):
        get_nlu_engine()


def test_interface_reexports_engines_lazily():
    assert interface.EmbeddedNLU is EmbeddedNLU
    assert interface.RasaHTTPNLU is RasaHTTPNLU


def test_parse_result_helpers_group_entity_values():
    result = ParseResult(
        text="red or blue",
        intent="search_products",
        confidence=0.9,
        entities=(Entity("colour", "red", 0, 3), Entity("colour", "blue", 7, 11)),
    )
    assert result.entity_values() == {"colour": ["red", "blue"]}
    assert result.first_value("colour") == "red"
    assert result.first_value("material") is None
