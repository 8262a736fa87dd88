"""Reader (and writer) for Rasa 3.x YAML NLU training data.

The embedded engine trains from the very file a Rasa server trains on, so this
module understands the parts of the format that file uses: intents with
examples, entity annotations (``[text](entity)``, ``[text](entity:value)``,
``[text]{"entity": ..., "value": ...}``), lookup tables, regexes and synonyms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# The Rasa project's data folder: every ``nlu*.yml`` in it (shared lookups, regexes and
# synonyms in nlu.yml; examples per language in nlu_<lang>.yml; the catalogue's names in
# nlu_catalogue.yml). Rasa trains on the same folder.
DEFAULT_NLU_PATH = Path(__file__).resolve().parent.parent / "rasa" / "data"
#: The held-out test set: written apart from the training data and never trained on.
DEFAULT_HELDOUT_PATH = Path(__file__).resolve().parent.parent / "heldout" / "heldout.yml"

# [surface](entity) | [surface](entity:value) | [surface]{json}
_ANNOTATION_RE = re.compile(
    r"\[(?P<surface>[^\]]+?)\]"
    r"(?:\((?P<short>[^)]+?)\)|(?P<json>\{[^}]*\}))"
)


class TrainingDataError(ValueError):
    """The NLU YAML is malformed in a way the engines cannot train on."""


@dataclass(frozen=True)
class AnnotatedEntity:
    """One entity annotation inside a training example (offsets in plain text)."""

    entity: str
    value: str
    start: int
    end: int
    surface: str
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class TrainingExample:
    """A training utterance: plain text, its intent and its entity annotations."""

    text: str
    intent: str
    entities: tuple[AnnotatedEntity, ...] = ()
    annotated_text: str = ""
    language: str = ""


@dataclass(frozen=True)
class NLUTrainingData:
    """Everything the embedded engine learns from, parsed from Rasa YAML."""

    examples: tuple[TrainingExample, ...]
    lookups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    regexes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # lower-cased variant -> canonical value (Rasa's EntitySynonymMapper semantics)
    synonyms: Mapping[str, str] = field(default_factory=dict)

    @property
    def intents(self) -> list[str]:
        return sorted({example.intent for example in self.examples})

    @property
    def entity_names(self) -> list[str]:
        return sorted({entity.entity for example in self.examples for entity in example.entities})

    def with_examples(self, examples: Iterable[TrainingExample]) -> NLUTrainingData:
        """The same lookups/regexes/synonyms with another set of examples (for splits)."""
        return NLUTrainingData(
            examples=tuple(examples),
            lookups=self.lookups,
            regexes=self.regexes,
            synonyms=self.synonyms,
        )


def parse_annotated_example(annotated: str) -> tuple[str, list[AnnotatedEntity]]:
    """Strip Rasa entity annotations from one example.

    Returns the plain text and the entities with character offsets into it.
    """
    plain_parts: list[str] = []
    entities: list[AnnotatedEntity] = []
    cursor = 0
    plain_length = 0
    for match in _ANNOTATION_RE.finditer(annotated):
        before = annotated[cursor : match.start()]
        plain_parts.append(before)
        plain_length += len(before)
        surface = match.group("surface")
        entity_name, value, role, group = _read_annotation(match)
        entities.append(
            AnnotatedEntity(
                entity=entity_name,
                value=value if value is not None else surface,
                start=plain_length,
                end=plain_length + len(surface),
                surface=surface,
                role=role,
                group=group,
            )
        )
        plain_parts.append(surface)
        plain_length += len(surface)
        cursor = match.end()
    plain_parts.append(annotated[cursor:])
    return "".join(plain_parts), entities


def _read_annotation(
    match: re.Match[str],
) -> tuple[str, str | None, str | None, str | None]:
    short = match.group("short")
    if short is not None:
        entity_name, _, value = short.partition(":")
        return entity_name.strip(), (value.strip() or None), None, None
    try:
        payload = json.loads(match.group("json"))
    except json.JSONDecodeError as error:
        raise TrainingDataError(f"Invalid entity annotation {match.group(0)!r}: {error}") from error
    if not isinstance(payload, dict) or "entity" not in payload:
        raise TrainingDataError(f"Entity annotation without 'entity': {match.group(0)!r}")
    value = payload.get("value")
    return (
        str(payload["entity"]),
        None if value is None else str(value),
        payload.get("role"),
        payload.get("group"),
    )


def _example_lines(block: Any, *, where: str) -> list[str]:
    """Rasa accepts examples as a '- item' text block or as a list of {text: ...}."""
    if block is None:
        return []
    if isinstance(block, str):
        lines = []
        for raw_line in block.splitlines():
            line = raw_line.strip()
            if not line:
                continue
            if not line.startswith("- "):
                raise TrainingDataError(f"{where}: example line must start with '- ': {line!r}")
            lines.append(line[2:].strip())
        return lines
    if isinstance(block, list):
        lines = []
        for item in block:
            if isinstance(item, dict) and "text" in item:
                lines.append(str(item["text"]).strip())
            else:
                raise TrainingDataError(f"{where}: unsupported example item {item!r}")
        return lines
    raise TrainingDataError(f"{where}: unsupported examples block {type(block).__name__}")


def parse_nlu_yaml(text: str) -> NLUTrainingData:
    """Parse the content of a Rasa 3.x ``nlu.yml`` file."""
    document = yaml.safe_load(text) or {}
    if not isinstance(document, dict):
        raise TrainingDataError("NLU YAML must be a mapping with an 'nlu' key")
    items = document.get("nlu") or []
    examples: list[TrainingExample] = []
    lookups: dict[str, list[str]] = {}
    regexes: dict[str, list[str]] = {}
    synonyms: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            raise TrainingDataError(f"Unexpected NLU item {item!r}")
        if "intent" in item:
            intent = str(item["intent"])
            for line in _example_lines(item.get("examples"), where=f"intent {intent}"):
                plain, entities = parse_annotated_example(line)
                examples.append(
                    TrainingExample(
                        text=plain, intent=intent, entities=tuple(entities), annotated_text=line
                    )
                )
                # Like Rasa, an annotation with an explicit value is also a synonym.
                for entity in entities:
                    if entity.value != entity.surface:
                        synonyms[entity.surface.lower()] = entity.value
        elif "synonym" in item:
            canonical = str(item["synonym"])
            for variant in _example_lines(item.get("examples"), where=f"synonym {canonical}"):
                synonyms[variant.lower()] = canonical
        elif "lookup" in item:
            name = str(item["lookup"])
            lookups.setdefault(name, []).extend(
                _example_lines(item.get("examples"), where=f"lookup {name}")
            )
        elif "regex" in item:
            name = str(item["regex"])
            patterns = _example_lines(item.get("examples"), where=f"regex {name}")
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise TrainingDataError(f"regex {name}: {pattern!r}: {error}") from error
            regexes.setdefault(name, []).extend(patterns)
        else:
            raise TrainingDataError(f"Unknown NLU item keys {sorted(item)}")
    return NLUTrainingData(
        examples=tuple(examples),
        lookups={name: tuple(values) for name, values in lookups.items()},
        regexes={name: tuple(values) for name, values in regexes.items()},
        synonyms=synonyms,
    )


def load_nlu_file(path: str | Path = DEFAULT_NLU_PATH) -> NLUTrainingData:
    """Read and parse a Rasa NLU file, or every ``nlu*.yml`` of a data folder (merged)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("nlu*.yml"))
        if not files:
            raise TrainingDataError(f"{path}: no nlu*.yml files")
        return merge_training_data([parse_nlu_yaml(f.read_text(encoding="utf-8")) for f in files])
    return parse_nlu_yaml(path.read_text(encoding="utf-8"))


def merge_training_data(parts: Sequence[NLUTrainingData]) -> NLUTrainingData:
    """One data set from several files, as Rasa merges a data folder. A surface form mapped
    to two different canonical values is an error (Rasa would silently keep one)."""
    examples: list[TrainingExample] = []
    lookups: dict[str, list[str]] = {}
    regexes: dict[str, list[str]] = {}
    synonyms: dict[str, str] = {}
    for part in parts:
        examples.extend(part.examples)
        for name, values in part.lookups.items():
            merged = lookups.setdefault(name, [])
            merged.extend(value for value in values if value not in merged)
        for name, patterns in part.regexes.items():
            merged = regexes.setdefault(name, [])
            merged.extend(pattern for pattern in patterns if pattern not in merged)
        for variant, canonical in part.synonyms.items():
            known = synonyms.get(variant)
            if known is not None and known != canonical:
                raise TrainingDataError(
                    f"synonym {variant!r} maps to both {known!r} and {canonical!r}"
                )
            synonyms[variant] = canonical
    return NLUTrainingData(
        examples=tuple(examples),
        lookups={name: tuple(values) for name, values in lookups.items()},
        regexes={name: tuple(values) for name, values in regexes.items()},
        synonyms=synonyms,
    )


_LANG_MARK = re.compile(r"^#\s*lang:\s*([a-z]{2})\s*$", re.MULTILINE)


def load_heldout(path: str | Path = DEFAULT_HELDOUT_PATH) -> NLUTrainingData:
    """The held-out set: Rasa NLU YAML whose intent blocks each follow a ``# lang: xx``
    comment; every example gets that language."""
    text = Path(path).read_text(encoding="utf-8")
    marks = list(_LANG_MARK.finditer(text))
    if not marks:
        raise TrainingDataError(f"{path}: no '# lang: xx' markers")
    examples: list[TrainingExample] = []
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        chunk = parse_nlu_yaml("nlu:\n" + text[mark.end() : end])
        examples.extend(
            TrainingExample(
                text=example.text,
                intent=example.intent,
                entities=example.entities,
                annotated_text=example.annotated_text,
                language=mark.group(1),
            )
            for example in chunk.examples
        )
    return NLUTrainingData(examples=tuple(examples))


def _block(lines: Sequence[str]) -> str:
    return "".join(f"    - {line}\n" for line in lines)


def to_rasa_yaml(data: NLUTrainingData) -> str:
    """Serialise training data back to Rasa 3.1-format YAML.

    Examples keep their original annotations; synonyms are written grouped by
    canonical value. Used to write a train-only split for a Rasa server.
    """
    out = ['version: "3.1"\n', "nlu:\n"]
    by_intent: dict[str, list[str]] = {}
    for example in data.examples:
        by_intent.setdefault(example.intent, []).append(example.annotated_text or example.text)
    for intent, lines in by_intent.items():
        out.append(f"- intent: {intent}\n  examples: |\n{_block(lines)}")
    for name, patterns in data.regexes.items():
        out.append(f"- regex: {name}\n  examples: |\n{_block(patterns)}")
    for name, values in data.lookups.items():
        out.append(f"- lookup: {name}\n  examples: |\n{_block(values)}")
    by_canonical: dict[str, list[str]] = {}
    for variant, canonical in data.synonyms.items():
        if variant != canonical.lower():
            by_canonical.setdefault(canonical, []).append(variant)
    for canonical, variants in by_canonical.items():
        out.append(
            f"- synonym: {json.dumps(canonical, ensure_ascii=False)}\n  examples: |\n{_block(variants)}"
        )
    return "".join(out)
