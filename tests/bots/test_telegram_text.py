"""Telegram's length limit, counted in UTF-16 units: a longer text is split, never cut."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.telegram.text import MESSAGE_LIMIT, split_text, telegram_length


def _words(text: str) -> list[str]:
    return re.split(r"\s+", text.strip())


def test_a_text_that_fits_is_one_part() -> None:
    assert split_text("Bonjour !") == ["Bonjour !"]
    assert split_text("x" * MESSAGE_LIMIT) == ["x" * MESSAGE_LIMIT]


def test_emoji_count_twice_as_telegram_counts_them() -> None:
    # 🧶 lies outside the Basic Multilingual Plane: two UTF-16 units, one Python char.
    assert telegram_length("🧶") == 2
    text = "🧶" * 3000  # 3,000 characters, 6,000 units: too long for one message
    parts = split_text(text)
    assert len(parts) == 2
    assert all(telegram_length(part) <= MESSAGE_LIMIT for part in parts)
    assert "".join(parts) == text


def test_paragraphs_are_kept_whole_where_they_fit() -> None:
    first = "Le bol est tourné à la main. " * 100  # ≈ 2,900 characters
    second = "La glaze est cuite à 1 280 °C. " * 60  # ≈ 1,860 characters
    text = f"{first.strip()}\n\n{second.strip()}"

    parts = split_text(text)

    assert parts == [first.strip(), second.strip()]


def test_a_long_paragraph_breaks_after_a_sentence() -> None:
    sentence = "Each scarf is woven on a wooden loom in the village. "
    parts = split_text(sentence * 200)  # ≈ 10,600 characters, no line breaks

    assert len(parts) == 3
    assert all(part.endswith(".") for part in parts)
    assert _words(" ".join(parts)) == _words(sentence * 200)


def test_a_word_longer_than_the_limit_is_still_split() -> None:
    parts = split_text("a" * 9000)
    assert [len(part) for part in parts] == [4096, 4096, 808]


def test_a_limit_below_two_units_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_text("text", 1)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab é\n.!🧶日本")),
        min_size=0,
        max_size=400,
    ),
    st.integers(min_value=2, max_value=60),
)
def test_no_part_is_too_long_and_no_word_is_lost(text: str, limit: int) -> None:
    parts = split_text(text, limit)

    assert all(telegram_length(part) <= limit for part in parts)
    # Only whitespace at the breaks may go; every other character stays, in order.
    assert re.sub(r"\s", "", "".join(parts)) == re.sub(r"\s", "", text)
