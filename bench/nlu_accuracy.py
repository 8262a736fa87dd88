"""Intent accuracy and entity F1 of both NLU engines on the held-out set.

Run from the project root (no Django needed):

    .venv/bin/python bench/nlu_accuracy.py [--show-errors] [--calibrate]
    .venv/bin/python bench/nlu_accuracy.py --rasa-url http://127.0.0.1:5005 [--no-embedded]

Both engines train on every ``nlu*.yml`` of nlu/rasa/data/ (the embedded one here, Rasa
by ``make rasa``) and are scored on nlu/heldout/heldout.yml: utterances written apart
from the training data and never trained on, each marked with its language, so the
figures are per language, per intent and per entity. ``--calibrate`` picks the embedded
fallback threshold on a validation split of the training data, never on the held-out set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Runnable as a plain script from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlu.engine.embedded import EmbeddedNLU  # noqa: E402
from nlu.engine.evaluation import (  # noqa: E402
    DEFAULT_SPLIT_SEED,
    DEFAULT_TEST_FRACTION,
    evaluate_entities,
    evaluate_intents,
    stratified_split,
)
from nlu.engine.training_data import (  # noqa: E402
    DEFAULT_HELDOUT_PATH,
    NLUTrainingData,
    load_heldout,
    load_nlu_file,
)
from nlu.interface import NLUUnavailable  # noqa: E402
from nlu.rasa_http import RasaHTTPNLU  # noqa: E402


def _per_language(examples, predict_intent) -> dict[str, float]:
    by_language: dict[str, list] = {}
    for example in examples:
        by_language.setdefault(example.language or "?", []).append(example)
    return {
        language: evaluate_intents(predict_intent, group).accuracy
        for language, group in sorted(by_language.items())
    }


def _entity_breakdown(predict_entities, examples, synonyms) -> dict[str, float]:
    names = sorted({e.entity for example in examples for e in example.entities})
    breakdown = {}
    for name in names:
        only = [
            example.__class__(
                text=example.text,
                intent=example.intent,
                entities=tuple(e for e in example.entities if e.entity == name),
            )
            for example in examples
        ]
        report = evaluate_entities(
            lambda text, name=name: [pair for pair in predict_entities(text) if pair[0] == name],
            only,
            synonyms=synonyms,
        )
        breakdown[name] = report.f1
    return breakdown


def report_engine(label, parse, examples, synonyms, *, show_errors: bool) -> dict:
    parsed = {example.text: parse(example.text) for example in examples}
    intents = evaluate_intents(lambda text: parsed[text].intent, examples)
    entities = evaluate_entities(
        lambda text: [(e.entity, e.value) for e in parsed[text].entities],
        examples,
        synonyms=synonyms,
    )
    languages = _per_language(examples, lambda text: parsed[text].intent)
    per_entity = _entity_breakdown(
        lambda text: [(e.entity, e.value) for e in parsed[text].entities], examples, synonyms
    )
    oos = next((m for m in intents.per_intent if m.intent == "out_of_scope"), None)
    print(f"\n== {label}")
    print(
        f"intent accuracy {intents.accuracy:.3f}   "
        + "  ".join(f"{lang} {acc:.3f}" for lang, acc in languages.items())
    )
    print(
        f"entity micro F1 {entities.f1:.3f} (P {entities.precision:.3f} R {entities.recall:.3f}, "
        f"n={entities.support})   "
        + "  ".join(f"{name} {f1:.2f}" for name, f1 in per_entity.items())
    )
    if oos is not None:
        print(f"out_of_scope recall {oos.recall:.3f}")
    print(f"{'intent':<24}{'n':>5}{'P':>7}{'R':>7}{'F1':>7}")
    for metric in intents.per_intent:
        print(
            f"{metric.intent:<24}{metric.support:>5}{metric.precision:>7.2f}"
            f"{metric.recall:>7.2f}{metric.f1:>7.2f}"
        )
    if show_errors:
        print(f"\nMisclassified by {label}:")
        for text, expected, predicted in intents.errors:
            print(f"  {text!r}: expected {expected}, got {predicted}")
        print(f"\nEntity misses of {label}:")
        for example in examples:
            want = sorted(
                (e.entity, synonyms.get(e.value.lower(), e.value).lower()) for e in example.entities
            )
            got = sorted((e.entity, e.value.lower()) for e in parsed[example.text].entities)
            if want != got:
                print(f"  {example.text!r}: expected {want}, got {got}")
    return {
        "intent_accuracy": round(intents.accuracy, 4),
        "per_language": {lang: round(acc, 4) for lang, acc in languages.items()},
        "entity_micro_f1": round(entities.f1, 4),
        "per_entity_f1": {name: round(f1, 4) for name, f1 in per_entity.items()},
        "out_of_scope_recall": round(oos.recall, 4) if oos else None,
        "per_intent_f1": {m.intent: round(m.f1, 4) for m in intents.per_intent},
    }


def calibrate(data: NLUTrainingData, *, seed: int, test_fraction: float) -> None:
    """Choose the embedded fallback threshold on a validation split of the TRAINING data
    (never the held-out set): accuracy when a prediction under the threshold counts as
    out_of_scope."""
    train, validation = stratified_split(data.examples, test_fraction=test_fraction, seed=seed)
    engine = EmbeddedNLU(training_data=data.with_examples(train))
    engine.train()
    ranked = [(example.intent, engine.parse(example.text).ranking) for example in validation]
    print(f"\nFallback threshold on a validation split ({len(validation)} of the training data)")
    for threshold in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        correct = 0
        for want, ranking in ranked:
            top = ranking[0]
            got = top.name if top.confidence >= threshold else "out_of_scope"
            correct += got == want
        print(f"  {threshold:.2f}: accuracy {correct / len(ranked):.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED)
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION)
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT_PATH)
    parser.add_argument("--rasa-url", help="also evaluate a running Rasa server")
    parser.add_argument("--rasa-timeout", type=float, default=10.0)
    parser.add_argument("--no-embedded", action="store_true")
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()

    data = load_nlu_file()
    if not args.heldout.exists():
        print(f"no held-out set at {args.heldout}: write one apart from the training data")
        return 2
    heldout = load_heldout(args.heldout).examples
    texts = {example.text.lower() for example in data.examples}
    verbatim = sum(example.text.lower() in texts for example in heldout)
    print(
        f"training data: {len(data.examples)} examples, {len(data.intents)} intents; "
        f"held-out set: {len(heldout)} examples ({verbatim} also in the training data verbatim)"
    )
    synonyms = dict(data.synonyms)
    figures: dict[str, dict] = {}
    if not args.no_embedded:
        engine = EmbeddedNLU(training_data=data)
        started = time.perf_counter()
        engine.train()
        print(f"embedded: trained in {time.perf_counter() - started:.2f}s")
        figures["embedded"] = report_engine(
            "embedded", engine.parse, heldout, synonyms, show_errors=args.show_errors
        )
    if args.rasa_url:
        rasa = RasaHTTPNLU(args.rasa_url, timeout=args.rasa_timeout)
        try:
            figures["rasa"] = report_engine(
                "rasa", rasa.parse, heldout, synonyms, show_errors=args.show_errors
            )
        except NLUUnavailable as error:
            print(f"\nrasa: {error}")
            return 1
    if args.calibrate:
        calibrate(data, seed=args.seed, test_fraction=args.test_fraction)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
