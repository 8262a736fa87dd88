"""The Rasa YAML reader that feeds the embedded engine."""

from __future__ import annotations

import pytest
import yaml

from nlu.engine.training_data import (
    TrainingDataError,
    load_nlu_file,
    parse_annotated_example,
    parse_nlu_yaml,
    to_rasa_yaml,
)

SAMPLE_NLU = """
version: "3.1"
nlu:
- intent: search_products
  examples: |
    - a [red](colour) [sac](product_type) under [50](price_max) euros
    - something in [cuir]{"entity": "material", "value": "leather"}
    - [Holz](material:wood) please
- intent: greet
  examples:
    - text: hello there
      metadata: {sentiment: neutral}
- lookup: colour
  examples: |
    - red
    - rouge
- regex: order_ref
  examples: |
    - \\bAT-[A-Z0-9]{5}\\b
- synonym: bag
  examples: |
    - sac
    - Tasche
"""


def test_markdown_style_annotation_gives_offsets_into_plain_text():
    # Given an example with two annotations
    # When it is parsed
    text, entities = parse_annotated_example("a [red](colour) [sac](product_type) please")
    # Then the brackets are gone and offsets point at the surface text
    assert text == "a red sac please"
    assert [(e.entity, e.value, text[e.start : e.end]) for e in entities] == [
        ("colour", "red", "red"),
        ("product_type", "sac", "sac"),
    ]


def test_json_annotation_carries_value_role_and_group():
    text, entities = parse_annotated_example(
        'from [Paris]{"entity": "city", "value": "paris", "role": "origin", "group": "1"}'
    )
    assert text == "from Paris"
    (entity,) = entities
    assert (entity.entity, entity.value, entity.role, entity.group) == (
        "city",
        "paris",
        "origin",
        "1",
    )
    assert (entity.start, entity.end) == (5, 10)


def test_invalid_json_annotation_is_reported():
    with pytest.raises(TrainingDataError, match="Invalid entity annotation"):
        parse_annotated_example('[x]{"entity": }')


def test_full_document_reads_examples_lookups_regexes_and_synonyms():
    # Given a document with every kind of block
    # When it is parsed
    data = parse_nlu_yaml(SAMPLE_NLU)
    # Then examples keep intent, plain text and annotations (list form too)
    assert data.intents == ["greet", "search_products"]
    assert [e.text for e in data.examples] == [
        "a red sac under 50 euros",
        "something in cuir",
        "Holz please",
        "hello there",
    ]
    assert data.examples[0].annotated_text.startswith("a [red](colour)")
    assert data.entity_names == ["colour", "material", "price_max", "product_type"]
    # And lookups and regexes are kept by name
    assert data.lookups == {"colour": ("red", "rouge")}
    assert data.regexes == {"order_ref": (r"\bAT-[A-Z0-9]{5}\b",)}
    # And synonyms come from synonym blocks and from annotated values, keyed lower-case
    assert data.synonyms == {"sac": "bag", "tasche": "bag", "cuir": "leather", "holz": "wood"}


def test_unknown_block_and_bad_regex_are_rejected():
    with pytest.raises(TrainingDataError, match="Unknown NLU item"):
        parse_nlu_yaml("nlu:\n- story: nope\n")
    with pytest.raises(TrainingDataError, match="regex broken"):
        parse_nlu_yaml('nlu:\n- regex: broken\n  examples: |\n    - "(unclosed"\n')


def test_serialised_yaml_reads_back_identically():
    data = parse_nlu_yaml(SAMPLE_NLU)
    assert parse_nlu_yaml(to_rasa_yaml(data)) == data


def test_a_number_as_canonical_value_is_written_as_a_string_rasa_accepts():
    # Given a synonym whose canonical value YAML would read as a float ("10,50" -> "10.5")
    data = parse_nlu_yaml('nlu:\n- synonym: "10.5"\n  examples: |\n    - 10,50\n')
    # When it is written for a Rasa server
    written = to_rasa_yaml(data)
    # Then the canonical value is a quoted string, as Rasa's schema requires
    assert '- synonym: "10.5"' in written
    assert yaml.safe_load(written)["nlu"][0]["synonym"] == "10.5"
    assert parse_nlu_yaml(written).synonyms == {"10,50": "10.5"}


def test_project_training_data_covers_every_intent_in_four_languages():
    # Given the real nlu.yml both engines train on
    data = load_nlu_file()
    counts = {intent: 0 for intent in data.intents}
    for example in data.examples:
        counts[example.intent] += 1
    # Then every intent has enough examples for a classifier
    assert min(counts.values()) >= 20, counts
    # And the gazetteers the entity extractor relies on are present
    assert {"product_type", "material", "colour", "region"} <= set(data.lookups)
    assert "order_ref" in data.regexes
    # And multilingual variants map to one canonical value
    assert [data.synonyms[w] for w in ("cuir", "leder", "cuero")] == ["leather"] * 3
