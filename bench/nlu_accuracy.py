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
    score_engine,
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


def report_engine(label, parse, examples, synonyms, *, show_errors: bool, seen: set) -> dict:
    score = score_engine(parse, examples, synonyms=synonyms)
    print(f"\n== {label}")
    print(score.summary())
    # The same figure without the utterances that are also in the training data verbatim
    # (short stock phrases such as "bye" or "menu"): what the engine does on new wording.
    unseen = [example for example in examples if example.text.lower() not in seen]
    missed = {text for text, _, _ in score.intents.errors}
    unseen_accuracy = sum(example.text not in missed for example in unseen) / len(unseen)
    print(f"intent accuracy on the {len(unseen)} not trained on verbatim: {unseen_accuracy:.3f}")
    if show_errors:
        print(f"\nMisclassified by {label}:")
        for text, expected, predicted in score.intents.errors:
            print(f"  {text!r}: expected {expected}, got {predicted}")
        print(f"\nEntity misses of {label}:")
        for text, want, got in score.entity_misses:
            print(f"  {text!r}: expected {want}, got {got}")
    return {**score.figures(), "unseen_intent_accuracy": round(unseen_accuracy, 4)}


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
            "embedded", engine.parse, heldout, synonyms, show_errors=args.show_errors, seen=texts
        )
    if args.rasa_url:
        rasa = RasaHTTPNLU(args.rasa_url, timeout=args.rasa_timeout)
        try:
            figures["rasa"] = report_engine(
                "rasa", rasa.parse, heldout, synonyms, show_errors=args.show_errors, seen=texts
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
