"""EmbeddedNLU: an in-process NLU engine trained from the Rasa training data.

It needs no server: the first ``parse`` trains a scikit-learn model from
``nlu/rasa/data/nlu.yml`` (well under a second for this data set) and keeps it
in memory; concurrent first calls wait for the one training run.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from nlu.engine.classifier import IntentClassifier
from nlu.engine.entities import AMOUNT_REGEX_NAME, EntityExtractor, normalise_apostrophes
from nlu.engine.training_data import DEFAULT_NLU_PATH, NLUTrainingData, load_nlu_file
from nlu.interface import FALLBACK_INTENT, IntentScore, ParseResult

# Below this confidence the top intent is not trusted and the result falls back.
# Chosen on a validation split of the training data (`bench/nlu_accuracy.py --calibrate`,
# never the held-out set): with ~50 examples per intent and language, accuracy is flat
# from 0.0 to 0.20 and drops above; 0.20 keeps a margin for nonsense, which the
# known-word check (no word seen in training, no entity) catches in any case.
DEFAULT_CONFIDENCE_THRESHOLD = 0.20
_RANKING_SIZE = 10


@dataclass(frozen=True)
class _TrainedModel:
    classifier: IntentClassifier
    extractor: EntityExtractor


class EmbeddedNLU:
    """NLU engine trained in-process; implements :class:`nlu.interface.NLUEngine`."""

    def __init__(
        self,
        *,
        training_data: NLUTrainingData | None = None,
        training_data_path: str | Path = DEFAULT_NLU_PATH,
        confidence_threshold: float = DEFAULT_CONFIDENCE_THRESHOLD,
    ) -> None:
        self._training_data = training_data
        self._training_data_path = Path(training_data_path)
        self.confidence_threshold = confidence_threshold
        self._model: _TrainedModel | None = None
        self._lock = threading.Lock()

    def train(self) -> None:
        """Train now instead of on the first ``parse`` (e.g. at process start)."""
        self._trained_model()

    def _trained_model(self) -> _TrainedModel:
        model = self._model
        if model is not None:
            return model
        with self._lock:
            if self._model is None:
                data = self._training_data or load_nlu_file(self._training_data_path)
                self._model = _train(data)
            return self._model

    def parse(self, text: str, lang: str | None = None) -> ParseResult:
        """Intent and entities of ``text``; ``lang`` is accepted but not needed."""
        model = self._trained_model()
        ranking = model.classifier.rank(text)
        top_intent, top_confidence = ranking[0]
        is_fallback = top_confidence < self.confidence_threshold or not (
            model.classifier.knows_any_word(text) or model.extractor.tags(text)
        )
        intent = FALLBACK_INTENT if is_fallback else top_intent
        confidence = self.confidence_threshold if is_fallback else top_confidence
        entities = model.extractor.extract(text, intent=intent)
        return ParseResult(
            text=text,
            intent=intent,
            confidence=confidence,
            entities=tuple(entities),
            ranking=tuple(IntentScore(name, score) for name, score in ranking[:_RANKING_SIZE]),
            is_fallback=is_fallback,
        )

    async def aparse(self, text: str, lang: str | None = None) -> ParseResult:
        # CPU-bound but ~1 ms once trained; a thread keeps the first (training) call
        # off the event loop.
        return await asyncio.to_thread(self.parse, text, lang)


def _train(data: NLUTrainingData) -> _TrainedModel:
    if len(data.intents) < 2:
        raise ValueError("The embedded NLU needs examples for at least two intents")
    extractor = EntityExtractor(data)
    placeholder_patterns = [
        (name, re.compile(pattern, re.IGNORECASE))
        for name, patterns in data.regexes.items()
        for pattern in patterns
    ]
    # Entity regexes (order_ref) before the generic amount, which also matches digits.
    placeholder_patterns.sort(key=lambda item: item[0] == AMOUNT_REGEX_NAME)

    def preprocess(text: str) -> str:
        """Lower-case, codes and numbers to placeholders, plus entity-type tags.

        "where is AT-7K2Q9" and "where is AT-3M8X1" then look alike to the
        classifier, and any known material or colour word hints at a search.
        """
        prepared = normalise_apostrophes(text)
        tags = extractor.tags(prepared)
        for name, pattern in placeholder_patterns:
            prepared = pattern.sub(f" regex{name.replace('_', '')} ", prepared)
        return " ".join([prepared.lower(), *(f"tag{tag.replace('_', '')}" for tag in tags)])

    classifier = IntentClassifier(preprocess=preprocess).fit(
        [example.text for example in data.examples],
        [example.intent for example in data.examples],
    )
    return _TrainedModel(classifier=classifier, extractor=extractor)
