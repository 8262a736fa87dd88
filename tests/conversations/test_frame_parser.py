"""The client-frame parser (conversations/protocol.py): typed frames or documented error codes.

Property tests: whatever a client sends — any text, any JSON value, known frame types with
any field values — the parser returns one typed frame or raises FrameError with a code
from docs/protocol.md, never anything else.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.protocol import (
    CLIENT_FRAMES,
    ERROR_CODES,
    MAX_FRAME_BYTES,
    MAX_ID,
    FrameError,
    ReadFrame,
    SendFrame,
    SubscribeFrame,
    TypingFrame,
    parse_client_frame,
    parse_client_text,
    validate_server_frame,
)

TEXT_ERRORS = {"invalid", "malformed", "too_large", "unknown_type"}
VALUE_ERRORS = {"invalid", "unknown_type"}
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["type", "conversation", "after_seq", "client_id", "text", "attachments", "state", "seq"]
)


def _parse_value(value):
    try:
        return parse_client_frame(value), None
    except FrameError as exc:
        return None, exc


def _assert_documented(exc: FrameError, allowed: set[str]) -> None:
    assert exc.code in allowed
    assert exc.code in ERROR_CODES
    # and the error frame the socket builds from it matches its own schema
    validate_server_frame({"type": "error", "code": exc.code, "message": exc.message})


@PROPERTY
@given(st.text(max_size=300))
def test_any_text_is_a_frame_or_a_documented_error(text):
    try:
        frame = parse_client_text(text)
    except FrameError as exc:
        _assert_documented(exc, TEXT_ERRORS)
    else:
        assert frame.type in CLIENT_FRAMES


@PROPERTY
@given(json_values)
def test_any_json_value_is_a_frame_or_a_documented_error(value):
    frame, error = _parse_value(value)
    if error is not None:
        _assert_documented(error, VALUE_ERRORS)
    else:
        assert isinstance(frame, tuple(CLIENT_FRAMES.values()))


@PROPERTY
@given(
    st.sampled_from(sorted(CLIENT_FRAMES)),
    st.dictionaries(field_names.filter(lambda k: k != "type"), json_values, max_size=6),
)
def test_known_types_with_any_fields_never_crash(frame_type, fields):
    frame, error = _parse_value({"type": frame_type, **fields})
    if error is not None:
        # the type is known, so the only possible complaint is a field
        assert error.code == "invalid"
        assert error.message
    else:
        assert frame.type == frame_type


@PROPERTY
@given(
    conversation=st.integers(min_value=1, max_value=MAX_ID),
    client_id=st.text(min_size=1, max_size=64),
    text=st.text(max_size=200),
    attachments=st.lists(st.integers(min_value=1, max_value=MAX_ID), max_size=12),
)
def test_a_well_formed_send_frame_keeps_every_value(conversation, client_id, text, attachments):
    raw = json.dumps(
        {
            "type": "message.send",
            "conversation": conversation,
            "client_id": client_id,
            "text": text,
            "attachments": attachments,
            "future_field": {"ignored": True},
        }
    )
    frame = parse_client_text(raw)
    assert frame == SendFrame(
        type="message.send",
        conversation=conversation,
        client_id=client_id,
        text=text,
        attachments=attachments,
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed"),
        ("[" * 100_000 + "]" * 100_000, "too_large"),
        ("[" * 30_000 + "]" * 30_000, "malformed"),  # nesting too deep for the decoder
        ("x" * (MAX_FRAME_BYTES + 1), "too_large"),
        ("[1, 2]", "invalid"),
        ('"ping"', "invalid"),
        ('{"type": 5}', "invalid"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe", "conversation": "7"}', "invalid"),
        ('{"type": "subscribe", "conversation": true}', "invalid"),
        ('{"type": "subscribe", "conversation": 7.0}', "invalid"),
        ('{"type": "subscribe", "conversation": 0}', "invalid"),
        ('{"type": "subscribe", "conversation": 1, "after_seq": -1}', "invalid"),
        ('{"type": "subscribe", "conversation": 99999999999999999999999}', "invalid"),
        ('{"type": "message.send", "conversation": 1, "text": "no client id"}', "invalid"),
        ('{"type": "message.send", "conversation": 1, "client_id": ""}', "invalid"),
        ('{"type": "message.send", "conversation": 1, "client_id": "a", "text": 5}', "invalid"),
        (
            '{"type": "message.send", "conversation": 1, "client_id": "a", "attachments": 3}',
            "invalid",
        ),
        ('{"type": "typing", "conversation": 1, "state": "dancing"}', "invalid"),
        ('{"type": "read", "conversation": 1, "seq": -4}', "invalid"),
        ('{"type": "read", "conversation": 1}', "invalid"),
    ],
)
def test_bad_frames_get_the_documented_code(raw, code):
    with pytest.raises(FrameError) as refused:
        parse_client_text(raw)
    assert refused.value.code == code
    assert refused.value.message


def test_field_errors_name_the_field():
    with pytest.raises(FrameError, match="“seq” must be an integer ≥ 0"):
        parse_client_text('{"type": "read", "conversation": 1, "seq": "3"}')
    with pytest.raises(FrameError, match="“client_id” is required"):
        parse_client_text('{"type": "message.send", "conversation": 1}')


def test_defaults_and_text_the_service_cleans_are_passed_through():
    assert parse_client_text('{"type": "subscribe", "conversation": 3}') == SubscribeFrame(
        type="subscribe", conversation=3, after_seq=0
    )
    assert parse_client_text('{"type": "typing", "conversation": 3}').state == "start"
    assert isinstance(parse_client_text('{"type": "read", "conversation": 3, "seq": 0}'), ReadFrame)
    assert isinstance(
        parse_client_text('{"type": "typing", "conversation": 3, "state": "stop"}'), TypingFrame
    )
    # A lone surrogate and a NUL reach the message service, which turns them into U+FFFD
    # and nothing (one rule for every channel); the parser does not refuse them.
    frame = parse_client_text(
        '{"type": "message.send", "conversation": 1, "client_id": "s", "text": "a\\ud800\\u0000b"}'
    )
    assert frame.text == "a\ud800\x00b"
