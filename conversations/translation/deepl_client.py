"""DeepL behind our ``Translator`` interface. The only module that imports ``deepl``.

Timeouts and retries: ``deepl.http_client`` keeps them in process-wide module
globals (``max_network_retries = 5``, ``min_connection_timeout = 10.0``) and
its backoff starts at 1 s, grows x1.6 with random jitter up to 120 s, and uses
``max(time left before the next backoff deadline, min_connection_timeout)`` as
the per-attempt timeout, so neither a timeout below ~1 s nor a bounded total
time can be set through them. We therefore give each ``DeepLTranslator`` its
own ``HttpClient`` subclass with a per-instance timeout, a small retry budget
and short waits (long waits belong to the Celery task, see ``backoff.py``).
That subclass relies on two private helpers of deepl 1.32
(``_prepare_request``, ``_internal_request``) and on ``Translator._client``;
the stand-in tests exercise all three, so an upgrade that moves them fails
loudly in CI rather than silently in production.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import deepl
import requests

from .backoff import retry_delay
from .provider import ENGLISH_VARIANTS, FORMALITY_CHOICES, PORTUGUESE_VARIANTS
from .types import (
    GlossaryNotFound,
    TranslationAuthFailed,
    TranslationError,
    TranslationQuotaExceeded,
    TranslationRateLimited,
    TranslationResult,
    TranslationUnavailable,
    UnsupportedLanguagePair,
    Usage,
)

# DeepL accepts at most 50 texts per /v2/translate request.
MAX_TEXTS_PER_REQUEST = 50

# Target languages with a formal/informal distinction (DeepL /v2/languages
# "supports_formality"). Kept static so translating never costs an extra call;
# for other targets our formality wish is dropped instead of earning a 400.
FORMALITY_TARGETS = frozenset(
    {"DE", "FR", "IT", "ES", "ES-419", "NL", "PL", "PT-PT", "PT-BR", "JA", "RU"}
)

_LANGUAGE_CODE = re.compile(r"^[A-Z]{2,3}(-[A-Z0-9]{2,4})?$")
_LANGUAGE_CACHE_SECONDS = 24 * 3600


def _clean_code(code: str) -> str:
    cleaned = code.strip().replace("_", "-").upper()
    if not _LANGUAGE_CODE.match(cleaned):
        raise UnsupportedLanguagePair(f"Not a language code: {code!r}")
    return cleaned


def deepl_source_code(code: str) -> str:
    """DeepL source codes have no regional variant: "en-GB" -> "EN", "pt" -> "PT"."""
    return _clean_code(code).split("-", 1)[0]


def deepl_target_code(
    code: str, *, english_variant: str = "EN-GB", portuguese_variant: str = "PT-PT"
) -> str:
    """Our code -> DeepL target: "en" -> "EN-GB", "pt-br" -> "PT-BR", "fr" -> "FR".

    DeepL refuses bare "EN"/"PT" as targets, so the configured variant fills in
    when the caller gives none; regions DeepL has no variant for are dropped.
    """
    base, _, region = _clean_code(code).partition("-")
    if base == "EN":
        return f"EN-{region}" if region in ("GB", "US") else english_variant
    if base == "PT":
        return f"PT-{region}" if region in ("PT", "BR") else portuguese_variant
    if base == "ZH":
        return "ZH-HANT" if region in ("HANT", "TW", "HK", "MO") else "ZH-HANS"
    if base == "ES" and region == "419":
        return "ES-419"
    return base


def _our_code(deepl_code: str) -> str:
    return deepl_code.split("-", 1)[0].lower()


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _may_have_been_billed(method: str, failure: deepl.ConnectionException) -> bool:
    """A POST that timed out while waiting for the answer reached DeepL, which may be
    translating (and billing) it still: sending it again would bill the text twice. Only
    the outbox's later retry, which reads the translation cache first, tries again."""
    return method.upper() == "POST" and isinstance(
        failure.__cause__, requests.exceptions.ReadTimeout
    )


class _BoundedHttpClient(deepl.http_client.HttpClient):
    """deepl's HttpClient with a per-instance timeout and a small, bounded retry budget.

    Retries 429, 5xx and retryable connection errors up to ``max_retries``
    times, waiting ``retry_delay(attempt, Retry-After)``; gives up at once when
    the server asks for a longer wait than ``max_in_process_wait`` so a worker
    is not held asleep (the caller then reschedules).
    """

    def __init__(
        self,
        *,
        timeout: float,
        max_retries: int,
        retry_base_delay: float,
        max_in_process_wait: float,
        sleep: Callable[[float], None],
    ) -> None:
        super().__init__(proxy=None, send_platform_info=False, verify_ssl=None)
        self._timeout = timeout
        self._max_retries = max_retries
        self._retry_base_delay = retry_base_delay
        self._max_in_process_wait = max_in_process_wait
        self._sleep = sleep
        # Per thread: one translator is shared by the threads of a worker.
        self._local = threading.local()

    @property
    def last_retry_after(self) -> float | None:
        """Retry-After of the last response seen by this thread, if it had one."""
        return getattr(self._local, "retry_after", None)

    def _remember_retry_after(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._local.retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        return response

    def request_with_backoff(
        self,
        method: str,
        url: str,
        data: dict | None,
        json: dict | None,
        headers: dict,
        stream: bool = False,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        self._local.retry_after = None
        request = self._prepare_request(
            method,
            url,
            data,
            json,
            headers,
            hooks={"response": [self._remember_retry_after]},
            **kwargs,
        )
        attempt = 0
        while True:
            response: tuple[int, Any] | None = None
            failure: deepl.ConnectionException | None = None
            try:
                response = self._internal_request(request, stream=stream, timeout=self._timeout)
            except deepl.ConnectionException as exc:
                self._local.retry_after = None
                failure = exc
            retryable = (
                failure.should_retry and not _may_have_been_billed(method, failure)
                if failure is not None
                else response is not None and (response[0] == 429 or response[0] >= 500)
            )
            retry_after = self.last_retry_after
            asked_to_wait_too_long = (
                retry_after is not None and retry_after > self._max_in_process_wait
            )
            if not retryable or attempt >= self._max_retries or asked_to_wait_too_long:
                if failure is not None:
                    raise failure
                return response  # type: ignore[return-value]  # set when no failure
            self._sleep(
                retry_delay(
                    attempt,
                    retry_after,
                    base=self._retry_base_delay,
                    cap=self._max_in_process_wait,
                )
            )
            attempt += 1


class _AtelierDeepL(deepl.Translator):
    def __init__(
        self, auth_key: str, *, server_url: str | None, http_client: _BoundedHttpClient
    ) -> None:
        super().__init__(auth_key, server_url=server_url, send_platform_info=False)
        # Swap out the client built on process-wide settings (see module docstring).
        self._client.close()
        self._client = http_client


class DeepLTranslator:
    """``Translator`` backed by DeepL API v2 through the official ``deepl`` library."""

    def __init__(
        self,
        *,
        auth_key: str,
        server_url: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        english_variant: str = "EN-GB",
        portuguese_variant: str = "PT-PT",
        retry_base_delay: float = 0.5,
        max_in_process_wait: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not auth_key:
            raise ValueError("auth_key must not be empty; use NullTranslator instead")
        if timeout <= 0:
            raise ValueError("timeout must be > 0")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if english_variant not in ENGLISH_VARIANTS:
            raise ValueError(f"english_variant must be one of {ENGLISH_VARIANTS}")
        if portuguese_variant not in PORTUGUESE_VARIANTS:
            raise ValueError(f"portuguese_variant must be one of {PORTUGUESE_VARIANTS}")
        self._english_variant = english_variant
        self._portuguese_variant = portuguese_variant
        self._http = _BoundedHttpClient(
            timeout=timeout,
            max_retries=max_retries,
            retry_base_delay=retry_base_delay,
            max_in_process_wait=max_in_process_wait,
            sleep=sleep,
        )
        self._deepl = _AtelierDeepL(auth_key, server_url=server_url, http_client=self._http)
        self._languages_lock = threading.Lock()
        self._languages: tuple[float, list[str]] | None = None

    @property
    def is_configured(self) -> bool:
        return True

    def target_code(self, code: str) -> str:
        """The DeepL target code this translator sends for our ``code``."""
        return deepl_target_code(
            code,
            english_variant=self._english_variant,
            portuguese_variant=self._portuguese_variant,
        )

    @contextmanager
    def _deepl_errors(self, *, glossary_id: str | None = None) -> Iterator[None]:
        try:
            yield
        except deepl.AuthorizationException as exc:
            raise TranslationAuthFailed(f"DeepL rejected the auth key: {exc}") from exc
        except deepl.QuotaExceededException as exc:
            raise TranslationQuotaExceeded(f"DeepL character quota exceeded: {exc}") from exc
        except deepl.TooManyRequestsException as exc:
            raise TranslationRateLimited(
                f"DeepL rate limit: {exc}", retry_after=self._http.last_retry_after
            ) from exc
        except deepl.GlossaryNotFoundException as exc:
            raise GlossaryNotFound(f"DeepL glossary not found: {exc}") from exc
        except deepl.ConnectionException as exc:
            raise TranslationUnavailable(f"DeepL unreachable: {exc}") from exc
        except deepl.DeepLException as exc:
            status = exc.http_status_code
            if status is not None and status >= 500:
                raise TranslationUnavailable(f"DeepL server error: {exc}") from exc
            if status == 404 and glossary_id is not None:
                raise GlossaryNotFound(f"DeepL glossary {glossary_id} not found: {exc}") from exc
            if status == 400 and "lang" in str(exc).lower():
                raise UnsupportedLanguagePair(f"DeepL refused the languages: {exc}") from exc
            raise TranslationError(f"DeepL request failed: {exc}") from exc

    def translate(
        self,
        *,
        texts: list[str],
        target_lang: str,
        source_lang: str | None = None,
        formality: str | None = None,
        glossary_id: str | None = None,
    ) -> list[TranslationResult]:
        """Translate ``texts`` in order; batches of 50 per DeepL request."""
        if not texts:
            return []
        if any(not text.strip() for text in texts):
            raise ValueError("texts must not contain empty strings")
        if formality is not None and formality not in FORMALITY_CHOICES:
            raise ValueError(f"formality must be one of {FORMALITY_CHOICES} or None")
        target = self.target_code(target_lang)
        source = deepl_source_code(source_lang) if source_lang else None
        if glossary_id is not None and source is None:
            raise ValueError("source_lang is required when a glossary is used")
        deepl_formality = (
            formality if formality in ("more", "less") and target in FORMALITY_TARGETS else None
        )
        results: list[TranslationResult] = []
        for start in range(0, len(texts), MAX_TEXTS_PER_REQUEST):
            batch = texts[start : start + MAX_TEXTS_PER_REQUEST]
            with self._deepl_errors(glossary_id=glossary_id):
                translated = self._deepl.translate_text(
                    batch,
                    target_lang=target,
                    source_lang=source,
                    formality=deepl_formality,
                    glossary=glossary_id,
                )
            # A list in gives a list out (deepl returns a bare TextResult for a str).
            results.extend(
                TranslationResult(
                    text=item.text,
                    detected_source_lang=_our_code(item.detected_source_lang),
                    billed_characters=item.billed_characters,
                )
                for item in translated  # type: ignore[union-attr]
            )
        return results

    def usage(self) -> Usage:
        with self._deepl_errors():
            usage = self._deepl.get_usage()
        return Usage(
            character_count=usage.character.count or 0,
            character_limit=usage.character.limit,
        )

    def supported_target_languages(self) -> list[str]:
        """Our base codes DeepL translates into; cached for a day per translator."""
        with self._languages_lock:
            cached = self._languages
            if cached is not None and time.monotonic() - cached[0] < _LANGUAGE_CACHE_SECONDS:
                return list(cached[1])
        with self._deepl_errors():
            languages = self._deepl.get_target_languages()
        codes = list(dict.fromkeys(_our_code(language.code) for language in languages))
        with self._languages_lock:
            self._languages = (time.monotonic(), codes)
        return list(codes)

    def sync_glossary(
        self, *, name: str, source_lang: str, target_lang: str, entries: dict[str, str]
    ) -> str:
        """Make DeepL hold exactly ``entries`` as glossary ``name``; return its id.

        DeepL v2 glossaries are immutable: an unchanged glossary is reused (no
        write), a changed one is created anew and the older ones with the same
        name and pair are deleted. Translations still in flight with an old id
        get ``GlossaryNotFound`` and should re-read the id.
        """
        if not name.strip():
            raise ValueError("glossary name must not be empty")
        wanted = {source.strip(): target.strip() for source, target in entries.items()}
        if not wanted:
            raise ValueError("glossary entries must not be empty")
        # Glossaries are per base language: one EN glossary serves EN-GB and EN-US.
        source = deepl_source_code(source_lang)
        target = deepl_source_code(target_lang)
        with self._deepl_errors():
            same_name = [
                glossary
                for glossary in self._deepl.list_glossaries()
                if glossary.name == name
                and glossary.source_lang == source
                and glossary.target_lang == target
            ]
            current = next(
                (
                    glossary
                    for glossary in same_name
                    if glossary.ready and self._deepl.get_glossary_entries(glossary) == wanted
                ),
                None,
            )
            if current is None:
                current = self._deepl.create_glossary(name, source, target, wanted)
            for stale in same_name:
                if stale.glossary_id != current.glossary_id:
                    self._deepl.delete_glossary(stale)
        return current.glossary_id

    def close(self) -> None:
        self._deepl.close()
