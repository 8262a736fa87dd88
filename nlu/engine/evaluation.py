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


@dataclass(frozen=True)
class EngineScore:
    """Every figure of one engine on one labelled set (bench/nlu_accuracy.py prints it; the
    floor tests assert on it)."""

    intents: IntentReport
    entities: EntityReport
    per_language: dict[str, float]
    per_entity_f1: dict[str, float]
    # (text, expected pairs, predicted pairs) for every example whose entities differ
    entity_misses: tuple[tuple[str, list, list], ...]

    @property
    def out_of_scope_recall(self) -> float | None:
        metric = next((m for m in self.intents.per_intent if m.intent == "out_of_scope"), None)
        return metric.recall if metric else None

    def figures(self) -> dict:
        oos = self.out_of_scope_recall
        return {
            "intent_accuracy": round(self.intents.accuracy, 4),
            "per_language": {lang: round(acc, 4) for lang, acc in self.per_language.items()},
            "entity_micro_f1": round(self.entities.f1, 4),
            "per_entity_f1": {name: round(f1, 4) for name, f1 in self.per_entity_f1.items()},
            "out_of_scope_recall": round(oos, 4) if oos is not None else None,
            "per_intent_f1": {m.intent: round(m.f1, 4) for m in self.intents.per_intent},
        }

    def summary(self) -> str:
        lines = [
            f"intent accuracy {self.intents.accuracy:.3f}   "
            + "  ".join(f"{lang} {acc:.3f}" for lang, acc in self.per_language.items()),
            f"entity micro F1 {self.entities.f1:.3f} (P {self.entities.precision:.3f} "
            f"R {self.entities.recall:.3f}, n={self.entities.support})   "
            + "  ".join(f"{name} {f1:.2f}" for name, f1 in self.per_entity_f1.items()),
        ]
        if self.out_of_scope_recall is not None:
            lines.append(f"out_of_scope recall {self.out_of_scope_recall:.3f}")
        lines.append(f"{'intent':<24}{'n':>5}{'P':>7}{'R':>7}{'F1':>7}")
        lines.extend(
            f"{m.intent:<24}{m.support:>5}{m.precision:>7.2f}{m.recall:>7.2f}{m.f1:>7.2f}"
            for m in self.intents.per_intent
        )
        return "\n".join(lines)


def _canonical(entities, synonyms: dict[str, str]) -> list[tuple[str, str]]:
    return sorted((e.entity, synonyms.get(e.value.lower(), e.value).lower()) for e in entities)


def score_engine(
    parse: Callable[[str], object],
    examples: Sequence[TrainingExample],
    *,
    synonyms: dict[str, str] | None = None,
) -> EngineScore:
    """Parse every example once and score intents (overall, per language) and entities
    (micro and per entity name). ``parse`` returns an object with ``intent`` and
    ``entities`` (each with ``entity`` and ``value``), as both engines' ParseResult does."""
    synonyms = synonyms or {}
    parsed = {example.text: parse(example.text) for example in examples}

    def intent_of(text: str) -> str:
        return parsed[text].intent

    def pairs_of(text: str, name: str | None = None) -> list[tuple[str, str]]:
        return [
            (e.entity, e.value) for e in parsed[text].entities if name is None or e.entity == name
        ]

    by_language: dict[str, list[TrainingExample]] = defaultdict(list)
    for example in examples:
        by_language[example.language or "?"].append(example)
    per_language = {
        language: evaluate_intents(intent_of, group).accuracy
        for language, group in sorted(by_language.items())
    }
    per_entity: dict[str, float] = {}
    for name in sorted({e.entity for example in examples for e in example.entities}):
        only = [
            TrainingExample(
                text=example.text,
                intent=example.intent,
                entities=tuple(e for e in example.entities if e.entity == name),
            )
            for example in examples
        ]
        per_entity[name] = evaluate_entities(
            lambda text, name=name: pairs_of(text, name), only, synonyms=synonyms
        ).f1
    misses = tuple(
        (example.text, want, got)
        for example in examples
        if (want := _canonical(example.entities, synonyms))
        != (got := sorted((n, v.lower()) for n, v in pairs_of(example.text)))
    )
    return EngineScore(
        intents=evaluate_intents(intent_of, examples),
        entities=evaluate_entities(pairs_of, examples, synonyms=synonyms),
        per_language=per_language,
        per_entity_f1=per_entity,
        entity_misses=misses,
    )
