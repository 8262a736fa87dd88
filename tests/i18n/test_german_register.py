"""German speaks to the reader with "du" everywhere, as most of the catalogue always did; a
screen that switches to "Sie" halfway through a flow reads as two different shops."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "de" / "LC_MESSAGES" / "django.po"
FORMAL = re.compile(r"\b(Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer|Ihres)\b")
# "Sie" here is "it" (die Nachricht, die Kampagne), or the name of the formal register itself.
NOT_ADDRESS = {
    "Write your message: it goes to %(shop)s. Send /bot to talk to the shop assistant.",
    "Every link in the campaign leads here; share it anywhere. It shows the message in each "
    "visitor's language, your pieces and the code.",
    "Formal (vous, Sie, usted)",
}


def test_no_german_string_addresses_the_reader_formally():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    formal = []
    for message in catalogue:
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if msgid and msgid not in NOT_ADDRESS and any(FORMAL.search(s or "") for s in strings):
            formal.append((msgid, strings))
    assert formal == []
