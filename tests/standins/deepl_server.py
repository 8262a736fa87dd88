"""Loopback stand-in for the DeepL API v2, spoken to by the real ``deepl`` library.

The real client (``deepl.Translator(auth_key, server_url=standin.url)``) sends:

- ``POST /v2/translate`` with a JSON body (``text`` list, ``target_lang``,
  optional ``source_lang``, ``formality``, ``glossary_id``,
  ``show_billed_characters``); each translation must carry ``billed_characters``
  or the library fails to parse it.
- ``GET /v2/usage`` (no body), ``GET /v2/languages`` (``type=target`` sent as a
  form body on a GET; the documented query string ``?type=target`` works too).
- ``POST /v2/glossaries`` (JSON: ``name``, ``source_lang``, ``target_lang``,
  ``entries_format=tsv``, ``entries``), ``GET /v2/glossaries``,
  ``GET /v2/glossaries/{id}``, ``GET /v2/glossaries/{id}/entries`` (TSV),
  ``DELETE /v2/glossaries/{id}``, ``GET /v2/glossary-language-pairs``.
  ``deepl.Translator`` 1.32 uses the v2 glossary endpoints; the v3 multilingual
  ones belong to ``deepl.DeepLClient`` and are not served here.

Every request needs ``Authorization: DeepL-Auth-Key <key>``. Translations are
deterministic: a small phrase book (with formal/informal German and French),
otherwise ``[<TARGET>] original``; glossary entries replace whole words first.

Failure modes are switched per test with :meth:`DeepLStandIn.set_mode`.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# DeepL's own non-standard status for "character quota exceeded".
HTTP_QUOTA_EXCEEDED = 456

MODES = (
    "normal",
    "auth_failure",
    "quota_exceeded",
    "rate_limited",
    "server_error",
    "slow",
)

# Target languages with a formality option, as DeepL's /v2/languages reports.
_TARGET_LANGUAGES: list[tuple[str, str, bool]] = [
    ("DE", "German", True),
    ("EN-GB", "English (British)", False),
    ("EN-US", "English (American)", False),
    ("ES", "Spanish", True),
    ("FR", "French", True),
    ("IT", "Italian", True),
    ("JA", "Japanese", True),
    ("KO", "Korean", False),
    ("NL", "Dutch", True),
    ("PL", "Polish", True),
    ("PT-BR", "Portuguese (Brazilian)", True),
    ("PT-PT", "Portuguese (European)", True),
    ("ZH-HANS", "Chinese (simplified)", False),
    ("ZH-HANT", "Chinese (traditional)", False),
]
_SOURCE_LANGUAGES: list[tuple[str, str]] = [
    ("DE", "German"),
    ("EN", "English"),
    ("ES", "Spanish"),
    ("FR", "French"),
    ("IT", "Italian"),
    ("JA", "Japanese"),
    ("KO", "Korean"),
    ("NL", "Dutch"),
    ("PL", "Polish"),
    ("PT", "Portuguese"),
    ("ZH", "Chinese"),
]
_TARGET_CODES = {code for code, _, _ in _TARGET_LANGUAGES}
_FORMALITY_TARGETS = {code for code, _, formal in _TARGET_LANGUAGES if formal}
_SOURCE_CODES = {code for code, _ in _SOURCE_LANGUAGES}

# (source text, target) -> {formality or "default": translation}
PHRASE_BOOK: dict[tuple[str, str], dict[str, str]] = {
    ("Hello", "DE"): {"default": "Hallo"},
    ("Hello", "FR"): {"default": "Bonjour"},
    ("Thank you!", "DE"): {"default": "Danke!"},
    ("Thank you!", "FR"): {"default": "Merci !"},
    ("How are you?", "DE"): {
        "default": "Wie geht es Ihnen?",
        "more": "Wie geht es Ihnen?",
        "less": "Wie geht es dir?",
    },
    ("How are you?", "FR"): {
        "default": "Comment allez-vous ?",
        "more": "Comment allez-vous ?",
        "less": "Comment vas-tu ?",
    },
    ("Bonjour", "EN-GB"): {"default": "Hello"},
    ("Bonjour", "EN-US"): {"default": "Hello"},
    ("Merci beaucoup", "EN-GB"): {"default": "Thank you very much"},
    ("Merci beaucoup", "EN-US"): {"default": "Thank you very much"},
}

# Tiny stop-word lists so auto-detection is deterministic without a model.
_DETECTION_HINTS: dict[str, set[str]] = {
    "FR": {
        "bonjour",
        "merci",
        "je",
        "vous",
        "est",
        "le",
        "la",
        "les",
        "beaucoup",
        "une",
    },
    "DE": {"hallo", "danke", "ich", "sie", "ist", "der", "die", "das", "und", "noch"},
    "ES": {"hola", "gracias", "el", "los", "está", "qué", "por", "envío", "cuánto"},
    "IT": {"ciao", "grazie", "il", "della", "sono", "è", "molto", "questo"},
    "PT": {"olá", "obrigado", "obrigada", "você", "não", "muito", "está"},
    "NL": {"hallo", "dank", "het", "een", "niet", "ik", "je", "wel"},
}
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")


def detect_source_language(text: str) -> str:
    """Deterministic stand-in for DeepL's source detection (defaults to EN)."""
    if _KANA.search(text):
        return "JA"
    if _HANGUL.search(text):
        return "KO"
    if _HAN.search(text):
        return "ZH"
    words = set(re.findall(r"\w+", text.lower()))
    best, best_hits = "EN", 0
    for code, hints in _DETECTION_HINTS.items():
        hits = len(words & hints)
        if hits > best_hits:
            best, best_hits = code, hits
    return best


@dataclass
class RecordedCall:
    """One request as the stand-in saw it (recorded on arrival, so slow calls count)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    # None while the stand-in is still answering (slow mode).
    status: int | None = None


@dataclass
class StoredGlossary:
    glossary_id: str
    name: str
    source_lang: str
    target_lang: str
    entries: dict[str, str]
    creation_time: str

    def as_json(self) -> dict[str, Any]:
        return {
            "glossary_id": self.glossary_id,
            "name": self.name,
            "ready": True,
            # The real API answers with lower-case codes; the library upper-cases them.
            "source_lang": self.source_lang.lower(),
            "target_lang": self.target_lang.lower(),
            "creation_time": self.creation_time,
            "entry_count": len(self.entries),
        }


@dataclass
class _ModeState:
    mode: str = "normal"
    remaining_failures: int | None = None  # None = fail forever
    delay: float = 0.0
    retry_after: int | None = None


@dataclass
class _State:
    auth_key: str
    character_limit: int
    character_count: int = 0
    mode: _ModeState = field(default_factory=_ModeState)
    calls: list[RecordedCall] = field(default_factory=list)
    glossaries: dict[str, StoredGlossary] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


def _parse_tsv(entries: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for line in entries.splitlines():
        if not line.strip():
            continue
        source, _, target = line.partition("\t")
        parsed[source.strip()] = target.strip()
    return parsed


def _apply_glossary(text: str, entries: dict[str, str]) -> tuple[str, bool]:
    applied = False
    for source, target in entries.items():
        pattern = re.compile(rf"\b{re.escape(source)}\b")
        text, count = pattern.subn(target, text)
        applied = applied or count > 0
    return text, applied


def render_translation(text: str, *, target_lang: str, formality: str | None) -> str:
    """The stand-in's deterministic "translation" of one text."""
    variants = PHRASE_BOOK.get((text, target_lang))
    if variants is not None:
        key = (formality or "default").removeprefix("prefer_")
        return variants.get(key, variants["default"])
    return f"[{target_lang}] {text}"


class _Handler(BaseHTTPRequestHandler):
    server: _StandInHTTPServer
    protocol_version = "HTTP/1.0"

    # Keep pytest output clean.
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    # --- plumbing -----------------------------------------------------

    def _read_body(self) -> tuple[Any, dict[str, str]]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        form: dict[str, str] = {}
        if not raw:
            return None, form
        if content_type == "application/json":
            return json.loads(raw.decode("utf-8")), form
        if content_type == "application/x-www-form-urlencoded":
            form = dict(urllib.parse.parse_qsl(raw.decode("utf-8")))
            return form, form
        return raw.decode("utf-8", errors="replace"), form

    def _dispatch(self) -> None:
        state = self.server.state
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        body, form = self._read_body()
        call = RecordedCall(
            method=self.command,
            path=parsed.path,
            query=query,
            headers=dict(self.headers.items()),
            body=body,
        )
        with state.lock:
            state.calls.append(call)
        status, payload, content_type, headers = self._respond_to(parsed.path, query, body, form)
        with state.lock:
            call.status = int(status)
        self._send(status, payload, content_type, headers)

    def _send(self, status: int, payload: Any, content_type: str, headers: dict[str, str]) -> None:
        if payload is None:
            data = b""
        elif isinstance(payload, str):
            data = payload.encode("utf-8")
        else:
            data = json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (slow mode + client timeout): nothing to tell it.
            pass

    def _error(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, str, dict[str, str]]:
        return status, {"message": message}, "application/json", headers or {}

    # --- behaviour ----------------------------------------------------

    def _injected_failure(self) -> tuple[int, Any, str, dict[str, str]] | None:
        state = self.server.state
        with state.lock:
            mode = state.mode
            if mode.mode == "normal":
                return None
            if mode.mode == "slow":
                delay = mode.delay
            else:
                if mode.remaining_failures is not None:
                    if mode.remaining_failures <= 0:
                        return None
                    mode.remaining_failures -= 1
                delay = 0.0
        if delay:
            # Interruptible so stopping the stand-in never waits for a slow reply.
            state.stopping.wait(delay)
            return None
        if mode.mode == "auth_failure":
            return self._error(HTTPStatus.FORBIDDEN, "Wrong auth key")
        if mode.mode == "quota_exceeded":
            return self._error(HTTP_QUOTA_EXCEEDED, "Quota Exceeded")
        if mode.mode == "rate_limited":
            headers = {}
            if mode.retry_after is not None:
                headers["Retry-After"] = str(mode.retry_after)
            return self._error(HTTPStatus.TOO_MANY_REQUESTS, "Too many requests", headers)
        return self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal server error")

    def _respond_to(
        self, path: str, query: dict[str, str], body: Any, form: dict[str, str]
    ) -> tuple[int, Any, str, dict[str, str]]:
        state = self.server.state
        if self.headers.get("Authorization") != f"DeepL-Auth-Key {state.auth_key}":
            return self._error(HTTPStatus.FORBIDDEN, "Wrong auth key")
        failure = self._injected_failure()
        if failure is not None:
            return failure

        if path == "/v2/translate" and self.command == "POST":
            return self._translate(body if isinstance(body, dict) else {})
        if path == "/v2/usage" and self.command in ("GET", "POST"):
            with state.lock:
                usage = {
                    "character_count": state.character_count,
                    "character_limit": state.character_limit,
                }
            return HTTPStatus.OK, usage, "application/json", {}
        if path == "/v2/languages" and self.command in ("GET", "POST"):
            language_type = query.get("type") or form.get("type") or "source"
            return HTTPStatus.OK, self._languages(language_type), "application/json", {}
        if path == "/v2/glossary-language-pairs" and self.command == "GET":
            pairs = [
                {"source_lang": s.lower(), "target_lang": t.lower()}
                for s in sorted(_SOURCE_CODES)
                for t in sorted(_SOURCE_CODES)
                if s != t
            ]
            return HTTPStatus.OK, {"supported_languages": pairs}, "application/json", {}
        if path == "/v2/glossaries":
            if self.command == "POST":
                return self._create_glossary(body if isinstance(body, dict) else {})
            if self.command == "GET":
                with state.lock:
                    listed = [g.as_json() for g in state.glossaries.values()]
                return HTTPStatus.OK, {"glossaries": listed}, "application/json", {}
        match = re.fullmatch(r"/v2/glossaries/([^/]+)(/entries)?", path)
        if match:
            return self._glossary_detail(match.group(1), entries=bool(match.group(2)))
        return self._error(HTTPStatus.NOT_FOUND, f"No route for {self.command} {path}")

    def _languages(self, language_type: str) -> list[dict[str, Any]]:
        if language_type == "target":
            return [
                {"language": code, "name": name, "supports_formality": formal}
                for code, name, formal in _TARGET_LANGUAGES
            ]
        return [{"language": code, "name": name} for code, name in _SOURCE_LANGUAGES]

    def _translate(self, body: dict[str, Any]) -> tuple[int, Any, str, dict[str, str]]:
        state = self.server.state
        texts = body.get("text")
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return self._error(HTTPStatus.BAD_REQUEST, "Parameter 'text' not specified.")
        target = str(body.get("target_lang") or "").upper()
        if target not in _TARGET_CODES:
            return self._error(HTTPStatus.BAD_REQUEST, "Value for 'target_lang' not supported.")
        source = body.get("source_lang")
        source = str(source).upper() if source else None
        if source is not None and source not in _SOURCE_CODES:
            return self._error(HTTPStatus.BAD_REQUEST, "Value for 'source_lang' not supported.")
        formality = body.get("formality")
        if formality in ("more", "less") and target not in _FORMALITY_TARGETS:
            return self._error(
                HTTPStatus.BAD_REQUEST,
                "'formality' is not supported for given 'target_lang'.",
            )
        glossary_entries: dict[str, str] = {}
        glossary_id = body.get("glossary_id")
        if glossary_id:
            with state.lock:
                glossary = state.glossaries.get(glossary_id)
            if glossary is None:
                return self._error(HTTPStatus.NOT_FOUND, "Glossary not found")
            if source is None:
                return self._error(
                    HTTPStatus.BAD_REQUEST,
                    "Use of a glossary requires the source_lang parameter.",
                )
            if glossary.source_lang != source or glossary.target_lang != target.split("-")[0]:
                return self._error(
                    HTTPStatus.BAD_REQUEST,
                    "Glossary languages do not match the request.",
                )
            glossary_entries = glossary.entries

        billed = sum(len(text) for text in texts)
        with state.lock:
            if state.character_count + billed > state.character_limit:
                return self._error(HTTP_QUOTA_EXCEEDED, "Quota Exceeded")
            state.character_count += billed

        translations = []
        for text in texts:
            rendered_source, glossary_applied = _apply_glossary(text, glossary_entries)
            rendered = (
                f"[{target}] {rendered_source}"
                if glossary_applied
                else render_translation(text, target_lang=target, formality=formality)
            )
            translations.append(
                {
                    "detected_source_language": source or detect_source_language(text),
                    "text": rendered,
                    "billed_characters": len(text),
                }
            )
        return HTTPStatus.OK, {"translations": translations}, "application/json", {}

    def _create_glossary(self, body: dict[str, Any]) -> tuple[int, Any, str, dict[str, str]]:
        state = self.server.state
        name = body.get("name")
        source = str(body.get("source_lang") or "").upper()
        target = str(body.get("target_lang") or "").upper()
        if not name or source not in _SOURCE_CODES or target not in _SOURCE_CODES:
            return self._error(HTTPStatus.BAD_REQUEST, "Invalid glossary parameters.")
        if body.get("entries_format") != "tsv":
            return self._error(HTTPStatus.BAD_REQUEST, "Only tsv entries are served here.")
        glossary = StoredGlossary(
            glossary_id=str(uuid.uuid4()),
            name=name,
            source_lang=source,
            target_lang=target,
            entries=_parse_tsv(str(body.get("entries") or "")),
            creation_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        with state.lock:
            state.glossaries[glossary.glossary_id] = glossary
        return HTTPStatus.CREATED, glossary.as_json(), "application/json", {}

    def _glossary_detail(
        self, glossary_id: str, *, entries: bool
    ) -> tuple[int, Any, str, dict[str, str]]:
        state = self.server.state
        with state.lock:
            glossary = state.glossaries.get(glossary_id)
            if glossary is not None and self.command == "DELETE" and not entries:
                del state.glossaries[glossary_id]
                return HTTPStatus.NO_CONTENT, None, "application/json", {}
        if glossary is None:
            return self._error(HTTPStatus.NOT_FOUND, "Glossary not found")
        if self.command != "GET":
            return self._error(HTTPStatus.METHOD_NOT_ALLOWED, "Method not allowed")
        if entries:
            tsv = "\n".join(f"{s}\t{t}" for s, t in glossary.entries.items())
            return HTTPStatus.OK, tsv, "text/tab-separated-values", {}
        return HTTPStatus.OK, glossary.as_json(), "application/json", {}


class _StandInHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class DeepLStandIn:
    """A DeepL API stand-in on a free loopback port.

    Use as a context manager (or call :meth:`start`/:meth:`stop`)::

        with DeepLStandIn(auth_key="test-key") as deepl_api:
            translator = DeepLTranslator(auth_key="test-key", server_url=deepl_api.url)
            deepl_api.set_mode("rate_limited", times=2)
    """

    def __init__(self, *, auth_key: str = "standin-key:fx", character_limit: int = 500_000) -> None:
        self._state = _State(auth_key=auth_key, character_limit=character_limit)
        self._server: _StandInHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------

    def start(self) -> Self:
        self._server = _StandInHTTPServer(self._state)
        self._thread = threading.Thread(
            # A short poll interval keeps stop() (and so each test) fast.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="deepl-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- what tests read ----------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("DeepL stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_key(self) -> str:
        return self._state.auth_key

    @property
    def calls(self) -> list[RecordedCall]:
        with self._state.lock:
            return list(self._state.calls)

    def calls_to(self, path: str, *, method: str | None = None) -> list[RecordedCall]:
        return [
            call
            for call in self.calls
            if call.path == path and (method is None or call.method == method)
        ]

    @property
    def translate_calls(self) -> list[RecordedCall]:
        return self.calls_to("/v2/translate", method="POST")

    @property
    def character_count(self) -> int:
        with self._state.lock:
            return self._state.character_count

    @property
    def glossaries(self) -> dict[str, StoredGlossary]:
        with self._state.lock:
            return dict(self._state.glossaries)

    # --- what tests change ---------------------------------------------

    def set_mode(
        self,
        mode: str,
        *,
        times: int | None = None,
        delay: float = 0.0,
        retry_after: int | None = None,
    ) -> None:
        """Switch behaviour for every following request.

        - ``normal``: answer properly.
        - ``auth_failure`` (403), ``quota_exceeded`` (456), ``rate_limited`` (429,
          with ``Retry-After: retry_after`` when given), ``server_error`` (500):
          fail ``times`` requests then answer normally (``times=None``: always).
        - ``slow``: wait ``delay`` seconds before each answer.
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose from {MODES}")
        with self._state.lock:
            self._state.mode = _ModeState(
                mode=mode,
                remaining_failures=times,
                delay=delay,
                retry_after=retry_after,
            )

    def set_usage(
        self, *, character_count: int | None = None, character_limit: int | None = None
    ) -> None:
        with self._state.lock:
            if character_count is not None:
                self._state.character_count = character_count
            if character_limit is not None:
                self._state.character_limit = character_limit

    def reset(self) -> None:
        """Back to a fresh server: normal mode, no calls, no glossaries, zero usage."""
        with self._state.lock:
            self._state.mode = _ModeState()
            self._state.calls.clear()
            self._state.glossaries.clear()
            self._state.character_count = 0
