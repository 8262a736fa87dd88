"""Intent accuracy and entity F1 of the NLU engines on held-out examples.

Run from the project root (no Django needed):

    .venv/bin/python bench/nlu_accuracy.py
    .venv/bin/python bench/nlu_accuracy.py --write-rasa-split /tmp/atelier-rasa-split
    .venv/bin/python bench/nlu_accuracy.py --rasa-url http://127.0.0.1:5005 [--rasa-trained-on-split]

The examples of nlu/rasa/data/nlu.yml are split per intent (25% held out,
fixed seed). The embedded engine is trained on the training part only and
evaluated on the held-out part.

The Rasa column evaluates whatever model the server at --rasa-url has loaded.
A model trained by `make rasa` has seen ALL examples, held-out ones included,
so its column is then a training-set score (optimistic) and is labelled so.
For a fair comparison, write the train-only Rasa project with
--write-rasa-split DIR, train it (the command is printed), serve that model,
and pass --rasa-trained-on-split.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

# Runnable as a plain script from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlu.engine.embedded import EmbeddedNLU  # noqa: E402
from nlu.engine.evaluation import (  # noqa: E402
    DEFAULT_SPLIT_SEED,
    DEFAULT_TEST_FRACTION,
    IntentReport,
    evaluate_entities,
    evaluate_intents,
    stratified_split,
)
from nlu.engine.training_data import (  # noqa: E402
    DEFAULT_NLU_PATH,
    NLUTrainingData,
    load_nlu_file,
    to_rasa_yaml,
)
from nlu.interface import NLUUnavailable, ParseResult  # noqa: E402
from nlu.rasa_http import RasaHTTPNLU  # noqa: E402

RASA_PROJECT_DIR = DEFAULT_NLU_PATH.parent.parent


def write_rasa_split(data: NLUTrainingData, target: Path) -> None:
    """A copy of the Rasa project whose nlu.yml holds only the training split."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(
        RASA_PROJECT_DIR, target, ignore=shutil.ignore_patterns("models", ".rasa", "results")
    )
    (target / "data" / "nlu.yml").write_text(to_rasa_yaml(data), encoding="utf-8")


def print_side_by_side(reports: dict[str, IntentReport]) -> None:
    names = list(reports)
    intents = sorted({m.intent for report in reports.values() for m in report.per_intent})
    header = f"{'intent':<24}{'support':>8}" + "".join(
        f"  {name[:22]:>22} P/R/F1" for name in names
    )
    print(header)
    print("-" * len(header))
    for intent in intents:
        row = f"{intent:<24}"
        support = None
        cells = []
        for name in names:
            metric = next((m for m in reports[name].per_intent if m.intent == intent), None)
            if metric is None:
                cells.append(f"  {'-':>29}")
                continue
            support = metric.support if support is None else support
            cells.append(f"  {metric.precision:>9.2f} {metric.recall:>9.2f} {metric.f1:>9.2f}")
        row += f"{support if support is not None else 0:>8}" + "".join(cells)
        print(row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED)
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION)
    parser.add_argument("--rasa-url", help="also evaluate a running Rasa server")
    parser.add_argument("--rasa-timeout", type=float, default=10.0)
    parser.add_argument(
        "--rasa-trained-on-split",
        action="store_true",
        help="the Rasa server's model was trained on the --write-rasa-split project",
    )
    parser.add_argument("--write-rasa-split", type=Path, metavar="DIR")
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()

    data = load_nlu_file()
    train, test = stratified_split(data.examples, test_fraction=args.test_fraction, seed=args.seed)
    print(
        f"NLU data: {len(data.examples)} examples, {len(data.intents)} intents; "
        f"split seed {args.seed}: {len(train)} train / {len(test)} held out"
    )
    train_data = data.with_examples(train)

    if args.write_rasa_split:
        write_rasa_split(train_data, args.write_rasa_split)
        print(
            f"\nWrote the train-only Rasa project to {args.write_rasa_split}. Train and serve it:"
        )
        print(
            f"  RASA_PROJECT_DIR={args.write_rasa_split} bash scripts/rasa.sh train\n"
            f"  (or: cd {args.write_rasa_split} && rasa train && rasa run --enable-api)\n"
            f"then rerun with --rasa-url http://127.0.0.1:5005 --rasa-trained-on-split"
        )

    engine = EmbeddedNLU(training_data=train_data)
    started = time.perf_counter()
    engine.train()
    train_seconds = time.perf_counter() - started
    parsed: dict[str, ParseResult] = {}
    started = time.perf_counter()
    for example in test:
        parsed[example.text] = engine.parse(example.text)
    parse_ms = (time.perf_counter() - started) * 1000 / len(test)

    reports = {"embedded": evaluate_intents(lambda text: parsed[text].intent, test)}
    entity_reports = {
        "embedded": evaluate_entities(
            lambda text: [(e.entity, e.value) for e in parsed[text].entities],
            test,
            synonyms=dict(data.synonyms),
        )
    }
    raw = evaluate_intents(lambda text: parsed[text].ranking[0].name, test)
    print(f"\nembedded: trained in {train_seconds:.2f}s, {parse_ms:.2f} ms per parse")
    print(
        f"embedded: intent accuracy {reports['embedded'].accuracy:.3f} "
        f"(top intent before the {engine.confidence_threshold} fallback: {raw.accuracy:.3f})"
    )

    if args.rasa_url:
        label = "rasa (split)" if args.rasa_trained_on_split else "rasa (seen all data)"
        rasa = RasaHTTPNLU(args.rasa_url, timeout=args.rasa_timeout)
        try:
            rasa_parsed = {example.text: rasa.parse(example.text) for example in test}
        except NLUUnavailable as error:
            print(f"\n{label}: {error}")
            return 1
        reports[label] = evaluate_intents(lambda text: rasa_parsed[text].intent, test)
        entity_reports[label] = evaluate_entities(
            lambda text: [(e.entity, e.value) for e in rasa_parsed[text].entities],
            test,
            synonyms=dict(data.synonyms),
        )
        print(f"{label}: intent accuracy {reports[label].accuracy:.3f}")
        if not args.rasa_trained_on_split:
            print(
                "  note: this Rasa model was trained on all of nlu.yml, held-out examples "
                "included; see --write-rasa-split for a fair comparison."
            )

    print("\nPer intent (precision / recall / F1 on held-out examples)")
    print_side_by_side(reports)
    print("\nEntities (micro over (entity, canonical value) pairs)")
    for name, report in entity_reports.items():
        print(
            f"  {name:<24} P {report.precision:.3f}  R {report.recall:.3f}  "
            f"F1 {report.f1:.3f}  (n={report.support})"
        )
    if args.show_errors:
        for name, report in reports.items():
            print(f"\nMisclassified by {name}:")
            for text, expected, predicted in report.errors:
                print(f"  {text!r}: expected {expected}, got {predicted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
