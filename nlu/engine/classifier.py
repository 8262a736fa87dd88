"""Intent classifier: TF-IDF word + character n-grams and a linear SVM."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

# Fixed so that training (and therefore every test and benchmark) is repeatable.
RANDOM_STATE = 7
# LinearSVC has no probabilities; a softmax over its margins (which sit roughly
# in [-1.5, 1]) with this sharpness gives scores that rank and threshold well.
SOFTMAX_SHARPNESS = 4.0
_WORD_PATTERN = r"(?u)\b\w+\b"


class IntentClassifier:
    """Multilingual intent classifier over preprocessed text.

    Character n-grams (within word boundaries, accents stripped) carry most of
    the signal across four languages and their inflections; word uni/bigrams
    add phrases such as "no more" or "ne ... plus". A linear SVM was as
    accurate as logistic regression on the held-out split and trains ~15x faster.
    """

    def __init__(self, *, preprocess: Callable[[str], str]) -> None:
        self._preprocess = preprocess
        self._word_vectorizer = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            strip_accents="unicode",
            token_pattern=_WORD_PATTERN,
        )
        char_vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, strip_accents="unicode"
        )
        self._pipeline = Pipeline(
            [
                (
                    "features",
                    FeatureUnion([("words", self._word_vectorizer), ("chars", char_vectorizer)]),
                ),
                (
                    "model",
                    LinearSVC(C=1.0, class_weight="balanced", random_state=RANDOM_STATE),
                ),
            ]
        )
        self.intents: list[str] = []

    def fit(self, texts: Sequence[str], intents: Sequence[str]) -> IntentClassifier:
        self._pipeline.fit([self._preprocess(t) for t in texts], list(intents))
        self.intents = [str(c) for c in self._pipeline.classes_]
        return self

    def rank(self, text: str) -> list[tuple[str, float]]:
        """All intents with a confidence in [0, 1] (summing to 1), most likely first."""
        margins = self._pipeline.decision_function([self._preprocess(text)])[0]
        scaled = SOFTMAX_SHARPNESS * (margins - margins.max())
        confidences = np.exp(scaled) / np.exp(scaled).sum()
        order = np.argsort(-confidences)
        return [(self.intents[i], float(confidences[i])) for i in order]

    def knows_any_word(self, text: str) -> bool:
        """Whether any word of ``text`` occurred in training (else it is noise to us)."""
        analyse = self._word_vectorizer.build_analyzer()
        vocabulary = self._word_vectorizer.vocabulary_
        return any(token in vocabulary for token in analyse(self._preprocess(text)))
