"""Score an NLU engine on the held-out set and keep the figures as a CI artefact.

Used by the floor tests of both engines (embedded in tests/nlu/, Rasa in
tests/bots/flows/test_rasa_end_to_end.py); ``.ci/run`` prints the JSON files so every
run's figures are visible, not only whether a floor held.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from nlu.engine.evaluation import EngineScore, score_engine
from nlu.engine.training_data import DEFAULT_HELDOUT_PATH, load_heldout, load_nlu_file

RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"


def score_on_heldout(engine: str, parse: Callable[[str], object]) -> EngineScore:
    """Every held-out utterance parsed once by ``parse``; figures written to
    ``test-results/nlu-accuracy-<engine>.json``."""
    heldout = load_heldout(DEFAULT_HELDOUT_PATH).examples
    score = score_engine(parse, heldout, synonyms=dict(load_nlu_file().synonyms))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"nlu-accuracy-{engine}.json").write_text(
        json.dumps({"engine": engine, "examples": len(heldout), **score.figures()}, indent=2) + "\n"
    )
    return score


def assert_above_floors(score: EngineScore, floors: dict[str, float]) -> None:
    """Intents overall and in each language, entities and out-of-scope recall at or
    above ``floors``; a failure shows every figure."""
    figures = score.figures()
    assert score.intents.accuracy >= floors["intent_accuracy"], figures
    assert min(score.per_language.values()) >= floors["each_language"], figures
    assert score.entities.f1 >= floors["entity_micro_f1"], figures
    assert score.out_of_scope_recall >= floors["out_of_scope_recall"], figures
