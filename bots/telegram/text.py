"""Telegram's length limits, counted the way Telegram counts them, and splitting text that
is longer into several messages instead of cutting it.

Telegram measures a message's text in UTF-16 code units (after entity parsing): 4,096 for
a message, 1,024 for a caption. An emoji outside the Basic Multilingual Plane is two units,
so ``len()`` in Python undercounts it. A text that does not fit is split at the best
boundary inside the limit: a blank line, then a line break, then the end of a sentence,
then a space, and only in a word that long, anywhere but inside a surrogate pair.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

_SENTENCE_END = re.compile(r"[.!?…。！？](?:\s|$)")


def telegram_length(text: str) -> int:
    """The length Telegram sees: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The number of characters of ``text`` whose UTF-16 length is at most ``limit``."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _break_at(window: str) -> int:
    """Where to end a part inside ``window`` (its characters all fit): the last good
    boundary in its second half, else the whole window."""
    floor = len(window) // 2
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, floor)
        if at > 0:
            return at + len(separator)
    ends = [match.end() for match in _SENTENCE_END.finditer(window, floor)]
    if ends:
        return ends[-1]
    at = window.rfind(" ", floor)
    if at > 0:
        return at + 1
    return len(window)


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` as parts of at most ``limit`` UTF-16 units each; joined back (in order),
    the parts give ``text`` again but for the whitespace at each break."""
    if limit < 2:
        raise ValueError("a Telegram text limit is at least 2 units")
    parts: list[str] = []
    rest = text
    while telegram_length(rest) > limit:
        window = rest[: _prefix_within(rest, limit)]
        cut = _break_at(window)
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if not parts:
        return [rest]  # it fitted: unchanged
    if rest.strip():
        parts.append(rest.rstrip())
    return parts
