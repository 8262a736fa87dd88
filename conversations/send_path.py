"""The message write as one PostgreSQL statement (the hub's hot path, behind ``post_message``).

One statement, in the caller's transaction, does what took six round trips and four
access queries before (docs/performance.md):

* bumps the conversation's ``last_seq`` under its row lock (the gapless per-conversation
  sequence: concurrent writers queue on the lock and each gets the next number), sets
  ``last_message_at`` and, for a message that lists the thread, ``surfaced_at``;
* only if the author may write there *now*: a participant, the conversation not closed, not
  blocked by another participant (checked against the rows the update locks, so a block or
  a close that committed first is always seen);
* inserts the message, moves the author's read marker to it and stores its search terms;
* returns the message id and seq, the fresh conversation row, the participant ids (for
  the fan-out), the other participants' languages (so a translation is enqueued only
  when some reader needs one), whether the artisan is away (the away reply's check) and
  the facts other apps' follow-ups registered (``register_fact``: e.g. whether the buyer
  has a Telegram chat), so no follow-up check costs a query of its own per message.

A duplicate ``(author, client_id)`` fails the whole statement (the unique constraint), so a
retry consumes no ``seq``: the caller rolls back and answers with the stored message. When
the guard refuses, nothing is written and the caller asks ``services`` which rule refused.
SQLite (the embedded default) keeps the ORM path in ``services._insert_message``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from conversations.models import (
    Block,
    Conversation,
    ConversationStatus,
    Message,
    MessageSearchTerm,
    NotificationSettings,
    Participant,
)
from core.models import User

# Columns the statement writes; every other column of the message table is nullable.
_MESSAGE_FIELDS = (
    "conversation",
    "seq",
    "author",
    "kind",
    "text",
    "language",
    "client_id",
    "channel",
    "payload",
    "created_at",
    "flagged",
    "flag_reasons",
)
_VALUE_FIELDS = _MESSAGE_FIELDS[2:]  # conversation and seq come from the update


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


_sql: str | None = None
_conversation_fields = Conversation._meta.concrete_fields

# name -> builds a SQL boolean over the updated conversation row (see ``register_fact``).
_facts: dict[str, Callable[[Callable[[str], str]], str]] = {}


def register_fact(name: str, expression: Callable[[Callable[[str], str]], str]) -> None:
    """Have the write also return one boolean fact, as ``message.write_facts[name]``.

    ``expression(column)`` returns a SQL boolean expression (no bound values; identifiers
    quoted from model metadata) where ``column("buyer")`` names a column of the
    conversation row the statement just updated. Registered in ``AppConfig.ready``; a
    message written another way (SQLite) has no facts, and its checks query instead.
    """
    global _sql
    _facts[name] = expression
    _sql = None


def _statement() -> str:
    global _sql
    if _sql is None:
        conv, msg = _table(Conversation), _table(Message)
        part, block, term = _table(Participant), _table(Block), _table(MessageSearchTerm)
        c = lambda name: _column(Conversation, name)  # noqa: E731
        m = lambda name: _column(Message, name)  # noqa: E731
        p = lambda name: _column(Participant, name)  # noqa: E731
        returning = ", ".join(
            f"{conv}.{connection.ops.quote_name(f.column)}" for f in _conversation_fields
        )
        facts = "".join(
            f"({expression(lambda name: f'c.{c(name)}')}),\n       "
            for expression in _facts.values()
        )
        insert_columns = ", ".join(m(name) for name in _MESSAGE_FIELDS)
        placeholders = ", ".join(f"%({name})s" for name in _VALUE_FIELDS)
        # Only identifiers from the models' own metadata are formatted in; values are bound.
        _sql = f"""
WITH c AS (
    UPDATE {conv}
       SET {c("last_seq")} = {c("last_seq")} + 1,
           {c("last_message_at")} = %(created_at)s,
           {c("surfaced_at")} = CASE WHEN %(surfaces)s
                                     THEN COALESCE({c("surfaced_at")}, %(created_at)s)
                                     ELSE {c("surfaced_at")} END
     WHERE {c("id")} = %(conversation)s
       AND (%(author)s::bigint IS NULL OR (
            {c("status")} <> %(closed)s
            AND EXISTS (SELECT 1 FROM {part} pa
                         WHERE pa.{p("conversation")} = %(conversation)s
                           AND pa.{p("user")} = %(author)s)
            AND NOT EXISTS (SELECT 1 FROM {block} b
                              JOIN {part} pb ON pb.{p("user")} = b.{_column(Block, "blocker")}
                             WHERE pb.{p("conversation")} = %(conversation)s
                               AND b.{_column(Block, "blocked")} = %(author)s)))
    RETURNING {returning}
), m AS (
    INSERT INTO {msg} ({insert_columns})
    SELECT c.{c("id")}, c.{c("last_seq")}, {placeholders} FROM c
    RETURNING {m("id")} AS id, {m("seq")} AS seq
), r AS (
    UPDATE {part} SET {p("last_read_seq")} = m.seq FROM m
     WHERE {part}.{p("conversation")} = %(conversation)s AND {part}.{p("user")} = %(author)s
), t AS (
    INSERT INTO {term} ({_column(MessageSearchTerm, "message")},
                        {_column(MessageSearchTerm, "conversation")},
                        {_column(MessageSearchTerm, "digest")})
    SELECT m.id, %(conversation)s, d
      FROM m, unnest(string_to_array(NULLIF(%(digests)s, ''), ' ')) AS d
    ON CONFLICT DO NOTHING
)
SELECT m.id, m.seq,
       ARRAY(SELECT pc.{p("user")} FROM {part} pc
              WHERE pc.{p("conversation")} = %(conversation)s ORDER BY pc.{p("id")}),
       ARRAY(SELECT u.{_column(User, "preferred_language")}
               FROM {part} pl JOIN {_table(User)} u ON u.{_column(User, "id")} = pl.{p("user")}
              WHERE pl.{p("conversation")} = %(conversation)s
                AND pl.{p("user")} IS DISTINCT FROM %(author)s),
       EXISTS (SELECT 1 FROM {_table(NotificationSettings)} ns
                WHERE ns.{_column(NotificationSettings, "user")} = c.{c("artisan")}
                  AND ns.{_column(NotificationSettings, "away_enabled")}),
       {facts}c.*
  FROM m, c
"""  # noqa: S608
    return _sql


@dataclass(frozen=True)
class Inserted:
    message: Message
    conversation: Conversation  # the row as the update left it
    participant_ids: list[int]
    reader_languages: list[str]  # every other participant's preferred language, as stored
    artisan_away: bool  # the conversation's artisan has the away reply on
    facts: dict[str, bool] = field(default_factory=dict)  # the registered facts, by name


def available() -> bool:
    return connection.vendor == "postgresql"


def insert_message(
    *,
    conversation_id: int,
    author: Any,
    kind: str,
    text: str,
    language: str,
    client_id: str | None,
    channel: str,
    payload: dict[str, Any],
    created_at: datetime,
    flag_reasons: list[dict[str, str]],
    digests: list[str],
    surfaces: bool,
) -> Inserted | None:
    """Write the message if ``author`` (None: system/bot) may write now; None if refused.

    Raises IntegrityError on a duplicate ``(author, client_id)``; the caller's transaction
    must then be rolled back (nothing of this statement stays).
    """
    values = {
        "author": author.pk if author is not None else None,
        "kind": kind,
        "text": text,
        "language": language,
        "client_id": client_id,
        "channel": channel,
        "payload": payload,
        "created_at": created_at,
        "flagged": bool(flag_reasons),
        "flag_reasons": flag_reasons,
    }
    params = {
        name: Message._meta.get_field(name).get_db_prep_save(values[name], connection)
        for name in _VALUE_FIELDS
    }
    params.update(
        conversation=conversation_id,
        surfaces=surfaces,
        closed=ConversationStatus.CLOSED.value,
        # One text, split by the server: binding an array costs more Python than the insert.
        digests=" ".join(digests),
    )
    with connection.cursor() as cursor:
        cursor.execute(_statement(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    message_id, seq, participant_ids, reader_languages, artisan_away, *rest = row
    facts = dict(zip(_facts, rest[: len(_facts)], strict=True))
    conversation_values = rest[len(_facts) :]
    fresh = Conversation.from_db(
        "default",
        [f.attname for f in _conversation_fields],
        [
            f.from_db_value(value, None, connection) if hasattr(f, "from_db_value") else value
            for f, value in zip(_conversation_fields, conversation_values, strict=True)
        ],
    )
    message = Message(
        id=message_id,
        conversation=fresh,
        seq=seq,
        author=author,
        kind=kind,
        text=text,
        language=language,
        client_id=client_id,
        channel=channel,
        payload=payload,
        created_at=created_at,
        flagged=bool(flag_reasons),
        flag_reasons=flag_reasons,
    )
    message._state.adding = False
    message._state.db = "default"
    return Inserted(
        message=message,
        conversation=fresh,
        participant_ids=list(participant_ids),
        reader_languages=list(reader_languages),
        artisan_away=artisan_away,
        facts=facts,
    )
