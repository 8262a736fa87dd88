"""Entity extraction for the embedded engine, learned from the Rasa NLU data.

Four sources, in order of precedence when spans overlap:

1. regexes whose name is an entity (``order_ref``), as Rasa's RegexEntityExtractor;
2. numbers whose surrounding words were seen around an annotated numeric
   entity (``under [50](price_max)``, ``plus de [100](price_min)``): the
   contexts are learned from the annotations, so adding a French or German
   example teaches the embedded engine and DIET alike;
3. gazetteers: lookup tables plus every annotated surface form;
4. capitalised names after a context word seen before an annotated name
   (``profile of [Hans Keller](artisan_name)``), only for the intents where
   such names were annotated. A run may hold name particles ("Poterie du
   Vallon", "Cerería Luz de Olivo"), drops a trailing possessive ("Greta
   Vogel's workshop"), and needs one word the training text never uses outside
   an entity, so a capitalised German noun ("die Bestellung") or a known brand
   said in passing is not a name. A name of several words wins over the
   product or material words inside it ("Les Savons de Léa").

Values go through the synonyms, as Rasa's EntitySynonymMapper does, but only
within their own entity (a colour synonym does not rename a potter).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from nlu.engine.training_data import NLUTrainingData
from nlu.interface import Entity

# Name of the feature-only regex (in nlu.yml) that matches amounts.
AMOUNT_REGEX_NAME = "amount"
_DEFAULT_AMOUNT_PATTERN = r"\b\d{1,6}(?:[.,]\d{1,2})?\b"
# Skipped when reading the words around a number: "under 50 €", "unter 50 Euro".
CURRENCY_WORDS = frozenset(
    {"€", "$", "£", "eur", "euro", "euros", "usd", "dollar", "dollars", "gbp", "pound", "pounds"}
)
_NUMBER_PLACEHOLDER = "<num>"
_CONTEXT_TOKEN_RE = re.compile(r"\w+|[€$£]")
_WORD_SPAN_RE = re.compile(r"\w+(?:[-'’]\w+)*")
_MAX_NAME_TOKENS = 3  # capitalised words; particles between them come on top
# Lower-case words that join the parts of a shop or person name.
NAME_PARTICLES = frozenset(
    {"de", "del", "des", "du", "da", "di", "do", "la", "le", "les", "van", "y", "i", "e"}
)
_POSSESSIVE_RE = re.compile(r"'s$", re.IGNORECASE)
# Entities whose values are open-ended names, even when a lookup lists the known ones.
OPEN_ENTITIES = frozenset({"artisan_name"})

_PRIORITY_REGEX = 0
_PRIORITY_NUMBER = 1
_PRIORITY_GAZETTEER = 2
_PRIORITY_NAME = 3


def normalise_apostrophes(text: str) -> str:
    """Typographic apostrophes to ASCII; same length, so offsets are unchanged."""
    return text.replace("\u2019", "'")


def _is_number(token: str, amount_re: re.Pattern[str]) -> bool:
    return amount_re.fullmatch(token) is not None


@dataclass(frozen=True)
class _Candidate:
    entity: str
    value: str
    start: int
    end: int
    priority: int


class EntityExtractor:
    """Extracts entities with rules learned from one :class:`NLUTrainingData`."""

    def __init__(self, data: NLUTrainingData) -> None:
        self._synonyms = dict(data.synonyms)
        # Which entities each value is annotated (or listed) for.
        self._value_owners: dict[str, set[str]] = defaultdict(set)
        for example in data.examples:
            for annotation in example.entities:
                self._value_owners[annotation.value.lower()].add(annotation.entity)
        for lookup, values in data.lookups.items():
            for listed in values:
                self._value_owners[listed.lower()].add(lookup)
        annotated_entities = set(data.entity_names)

        self._entity_regexes: list[tuple[str, re.Pattern[str]]] = [
            (name, re.compile(pattern, re.IGNORECASE))
            for name, patterns in data.regexes.items()
            if name in annotated_entities
            for pattern in patterns
        ]
        amount_patterns = data.regexes.get(AMOUNT_REGEX_NAME) or (_DEFAULT_AMOUNT_PATTERN,)
        self._amount_re = re.compile("|".join(f"(?:{p})" for p in amount_patterns))

        numeric_entities = self._numeric_entities(data)
        # Entities some of whose annotations are bare numbers ("order [5521](order_ref)")
        # also learn the words around those numbers.
        self._learn_number_contexts(data, numeric_entities | self._partly_numeric(data))

        regex_entities = {name for name, _ in self._entity_regexes}
        gazetteer_entities = set(data.lookups) | (
            annotated_entities - numeric_entities - regex_entities
        )
        self._gazetteers = self._build_gazetteers(data, gazetteer_entities)

        # Open-vocabulary entities: artisan names (a catalogue lookup may list the known ones;
        # names it does not know are still spotted by their context).
        name_entities = (
            annotated_entities - numeric_entities - regex_entities - set(data.lookups)
        ) | (OPEN_ENTITIES & annotated_entities)
        self._name_entities = frozenset(name_entities)
        self._learn_name_contexts(data, name_entities)
        self._vocabulary = self._plain_words(data)

    # -- learning ---------------------------------------------------------------

    def _numeric_entities(self, data: NLUTrainingData) -> set[str]:
        surfaces: dict[str, list[str]] = defaultdict(list)
        for example in data.examples:
            for entity in example.entities:
                surfaces[entity.entity].append(entity.surface)
        return {
            name
            for name, values in surfaces.items()
            if all(_is_number(value, self._amount_re) for value in values)
        }

    def _partly_numeric(self, data: NLUTrainingData) -> set[str]:
        return {
            entity.entity
            for example in data.examples
            for entity in example.entities
            if _is_number(entity.surface, self._amount_re)
        }

    def _context_tokens(self, text: str) -> list[tuple[str, int, int]]:
        return [
            (
                _NUMBER_PLACEHOLDER
                if _is_number(match.group(0), self._amount_re)
                else match.group(0).lower(),
                match.start(),
                match.end(),
            )
            for match in _CONTEXT_TOKEN_RE.finditer(text)
        ]

    def _contexts_around(
        self, tokens: list[tuple[str, int, int]], start: int, end: int
    ) -> list[tuple[str, ...]]:
        """Contexts from most to least specific: the 3, 2 and 1 words before the
        span, then the word after it (marked ">"); currency words are skipped."""
        before = [t for t, _, t_end in tokens if t_end <= start and t not in CURRENCY_WORDS]
        after = [t for t, t_start, _ in tokens if t_start >= end and t not in CURRENCY_WORDS]
        contexts = [tuple(before[-size:]) for size in (3, 2, 1) if len(before) >= size]
        if after:
            contexts.append((">", after[0]))
        return contexts

    def _learn_number_contexts(self, data: NLUTrainingData, numeric_entities: set[str]) -> None:
        self._number_contexts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        for example in data.examples:
            numeric = [
                e
                for e in example.entities
                if e.entity in numeric_entities and _is_number(e.surface, self._amount_re)
            ]
            if not numeric:
                continue
            tokens = self._context_tokens(example.text)
            for entity in numeric:
                for context in self._contexts_around(tokens, entity.start, entity.end):
                    self._number_contexts[context][entity.entity] += 1

    def _build_gazetteers(
        self, data: NLUTrainingData, entities: Iterable[str]
    ) -> list[tuple[str, re.Pattern[str]]]:
        surfaces: dict[str, set[str]] = defaultdict(set)
        for name in entities:
            surfaces[name].update(v.lower() for v in data.lookups.get(name, ()))
        for example in data.examples:
            for entity in example.entities:
                if entity.entity in surfaces:
                    surfaces[entity.entity].add(entity.surface.lower())
        gazetteers = []
        for name, words in sorted(surfaces.items()):
            if not words:
                continue
            # Longest first so "olive wood" wins over "wood".
            alternatives = "|".join(
                re.escape(normalise_apostrophes(w)) for w in sorted(words, key=len, reverse=True)
            )
            gazetteers.append(
                (name, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))
            )
        return gazetteers

    def _learn_name_contexts(self, data: NLUTrainingData, name_entities: set[str]) -> None:
        self._name_contexts: dict[str, Counter[str]] = defaultdict(Counter)
        self._name_intents: dict[str, set[str]] = defaultdict(set)
        for example in data.examples:
            for entity in example.entities:
                if entity.entity not in name_entities:
                    continue
                self._name_intents[entity.entity].add(example.intent)
                before = [
                    m.group(0).lower() for m in _WORD_SPAN_RE.finditer(example.text[: entity.start])
                ]
                if before:
                    self._name_contexts[before[-1]][entity.entity] += 1

    @staticmethod
    def _plain_words(data: NLUTrainingData) -> frozenset[str]:
        """Lower-cased words the training text uses outside any entity annotation."""
        words: set[str] = set()
        for example in data.examples:
            text = normalise_apostrophes(example.text)
            spans = [(e.start, e.end) for e in example.entities]
            for match in _WORD_SPAN_RE.finditer(text):
                if not any(s < match.end() and match.start() < e for s, e in spans):
                    words.add(match.group(0).lower())
        return frozenset(words)

    # -- extraction -------------------------------------------------------------

    def extract(self, text: str, *, intent: str | None = None) -> list[Entity]:
        """Entities in ``text``; ``intent`` enables intent-specific name spotting."""
        text = normalise_apostrophes(text)
        candidates: list[_Candidate] = []
        candidates += self._regex_candidates(text)
        candidates += self._number_candidates(text)
        gazetteer = self._gazetteer_candidates(text)
        if intent is not None:
            names = self._name_candidates(text, intent, occupied=candidates)
            # A name of several words keeps the words inside it ("Les Savons de Léa").
            several = [n for n in names if " " in n.value]
            gazetteer = [
                g
                for g in gazetteer
                if not any(n.start <= g.start and g.end <= n.end for n in several)
            ]
            candidates += names
        candidates += gazetteer
        return [
            Entity(entity=c.entity, value=c.value, start=c.start, end=c.end)
            for c in _without_overlaps(candidates)
        ]

    def tags(self, text: str) -> list[str]:
        """Entity names the rule-based sources see in ``text`` (classifier features)."""
        text = normalise_apostrophes(text)
        found = self._regex_candidates(text) + self._gazetteer_candidates(text)
        # A capitalised run after a name context ("perfil de Lucía Pérez") is a
        # feature too, whichever intent the classifier will decide on.
        found += self._name_candidates(text, None, occupied=found)
        return sorted({c.entity for c in found})

    def _canonical(self, surface: str, entity: str) -> str:
        """The synonym's value, unless that value belongs to other entities only
        (Spanish "rosa" is pink as a colour, but "Rosa" the potter stays Rosa)."""
        value = self._synonyms.get(surface.lower())
        if value is None:
            return surface
        owners = self._value_owners.get(value.lower())
        return value if not owners or entity in owners else surface

    def _regex_candidates(self, text: str) -> list[_Candidate]:
        return [
            _Candidate(name, match.group(0).upper(), match.start(), match.end(), _PRIORITY_REGEX)
            for name, pattern in self._entity_regexes
            for match in pattern.finditer(text)
        ]

    def _number_candidates(self, text: str) -> list[_Candidate]:
        tokens = self._context_tokens(text)
        candidates = []
        for match in self._amount_re.finditer(text):
            entity_name = self._vote(self._contexts_around(tokens, match.start(), match.end()))
            if entity_name is None:
                continue
            value = match.group(0).replace(",", ".")
            candidates.append(
                _Candidate(entity_name, value, match.start(), match.end(), _PRIORITY_NUMBER)
            )
        return candidates

    def _vote(self, contexts: list[tuple[str, ...]]) -> str | None:
        """The entity of the most specific context seen with a clear majority.

        "pas plus de 70" (max) and "à plus de 100" (min) share "plus de": the
        three-word context separates them; a tie backs off to the next context.
        """
        for context in contexts:
            votes = self._number_contexts.get(context)
            if not votes:
                continue
            ranked = votes.most_common(2)
            if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
                return ranked[0][0]
        return None

    def _gazetteer_candidates(self, text: str) -> list[_Candidate]:
        return [
            _Candidate(
                name,
                self._canonical(match.group(0), name),
                match.start(),
                match.end(),
                _PRIORITY_GAZETTEER,
            )
            for name, pattern in self._gazetteers
            for match in pattern.finditer(text)
            # Names are written with a capital: "rosa" is a colour, "Rosa" may be a potter.
            if name not in self._name_entities or match.group(0)[0].isupper()
        ]

    def _name_candidates(
        self, text: str, intent: str | None, *, occupied: list[_Candidate]
    ) -> list[_Candidate]:
        """Capitalised runs after a word seen before a name; ``intent=None`` skips
        the check that names were annotated for that intent."""
        words = list(_WORD_SPAN_RE.finditer(text))
        taken = [(c.start, c.end) for c in occupied]
        candidates = []
        for index, word in enumerate(words[:-1]):
            votes = self._name_contexts.get(word.group(0).lower())
            if not votes:
                continue
            entity_name = votes.most_common(1)[0][0]
            if intent is not None and intent not in self._name_intents[entity_name]:
                continue
            run = self._name_run(text, words[index + 1 :], taken)
            if run:
                start, end = run[0].start(), run[-1].end()
                value = _POSSESSIVE_RE.sub("", text[start:end])
                candidates.append(
                    _Candidate(entity_name, value, start, start + len(value), _PRIORITY_NAME)
                )
        return candidates

    def _name_run(self, text: str, following: list[re.Match[str]], taken) -> list[re.Match[str]]:
        """The capitalised words (and particles between them) that start ``following``;
        empty when none of them is a word the training text uses outside entities."""
        run: list[re.Match[str]] = []
        pending: list[re.Match[str]] = []  # particles, kept only if a capital follows
        last: re.Match[str] | None = None
        capitalised = 0
        for word in following:
            token = word.group(0)
            # Names are adjacent words: stop at punctuation between them.
            if last is not None and text[last.end() : word.start()].strip():
                break
            if any(s < word.end() and word.start() < e for s, e in taken):
                break
            if token[0].isupper():
                run += [*pending, word]
                pending = []
                capitalised += 1
                if capitalised == _MAX_NAME_TOKENS:
                    break
            elif run and token.lower() in NAME_PARTICLES and len(pending) < 2:
                pending.append(word)
            else:
                break
            last = word
        if not any(
            w.group(0)[0].isupper()
            and _POSSESSIVE_RE.sub("", w.group(0)).lower() not in self._vocabulary
            for w in run
        ):
            return []
        return run


def _without_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for candidate in sorted(candidates, key=lambda c: (c.priority, -(c.end - c.start), c.start)):
        if all(candidate.end <= k.start or k.end <= candidate.start for k in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda c: c.start)
