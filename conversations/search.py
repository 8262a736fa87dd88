"""The inbox's blind search index over encrypted message text.

Message bodies are encrypted at rest (core/crypto.py), so the database cannot match them with
``LIKE``. Instead each message's words are normalised (NFKC, case-folded, accents removed),
and every distinct word and each of its prefixes of ``PREFIX_MIN``–``PREFIX_MAX`` characters
is stored as a keyed HMAC digest (``MessageSearchTerm``). A query is normalised the same way;
a conversation matches when one of its messages holds every query word (a word of the
query matches a stored word it equals, or is a prefix of, up to ``PREFIX_MAX`` characters).
Scripts written without spaces (Japanese, Chinese, Thai) are indexed by single characters
and character pairs.

What the database then learns: which messages share a word, not the word (the key is
``SEARCH_INDEX_KEY``, held by the application only). What search gives up: matching inside
a word ("cotta" does not find "terracotta"); words longer than ``PREFIX_MAX`` characters
match on their first ``PREFIX_MAX``. docs/security.md states this trade-off.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, QuerySet

PREFIX_MIN = 3
PREFIX_MAX = 8
MAX_TERMS_PER_MESSAGE = 400
_WORD = re.compile(r"\w+", re.UNICODE)
# Scripts with no spaces between words: Han, Hiragana, Katakana, Hangul syllables, Thai.
_UNSPACED_CHARS = (
    r"\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u0e00-\u0e7f"
)
_UNSPACED = re.compile(f"[{_UNSPACED_CHARS}]")
_UNSPACED_RUN = re.compile(f"[{_UNSPACED_CHARS}]+")


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The searchable units of ``text``: words, and character pairs in unspaced scripts."""
    units: list[str] = []
    for word in _WORD.findall(normalise(text)):
        if _UNSPACED.search(word):
            units.extend(_split_unspaced(word))
        elif len(word) >= 2 or word.isdigit():
            units.append(word)
    return units


def _split_unspaced(word: str) -> list[str]:
    units: list[str] = []
    for run in _UNSPACED_RUN.findall(word):
        units.extend(run)  # single characters, so a one-character query finds them
        units.extend(run[i : i + 2] for i in range(len(run) - 1))
    rest = _UNSPACED.sub(" ", word).split()
    units.extend(w for w in rest if len(w) >= 2 or w.isdigit())
    return units


def _digest(term: str) -> str:
    key = settings.SEARCH_INDEX_KEY.encode()
    return hmac.new(key, term.encode(), hashlib.sha256).hexdigest()[:32]


def index_terms(text: str) -> set[str]:
    """The digests stored for a message with this text."""
    terms: set[str] = set()
    for word in words(text):
        terms.add(word[:PREFIX_MAX])
        for length in range(PREFIX_MIN, min(len(word), PREFIX_MAX)):
            terms.add(word[:length])
        if len(terms) >= MAX_TERMS_PER_MESSAGE:
            break
    return {_digest(t) for t in terms}


def query_terms(query: str) -> set[str]:
    """The digests a message must hold to match ``query`` (empty: nothing searchable)."""
    return {_digest(word[:PREFIX_MAX]) for word in words(query)}


def index_message(message: object, *, new: bool = False) -> None:
    """(Re)write the index rows of one message from its current text (in the caller's
    transaction). Hidden or blanked messages are not findable. ``new``: the message was
    just inserted, so it has no rows to replace (saves a DELETE on the send path)."""
    from conversations.models import MessageSearchTerm

    if not new:
        MessageSearchTerm.objects.filter(message_id=message.pk).delete()
    text = getattr(message, "text", "") or ""
    if not text or getattr(message, "hidden_at", None) is not None:
        return
    MessageSearchTerm.objects.bulk_create(
        [
            MessageSearchTerm(
                message_id=message.pk, conversation_id=message.conversation_id, digest=digest
            )
            for digest in sorted(index_terms(text))
        ],
        ignore_conflicts=True,
    )


def forget_messages(message_ids: Iterable[int] | QuerySet) -> None:
    from conversations.models import MessageSearchTerm

    MessageSearchTerm.objects.filter(message_id__in=message_ids).delete()


def matching_message_ids(query: str) -> QuerySet | None:
    """Ids of messages holding every word of ``query`` (a subquery), or None when the query
    has no searchable word."""
    from conversations.models import MessageSearchTerm

    digests = query_terms(query)
    if not digests:
        return None
    return (
        MessageSearchTerm.objects.filter(digest__in=digests)
        .values("message_id")
        .annotate(found=Count("digest", distinct=True))
        .filter(found=len(digests))
        .values("message_id")
    )


def matching_conversation_ids(query: str) -> QuerySet | None:
    """Ids of conversations with a message holding every word of ``query`` (a subquery)."""
    from conversations.models import Message

    messages = matching_message_ids(query)
    if messages is None:
        return None
    return Message.objects.filter(pk__in=messages).values("conversation_id")
