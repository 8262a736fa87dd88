"""score_engine: the figures bench/nlu_accuracy.py prints, on a hand-checked example."""

from __future__ import annotations

import pytest

from nlu.engine.evaluation import score_engine
from nlu.engine.training_data import parse_nlu_yaml
from nlu.interface import Entity, ParseResult

LABELLED = """nlu:
- intent: search_products
  examples: |
    - red [bufandas]{"entity": "product_type", "value": "scarf"}
    - a [wool](material) hat
- intent: greet
  examples: |
    - hola
    - hi
"""

ANSWERS = {
    "red bufandas": ParseResult(
        "red bufandas", "search_products", 0.9, (Entity("product_type", "scarf", 4, 12),)
    ),
    "a wool hat": ParseResult("a wool hat", "greet", 0.6, (Entity("material", "linen", 2, 6),)),
    "hola": ParseResult("hola", "greet", 0.8),
    "hi": ParseResult("hi", "greet", 0.8),
}


def test_figures_per_language_intent_and_entity():
    # Given four labelled examples, two marked Spanish and two English
    examples = [
        example.__class__(
            text=example.text,
            intent=example.intent,
            entities=example.entities,
            language="es" if example.text in {"red bufandas", "hola"} else "en",
        )
        for example in parse_nlu_yaml(LABELLED).examples
    ]
    # When an engine that gets one intent and one entity wrong is scored
    score = score_engine(ANSWERS.__getitem__, examples)
    # Then accuracy is 3/4 overall, 1.0 in Spanish and 0.5 in English
    assert score.intents.accuracy == pytest.approx(0.75)
    assert score.per_language == {"en": 0.5, "es": 1.0}
    # And the explicit canonical value counts as a hit, the wrong material as a miss
    assert score.per_entity_f1 == {"material": 0.0, "product_type": 1.0}
    assert score.entities.f1 == pytest.approx(0.5)
    assert score.entity_misses == (("a wool hat", [("material", "wool")], [("material", "linen")]),)
    # And the figures and the printed summary carry the same numbers
    assert score.figures()["per_intent_f1"]["greet"] == pytest.approx(0.8)
    assert "intent accuracy 0.750   en 0.500  es 1.000" in score.summary()
    assert score.out_of_scope_recall is None
