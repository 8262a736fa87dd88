"""The Rasa project in nlu/rasa/ is internally consistent (what `rasa data validate` checks,
without needing the Rasa venv), so a real server can train on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlu.engine.training_data import load_nlu_file

PROJECT = Path(__file__).resolve().parents[2] / "nlu" / "rasa"
RASA_DEFAULT_INTENTS = {"nlu_fallback", "restart", "back", "out_of_scope", "session_start"}
CUSTOM_ACTIONS = {
    "action_search_products",
    "action_show_artisan",
    "action_custom_request",
    "action_order_status",
    "action_checkout_link",
    "action_subscribe_campaigns",
    "action_unsubscribe_campaigns",
    "action_talk_to_artisan",
}


def _load(name: str) -> dict:
    return yaml.safe_load((PROJECT / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def domain() -> dict:
    return _load("domain.yml")


@pytest.fixture(scope="module")
def steps() -> list[dict]:
    """Every step of every story and rule."""
    flows = _load("data/stories.yml")["stories"] + _load("data/rules.yml")["rules"]
    return [step for flow in flows for step in flow["steps"]]


def test_files_use_the_rasa_3_1_format():
    for name in ("domain.yml", "data/nlu.yml", "data/stories.yml", "data/rules.yml"):
        assert str(_load(name)["version"]) == "3.1", name


def test_config_has_the_pipeline_and_policies_that_train_on_two_cores():
    config = _load("config.yml")
    components = [c["name"] for c in config["pipeline"]]
    assert components[0] == "WhitespaceTokenizer"
    assert {"DIETClassifier", "EntitySynonymMapper", "FallbackClassifier"} <= set(components)
    diet = next(c for c in config["pipeline"] if c["name"] == "DIETClassifier")
    assert diet["epochs"] <= 100
    policies = {p["name"] for p in config["policies"]}
    assert policies == {"MemoizationPolicy", "RulePolicy", "TEDPolicy"}


def test_intents_and_entities_of_training_data_match_the_domain(domain):
    data = load_nlu_file(PROJECT / "data" / "nlu.yml")
    assert set(data.intents) == set(domain["intents"])
    assert set(data.entity_names) == set(domain["entities"])
    for slot_name, slot in domain["slots"].items():
        for mapping in slot["mappings"]:
            if mapping["type"] == "from_entity":
                assert mapping["entity"] in domain["entities"], slot_name


def test_every_story_and_rule_uses_declared_intents_and_actions(domain, steps):
    intents = set(domain["intents"]) | RASA_DEFAULT_INTENTS
    actions = set(domain["actions"]) | set(domain["responses"])
    for step in steps:
        if "intent" in step:
            assert step["intent"] in intents, step
        if "action" in step:
            assert step["action"] in actions, step


def test_custom_actions_are_declared_and_every_response_is_used(domain, steps):
    assert set(domain["actions"]) == CUSTOM_ACTIONS
    used_actions = {step["action"] for step in steps if "action" in step}
    assert CUSTOM_ACTIONS <= used_actions
    assert set(domain["responses"]) <= used_actions
    for response in domain["responses"].values():
        assert all(variation.get("text") for variation in response)


def test_every_intent_has_a_rule_and_stories_agree_with_rules(domain):
    rule_action_for_intent = {}
    for rule in _load("data/rules.yml")["rules"]:
        intent_step, action_step = rule["steps"]
        rule_action_for_intent[intent_step["intent"]] = action_step["action"]
    assert set(domain["intents"]) <= set(rule_action_for_intent)
    for story in _load("data/stories.yml")["stories"]:
        story_steps = story["steps"]
        for current, following in zip(story_steps, story_steps[1:], strict=False):
            if "intent" in current:
                assert following["action"] == rule_action_for_intent[current["intent"]], story[
                    "story"
                ]


def test_action_endpoint_and_rest_channel_are_configured():
    assert _load("endpoints.yml")["action_endpoint"]["url"] == "http://localhost:5055/webhook"
    assert "rest" in _load("credentials.yml")
