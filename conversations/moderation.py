"""Automatic flagging of payment-diversion and scam patterns.

Flagging never blocks delivery: a flagged message is delivered and queued for moderators,
who see the original and its translation. Rules are multilingual (en/fr/de/es) and the
admin-managed ``FlagWord`` list adds more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Seven or more digits, allowing spaces, dots, dashes and a leading +.
PHONE_RE = re.compile(r"(?<!\w)\+?\d[\d\s().-]{6,}\d(?!\w)")
OFF_PLATFORM_RE = re.compile(
    r"\b(whats\s?app|telegram\s+me|signal\s+me|wechat|paypal\s+(?:me|friends)|western\s+union|"
    r"moneygram|bank\s+transfer|wire\s+transfer|virement|überweisung|ueberweisung|"
    r"transferencia|bizum|venmo|zelle|cash\s?app|crypto|bitcoin|usdt|gift\s?card)\b",
    re.IGNORECASE,
)
PAY_OUTSIDE_RE = re.compile(
    r"(pay|payment|paiement|payer|zahl\w*|pag\w*)\b.{0,40}\b(outside|directly|direct|hors|"
    r"außerhalb|ausserhalb|fuera|off[-\s]?platform|my\s+(?:account|email))|"
    r"(email|e-mail|mail|correo|courriel)\b.{0,30}\b(for|pour|für|para)\b.{0,20}\b(payment|paiement|"
    r"zahlung|pago)|(contact|talk|write|écri\w*|schreib\w*|escrib\w*)\b.{0,30}\b(outside|off)\b.{0,20}"
    r"\b(platform|site|atelier)",
    re.IGNORECASE,
)
QR_HINT_RE = re.compile(r"\b(scan|scanne[rz]?|escanea)\b.{0,30}\b(qr|code)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Flag:
    reason: str
    excerpt: str


def scan_text(text: str, extra_phrases: list[tuple[str, str]] | None = None) -> list[Flag]:
    """Return every reason ``text`` looks like a payment-diversion or contact-sharing attempt."""
    flags: list[Flag] = []
    checks = [
        ("email address", EMAIL_RE),
        ("phone number", PHONE_RE),
        ("off-platform payment or contact", OFF_PLATFORM_RE),
        ("asks to pay outside Atelier", PAY_OUTSIDE_RE),
        ("payment QR code", QR_HINT_RE),
    ]
    for reason, pattern in checks:
        match = pattern.search(text)
        if match:
            flags.append(Flag(reason, match.group(0)[:80]))
    lowered = text.lower()
    for phrase, reason in extra_phrases or []:
        if phrase.lower() in lowered:
            flags.append(Flag(reason or "word list", phrase))
    return flags
