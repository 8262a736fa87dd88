"""Names said freely: particles, possessives, capitalised common nouns, names over words."""

from __future__ import annotations

import pytest

from nlu.engine.entities import EntityExtractor
from nlu.engine.training_data import parse_nlu_yaml

DATA = """
version: "3.1"
nlu:
- intent: show_artisan
  examples: |
    - who is [Hana Kobayashi](artisan_name)?
    - tell me about [Ole Brandt](artisan_name)
    - wer ist [Jonas Weber](artisan_name)?
    - ich möchte mehr über [Lotte](artisan_name) wissen
- intent: checkout
  examples: |
    - ich möchte die Bestellung bezahlen
    - tell me about Checkout options
- intent: search_products
  examples: |
    - a [rosa]{"entity": "colour", "value": "pink"} [vase](product_type)
    - [soap](product_type) from [Provence](region)
- synonym: soap
  examples: |
    - savons
- lookup: product_type
  examples: |
    - savons
- lookup: colour
  examples: |
    - rosa
"""


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(parse_nlu_yaml(DATA))


def names(extractor: EntityExtractor, text: str) -> list[str]:
    return [
        e.value
        for e in extractor.extract(text, intent="show_artisan")
        if e.entity == "artisan_name"
    ]


def test_a_name_keeps_its_particles(extractor):
    assert names(extractor, "tell me about Taller de la Encina please") == ["Taller de la Encina"]
    # A particle with no capitalised word after it is not part of the name
    assert names(extractor, "tell me about Mirela de nuevo") == ["Mirela"]


def test_a_trailing_possessive_is_not_part_of_the_name(extractor):
    found = extractor.extract("tell me about Ingrid Halvorsen's workshop", intent="show_artisan")
    assert [(e.value, e.end - e.start) for e in found] == [("Ingrid Halvorsen", 16)]


def test_capitalised_words_the_training_text_uses_are_not_names(extractor):
    # German capitalises every noun: "Bestellung" is a word of the data, not a potter
    assert names(extractor, "wer ist die Bestellung?") == []
    assert names(extractor, "tell me about Checkout") == []
    # ... while a run with one unknown word is still a name
    assert names(extractor, "wer ist Bestellung Kowalczyk?") == ["Bestellung Kowalczyk"]


def test_a_known_name_is_only_matched_with_its_capital(extractor):
    data = parse_nlu_yaml(DATA + "- lookup: artisan_name\n  examples: |\n    - Rosa\n")
    spotter = EntityExtractor(data)
    found = spotter.extract("eine Vase in rosa", intent="show_artisan")
    assert [(e.entity, e.value) for e in found] == [("product_type", "Vase"), ("colour", "pink")]
    assert [
        (e.entity, e.value) for e in spotter.extract("who is Rosa?", intent="show_artisan")
    ] == [("artisan_name", "Rosa")]


def test_a_name_of_several_words_wins_over_the_product_inside_it(extractor):
    found = extractor.extract("tell me about Les Savons de Margaux", intent="show_artisan")
    assert [(e.entity, e.value) for e in found] == [("artisan_name", "Les Savons de Margaux")]
    # Outside a name the product word is still found
    assert [e.value for e in extractor.extract("des savons de Provence")] == ["soap", "Provence"]
