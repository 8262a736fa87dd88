"""The one NLU interface the rest of Atelier uses.

Callers depend on :class:`NLUEngine` and the dataclasses below, never on an
engine's internals::

    from nlu.interface import get_nlu_engine

    result = get_nlu_engine().parse("sac en cuir rouge à moins de 50 €", lang="fr")
    result.intent            # "search_products"
    result.entity_values()   # {"product_type": ["bag"], "material": ["leather"], ...}

Two implementations: ``EmbeddedNLU`` (scikit-learn, trained in-process from
``nlu/rasa/data/nlu.yml``; the default) and ``RasaHTTPNLU`` (a Rasa 3.6 server
over HTTP). The Django setting ``NLU_ENGINE`` ("embedded" | "rasa") chooses.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from nlu.engine.embedded import EmbeddedNLU

# Returned when no intent is confident enough (Rasa's own name for this is
# "nlu_fallback"; both engines report it as out_of_scope with is_fallback=True).
FALLBACK_INTENT = "out_of_scope"

ENGINE_EMBEDDED = "embedded"
ENGINE_RASA = "rasa"
DEFAULT_RASA_URL = "http://localhost:5005"
DEFAULT_RASA_TIMEOUT_SECONDS = 5.0


class NLUUnavailable(RuntimeError):
    """The NLU backend cannot be reached or answered with something unusable."""


@dataclass(frozen=True)
class Entity:
    """An entity found in a message; ``value`` is canonical (synonyms applied)."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True)
class ParseResult:
    """What a message means: its intent, how sure we are, and its entities."""

    text: str
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[IntentScore, ...] = ()
    # True when the intent is FALLBACK_INTENT because nothing was confident enough.
    is_fallback: bool = False

    def entity_values(self) -> dict[str, list[str]]:
        """Entity name -> values in message order (a name can occur twice)."""
        values: dict[str, list[str]] = {}
        for entity in self.entities:
            values.setdefault(entity.entity, []).append(entity.value)
        return values

    def first_value(self, entity: str) -> str | None:
        for found in self.entities:
            if found.entity == entity:
                return found.value
        return None


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    """One message the dialogue engine wants sent back to the user."""

    text: str | None = None
    buttons: tuple[Button, ...] = ()
    image: str | None = None
    custom: dict[str, Any] | None = field(default=None)


@runtime_checkable
class NLUEngine(Protocol):
    """Turns a user's message into an intent and entities.

    ``lang`` is the message's detected language (ISO 639-1) when known. Both
    engines are multilingual and treat it as a hint only.
    """

    def parse(self, text: str, lang: str | None = None) -> ParseResult: ...

    async def aparse(self, text: str, lang: str | None = None) -> ParseResult: ...


def _setting(name: str, default: Any) -> Any:
    """Read a Django setting lazily, falling back when absent or unconfigured."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        # Outside Django (bench scripts, plain unit tests): use the defaults.
        return default


_shared_embedded_lock = threading.Lock()
_shared_embedded: EmbeddedNLU | None = None


def get_shared_embedded_nlu() -> EmbeddedNLU:
    """The process-wide embedded engine (trained once, on first parse)."""
    global _shared_embedded
    with _shared_embedded_lock:
        if _shared_embedded is None:
            from nlu.engine.embedded import EmbeddedNLU

            _shared_embedded = EmbeddedNLU()
        return _shared_embedded


def get_nlu_engine() -> NLUEngine:
    """The engine chosen by settings ``NLU_ENGINE``, ``RASA_URL``, ``RASA_TIMEOUT``.

    Raises ``ImproperlyConfigured`` for an unknown engine name, or when the
    Rasa engine is selected with an empty ``RASA_URL``.
    """
    from django.core.exceptions import ImproperlyConfigured

    engine_name = str(_setting("NLU_ENGINE", ENGINE_EMBEDDED) or ENGINE_EMBEDDED).lower()
    if engine_name == ENGINE_EMBEDDED:
        return get_shared_embedded_nlu()
    if engine_name == ENGINE_RASA:
        base_url = _setting("RASA_URL", DEFAULT_RASA_URL)
        if not base_url:
            raise ImproperlyConfigured("NLU_ENGINE is 'rasa' but RASA_URL is empty")
        timeout = float(_setting("RASA_TIMEOUT", DEFAULT_RASA_TIMEOUT_SECONDS))
        from nlu.rasa_http import RasaHTTPNLU

        return RasaHTTPNLU(base_url, timeout=timeout)
    raise ImproperlyConfigured(
        f"NLU_ENGINE must be {ENGINE_EMBEDDED!r} or {ENGINE_RASA!r}, not {engine_name!r}"
    )


def __getattr__(name: str) -> Any:
    # Lazy re-exports: importing the interface must not pull in scikit-learn or httpx.
    if name == "EmbeddedNLU":
        from nlu.engine.embedded import EmbeddedNLU

        return EmbeddedNLU
    if name == "RasaHTTPNLU":
        from nlu.rasa_http import RasaHTTPNLU

        return RasaHTTPNLU
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
