"""Compare Rasa NLU pipelines on a validation split of the training data.

    .venv/bin/python bench/rasa_pipeline.py nlu/rasa/config.yml other.yml [--seed N]

For each config: the training data (every ``nlu*.yml``) is split per intent with the same
fixed seed as ``bench/nlu_accuracy.py --calibrate``; a throw-away copy of nlu/rasa/ is
trained on the train part only (``scripts/rasa.sh`` with ``RASA_PROJECT_DIR``; dialogue
policies reduced to the RulePolicy, which does not affect NLU) and served on a free port;
the validation part is parsed and scored, and Rasa's FallbackClassifier threshold is
calibrated on the raw intent ranking. The held-out set is never used here, so choosing a
pipeline by these figures does not tune it to the figures reported in docs/nlu.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlu.engine.evaluation import (  # noqa: E402
    DEFAULT_SPLIT_SEED,
    DEFAULT_TEST_FRACTION,
    score_engine,
    stratified_split,
)
from nlu.engine.training_data import load_nlu_file, to_rasa_yaml  # noqa: E402
from nlu.interface import FALLBACK_INTENT  # noqa: E402
from nlu.rasa_http import RASA_FALLBACK_INTENT, RasaHTTPNLU  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RASA_SH = REPO / "scripts" / "rasa.sh"
THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _project(config: Path, train_yaml: str, into: Path) -> Path:
    source = REPO / "nlu" / "rasa"
    shutil.copytree(source, into, ignore=shutil.ignore_patterns("models", ".rasa", "data"))
    (into / "data").mkdir()
    (into / "data" / "nlu.yml").write_text(train_yaml, encoding="utf-8")
    for name in ("rules.yml", "stories.yml"):
        if (source / "data" / name).exists():
            shutil.copy(source / "data" / name, into / "data" / name)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["policies"] = [{"name": "RulePolicy"}]
    (into / "config.yml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return into


def _raw_top(result) -> tuple[str, float]:
    for item in result.ranking:
        if item.name != RASA_FALLBACK_INTENT:
            return item.name, item.confidence
    return FALLBACK_INTENT, 0.0


def evaluate(config: Path, train, validation, synonyms) -> None:
    with tempfile.TemporaryDirectory(prefix="rasa-pipeline-") as scratch:
        project = _project(config, to_rasa_yaml(train), Path(scratch) / "project")
        port = _free_port()
        env = {**os.environ, "RASA_PROJECT_DIR": str(project), "RASA_PORT": str(port)}
        started = time.monotonic()
        subprocess.run(["bash", str(RASA_SH), "serve-bg"], env=env, check=True)  # noqa: S603,S607
        try:
            took = time.monotonic() - started
            nlu = RasaHTTPNLU(f"http://127.0.0.1:{port}", timeout=30)
            parsed = {example.text: nlu.parse(example.text) for example in validation}
            score = score_engine(lambda text: parsed[text], validation, synonyms=synonyms)
            print(f"\n== {config} (trained and served in {took:.0f}s)")
            print(score.summary())
            print("fallback threshold on the raw ranking:")
            for threshold in THRESHOLDS:
                correct = 0
                for example in validation:
                    name, confidence = _raw_top(parsed[example.text])
                    got = name if confidence >= threshold else FALLBACK_INTENT
                    correct += got == example.intent
                print(f"  {threshold:.2f}: accuracy {correct / len(validation):.3f}")
        finally:
            subprocess.run(["bash", str(RASA_SH), "stop"], env=env, check=False)  # noqa: S603,S607


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", type=Path)
    parser.add_argument("--seed", type=int, default=DEFAULT_SPLIT_SEED)
    parser.add_argument("--test-fraction", type=float, default=DEFAULT_TEST_FRACTION)
    args = parser.parse_args()
    data = load_nlu_file()
    train, validation = stratified_split(
        data.examples, test_fraction=args.test_fraction, seed=args.seed
    )
    print(f"{len(train)} training, {len(validation)} validation examples")
    for config in args.configs:
        evaluate(config, data.with_examples(train), validation, dict(data.synonyms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
