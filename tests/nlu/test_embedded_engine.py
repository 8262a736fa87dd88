"""The embedded engine: intents in four languages, entities, fallback, speed, accuracy."""

from __future__ import annotations

import threading
import time

import pytest

from nlu.engine import embedded as embedded_module
from nlu.engine.embedded import EmbeddedNLU
from nlu.interface import FALLBACK_INTENT, NLUEngine
from tests.nlu.accuracy import assert_above_floors, score_on_heldout


@pytest.fixture(scope="module")
def engine() -> EmbeddedNLU:
    nlu = EmbeddedNLU()
    nlu.train()
    return nlu


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello there!", "greet"),
        ("bonjour, comment allez-vous ?", "greet"),
        ("guten Abend", "greet"),
        ("hola a todos", "greet"),
        ("au revoir et merci", "goodbye"),
        ("tschüss und danke", "goodbye"),
        ("I'm looking for a green wool scarf", "search_products"),
        ("je cherche une tasse en céramique bleue", "search_products"),
        ("ich suche einen Korb aus Holz", "search_products"),
        ("busco una lámpara de cobre", "search_products"),
        ("where is order AT-9Z8Y7W?", "order_status"),
        ("wo bleibt meine Bestellung?", "order_status"),
        ("send me the link to pay", "checkout"),
        ("quiero pagar ahora", "checkout"),
        ("please unsubscribe me from the newsletter", "unsubscribe_campaigns"),
        ("je veux me désabonner de la newsletter", "unsubscribe_campaigns"),
        ("subscribe me to the newsletter please", "subscribe_campaigns"),
        ("quiero suscribirme a las ofertas", "subscribe_campaigns"),
        ("kann ich mit dem Hersteller sprechen?", "talk_to_artisan"),
        ("je voudrais parler avec l'artisan", "talk_to_artisan"),
        ("can you make a custom necklace?", "custom_request"),
        ("könnt ihr eine Sonderanfertigung machen?", "custom_request"),
        ("montre-moi le profil de Claire Lefèvre", "show_artisan"),
        ("¿quién es Javier Ruiz?", "show_artisan"),
        ("Hilfe bitte", "help"),
        ("ayuda por favor", "help"),
        ("what's the weather in Paris?", "out_of_scope"),
        ("cuéntame un chiste, por favor", "out_of_scope"),
    ],
)
def test_intent_is_recognised_in_each_language(engine, text, intent):
    # When a buyer's message is parsed
    result = engine.parse(text)
    # Then the intended intent wins with a confidence above the fallback threshold
    assert result.intent == intent
    assert not result.is_fallback
    assert result.confidence >= engine.confidence_threshold
    assert result.ranking[0].name == intent


def test_search_entities_are_canonical_across_languages(engine):
    # Given the same request in French and German
    french = engine.parse("je cherche un sac en cuir rouge à moins de 50 €")
    german = engine.parse("ich suche eine rote Tasche aus Leder unter 50 Euro")
    # Then both yield the same canonical (English) entity values
    expected = {
        "product_type": ["bag"],
        "material": ["leather"],
        "colour": ["red"],
        "price_max": ["50"],
    }
    assert french.entity_values() == expected
    assert german.entity_values() == expected


def test_entity_offsets_point_at_the_words_in_the_message(engine):
    text = "blue ceramic mugs under 25 euros from Brittany"
    result = engine.parse(text)
    assert [(e.entity, text[e.start : e.end], e.value) for e in result.entities] == [
        ("colour", "blue", "blue"),
        ("material", "ceramic", "ceramic"),
        ("product_type", "mugs", "mug"),
        ("price_max", "25", "25"),
        ("region", "Brittany", "Brittany"),
    ]


@pytest.mark.parametrize(
    ("text", "price_min", "price_max"),
    [
        ("a wool blanket between 30 and 80 euros", "30", "80"),
        ("quiero una manta de lana entre 30 y 80 euros", "30", "80"),
        ("des bijoux à plus de 100 euros", "100", None),
        ("Schmuck für höchstens 45,50 Euro", None, "45.50"),
        ("gifts under €20", None, "20"),
    ],
)
def test_prices_are_read_from_their_context(engine, text, price_min, price_max):
    result = engine.parse(text)
    assert result.first_value("price_min") == price_min
    assert result.first_value("price_max") == price_max


def test_order_reference_is_found_whatever_its_case(engine):
    result = engine.parse("hi, where is at-7k2q9m please?")
    assert result.first_value("order_ref") == "AT-7K2Q9M"
    # A number inside the reference is not mistaken for a price
    assert result.first_value("price_max") is None


def test_multiword_lookup_wins_over_its_last_word(engine):
    result = engine.parse("une planche à découper en bois d'olivier")
    assert result.entity_values() == {"product_type": ["cutting board"], "material": ["olive wood"]}


def test_unseen_artisan_name_is_taken_from_its_context(engine):
    result = engine.parse("who is Greta Lindqvist?")
    assert result.intent == "show_artisan"
    assert result.first_value("artisan_name") == "Greta Lindqvist"


@pytest.mark.parametrize("garbage", ["asdf qwer zxcv", "lorem ipsum dolor", "xkcd blorf", "zzzz"])
def test_garbage_falls_back_to_out_of_scope(engine, garbage):
    result = engine.parse(garbage)
    assert result.intent == FALLBACK_INTENT
    assert result.is_fallback
    assert result.entities == ()


async def test_async_parse_gives_the_same_result(engine):
    text = "je cherche un vase bleu en verre"
    assert await engine.aparse(text, lang="fr") == engine.parse(text, lang="fr")


def test_engine_satisfies_the_interface():
    assert isinstance(EmbeddedNLU(), NLUEngine)


def test_concurrent_first_parses_train_only_once(monkeypatch):
    # Given a fresh engine whose training we count
    calls = []
    real_train = embedded_module._train

    def counting_train(data):
        calls.append(1)
        time.sleep(0.05)  # widen the race window
        return real_train(data)

    monkeypatch.setattr(embedded_module, "_train", counting_train)
    nlu = EmbeddedNLU()
    results = []
    # When eight threads parse at once
    threads = [
        threading.Thread(target=lambda: results.append(nlu.parse("hola").intent)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then the model was trained once and every thread got an answer
    assert len(calls) == 1
    assert results == ["greet"] * 8


# Measured on nlu/heldout/heldout.yml (docs/nlu.md has the figures); each floor sits a
# little under the measurement so that data edits have room, and training is
# deterministic, so falling under one is a real regression. On 2026-12-04: 0.948
# (de 0.950, en 0.958, es 0.967, fr 0.917), entity micro F1 0.905, out-of-scope recall 0.925.
EMBEDDED_FLOORS = {
    "intent_accuracy": 0.92,
    "each_language": 0.90,
    "entity_micro_f1": 0.88,
    "out_of_scope_recall": 0.85,
}


def test_held_out_accuracy_stays_above_the_floor():
    # Given the engine trained on every nlu*.yml (the held-out set is never trained on)
    nlu = EmbeddedNLU()
    # When it parses each utterance of the held-out set (four languages, written apart)
    score = score_on_heldout("embedded", nlu.parse)
    # Then intents (overall and in each language), entities and out-of-scope recall
    # stay above their floors
    assert_above_floors(score, EMBEDDED_FLOORS)
    assert set(score.per_language) == {"de", "en", "es", "fr"}
