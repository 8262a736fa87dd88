"""Client for a Rasa 3.6 server (the only module that talks HTTP to Rasa).

Uses two endpoints of Rasa's HTTP API, started with ``rasa run --enable-api``:

* ``POST /model/parse`` — NLU only: intent, entities, ranking;
* ``POST /webhooks/rest/webhook`` — the full assistant (dialogue policies and
  custom actions) through the REST channel declared in ``credentials.yml``.

Every failure to get a usable answer (refused connection, timeout, HTTP error,
malformed JSON) raises :class:`nlu.interface.NLUUnavailable`, so callers can
fall back to the embedded engine or tell the user the assistant is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from nlu.interface import (
    FALLBACK_INTENT,
    BotReply,
    Button,
    Entity,
    IntentScore,
    NLUUnavailable,
    ParseResult,
)

# Rasa's FallbackClassifier names low-confidence messages like this.
RASA_FALLBACK_INTENT = "nlu_fallback"
DEFAULT_TIMEOUT_SECONDS = 5.0


class RasaHTTPNLU:
    """NLU engine backed by a Rasa server; implements :class:`nlu.interface.NLUEngine`."""

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # -- NLU ------------------------------------------------------------------

    def parse(self, text: str, lang: str | None = None) -> ParseResult:
        """Intent and entities from ``POST /model/parse``; ``lang`` is not sent
        (the Rasa model is multilingual)."""
        payload = self._post_json("/model/parse", {"text": text})
        return parse_result_from_rasa(text, payload)

    async def aparse(self, text: str, lang: str | None = None) -> ParseResult:
        payload = await self._apost_json("/model/parse", {"text": text})
        return parse_result_from_rasa(text, payload)

    # -- dialogue ---------------------------------------------------------------

    def rasa_rest_webhook(
        self, sender: str, message: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]:
        """Send one user message through the REST channel; returns the bot's replies."""
        payload = self._post_json(
            "/webhooks/rest/webhook", _webhook_body(sender, message, metadata)
        )
        return replies_from_rasa(payload)

    async def arasa_rest_webhook(
        self, sender: str, message: str, metadata: Mapping[str, Any] | None = None
    ) -> list[BotReply]:
        payload = await self._apost_json(
            "/webhooks/rest/webhook", _webhook_body(sender, message, metadata)
        )
        return replies_from_rasa(payload)

    # -- transport ---------------------------------------------------------------

    def _post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        url = self.base_url + path
        try:
            with httpx.Client(timeout=self.timeout) as client:
                response = client.post(url, json=body)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise _unavailable(url, error) from error

    async def _apost_json(self, path: str, body: Mapping[str, Any]) -> Any:
        url = self.base_url + path
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, json=body)
                response.raise_for_status()
                return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise _unavailable(url, error) from error


def _unavailable(url: str, error: Exception) -> NLUUnavailable:
    if isinstance(error, httpx.ConnectError):
        reason = "connection failed"
    elif isinstance(error, httpx.TimeoutException):
        reason = "timed out"
    elif isinstance(error, httpx.HTTPStatusError):
        reason = f"HTTP {error.response.status_code}"
    elif isinstance(error, ValueError):
        reason = "invalid JSON in response"
    else:
        reason = type(error).__name__
    return NLUUnavailable(f"Rasa server at {url} unavailable: {reason} ({error})")


def _webhook_body(sender: str, message: str, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {"sender": sender, "message": message}
    if metadata:
        body["metadata"] = dict(metadata)
    return body


def parse_result_from_rasa(text: str, payload: Any) -> ParseResult:
    """Map Rasa's /model/parse JSON onto our :class:`ParseResult`."""
    if not isinstance(payload, dict):
        raise NLUUnavailable(f"Rasa /model/parse returned {type(payload).__name__}, not an object")
    intent = payload.get("intent") or {}
    name = intent.get("name") or RASA_FALLBACK_INTENT
    confidence = float(intent.get("confidence") or 0.0)
    is_fallback = name == RASA_FALLBACK_INTENT
    seen: set[tuple[str, int, int]] = set()
    entities: list[Entity] = []
    # DIET and RegexEntityExtractor can both report the same span (order_ref).
    for raw in payload.get("entities") or []:
        key = (str(raw.get("entity")), int(raw.get("start", 0)), int(raw.get("end", 0)))
        if key in seen:
            continue
        seen.add(key)
        entities.append(
            Entity(entity=key[0], value=str(raw.get("value")), start=key[1], end=key[2])
        )
    ranking = tuple(
        IntentScore(str(item.get("name")), float(item.get("confidence") or 0.0))
        for item in payload.get("intent_ranking") or []
    )
    return ParseResult(
        text=str(payload.get("text", text)),
        intent=FALLBACK_INTENT if is_fallback else name,
        confidence=confidence,
        entities=tuple(sorted(entities, key=lambda e: e.start)),
        ranking=ranking,
        is_fallback=is_fallback,
    )


def replies_from_rasa(payload: Any) -> list[BotReply]:
    """Map the REST channel's JSON list onto :class:`BotReply` objects."""
    if not isinstance(payload, list):
        raise NLUUnavailable(f"Rasa REST webhook returned {type(payload).__name__}, not a list")
    replies = []
    for item in payload:
        if not isinstance(item, dict):
            continue
        buttons = tuple(
            Button(title=str(button.get("title", "")), payload=str(button.get("payload", "")))
            for button in item.get("buttons") or []
        )
        custom = item.get("custom")
        replies.append(
            BotReply(
                text=item.get("text"),
                buttons=buttons,
                image=item.get("image"),
                custom=custom if isinstance(custom, dict) else None,
            )
        )
    return replies
