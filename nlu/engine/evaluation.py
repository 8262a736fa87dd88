"""Held-out evaluation shared by bench/nlu_accuracy.py and the accuracy-floor test."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, precision_recall_fscore_support

from nlu.engine.training_data import TrainingExample

DEFAULT_TEST_FRACTION = 0.25
DEFAULT_SPLIT_SEED = 2024


def stratified_split(
    examples: Sequence[TrainingExample],
    *,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = DEFAULT_SPLIT_SEED,
) -> tuple[list[TrainingExample], list[TrainingExample]]:
    """Split per intent (same fraction of each), reproducibly for a given seed.

    Every intent keeps at least one training and one held-out example.
    """
    by_intent: dict[str, list[TrainingExample]] = defaultdict(list)
    for example in examples:
        by_intent[example.intent].append(example)
    generator = random.Random(seed)
    train: list[TrainingExample] = []
    test: list[TrainingExample] = []
    for intent in sorted(by_intent):
        group = list(by_intent[intent])
        generator.shuffle(group)
        held_out = min(max(1, round(len(group) * test_fraction)), len(group) - 1)
        test.extend(group[:held_out])
        train.extend(group[held_out:])
    return train, test


@dataclass(frozen=True)
class IntentMetrics:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class IntentReport:
    accuracy: float
    per_intent: tuple[IntentMetrics, ...]
    # (text, expected, predicted) for every miss
    errors: tuple[tuple[str, str, str], ...]


def evaluate_intents(
    predict_intent: Callable[[str], str], examples: Sequence[TrainingExample]
) -> IntentReport:
    """Accuracy and per-intent precision/recall/F1 of ``predict_intent``."""
    expected = [example.intent for example in examples]
    predicted = [predict_intent(example.text) for example in examples]
    labels = sorted(set(expected) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0
    )
    per_intent = tuple(
        IntentMetrics(label, float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    )
    errors = tuple(
        (example.text, want, got)
        for example, want, got in zip(examples, expected, predicted, strict=True)
        if want != got
    )
    return IntentReport(
        accuracy=float(accuracy_score(expected, predicted)), per_intent=per_intent, errors=errors
    )


@dataclass(frozen=True)
class EntityReport:
    precision: float
    recall: float
    f1: float
    support: int


def evaluate_entities(
    predict_entities: Callable[[str], Sequence[tuple[str, str]]],
    examples: Sequence[TrainingExample],
    *,
    synonyms: dict[str, str] | None = None,
) -> EntityReport:
    """Micro precision/recall/F1 over (entity, canonical value) pairs per example."""
    synonyms = synonyms or {}
    true_positives = predicted_total = expected_total = 0
    for example in examples:
        expected = [
            (e.entity, synonyms.get(e.value.lower(), e.value).lower()) for e in example.entities
        ]
        predicted = [(name, value.lower()) for name, value in predict_entities(example.text)]
        expected_total += len(expected)
        predicted_total += len(predicted)
        remaining = list(expected)
        for pair in predicted:
            if pair in remaining:
                remaining.remove(pair)
                true_positives += 1
    precision = true_positives / predicted_total if predicted_total else 0.0
    recall = true_positives / expected_total if expected_total else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EntityReport(precision=precision, recall=recall, f1=f1, support=expected_total)
