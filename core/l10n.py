"""Money, dates and times in the reader's locale and time zone (Babel + Django's active
language and time zone).

Facts are stored as amounts with an ISO currency and aware UTC datetimes; these helpers turn
them into text for one reader at display time. The reader is whoever the active translation
and time zone belong to (the request's user via ``core.middleware``, or an explicit
``translation.override``/``timezone.override`` when rendering for someone else, e.g. a
Telegram recipient). Both may also be passed explicitly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.numbers import format_currency, format_decimal, format_percent
from django.utils import timezone, translation

# Django language code -> the CLDR locale whose conventions its readers expect. English is
# British by default (EUR shops, "1 Dec 2026"), the others are the language's main locale.
_CLDR_LOCALES = {"en": "en_GB", "fr": "fr_FR", "de": "de_DE", "es": "es_ES", "ja": "ja_JP"}


def babel_locale(language: str | None = None) -> Locale:
    """The Babel locale for a Django language code (the active one by default)."""
    code = (language or translation.get_language() or "en").replace("-", "_")
    base = code.split("_")[0].lower()
    name = _CLDR_LOCALES.get(code.lower(), code) if "_" in code else _CLDR_LOCALES.get(base, base)
    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_GB")


def format_money(
    amount: Decimal | int | str | None, currency: str, *, language: str | None = None
) -> str:
    """``Decimal('54')`` + ``EUR`` → "€54.00" (en), "54,00 €" (fr), "54,00 €" (de), "€54" … ."""
    if amount is None or amount == "":
        return ""
    value = Decimal(str(amount))
    return format_currency(value, (currency or "").upper(), locale=babel_locale(language))


def format_number(value: Decimal | int | float, *, language: str | None = None) -> str:
    return format_decimal(value, locale=babel_locale(language))


def format_percentage(percent: Decimal | int, *, language: str | None = None) -> str:
    """``30`` → "30%" (en), "30 %" (fr)."""
    return format_percent(Decimal(str(percent)) / 100, locale=babel_locale(language))


def _zone(tz: str | dt.tzinfo | None) -> dt.tzinfo:
    if tz is None:
        return timezone.get_current_timezone()
    if isinstance(tz, str):
        try:
            return zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.UTC
    return tz


def format_datetime(
    value: dt.datetime | None,
    *,
    language: str | None = None,
    tz: str | dt.tzinfo | None = None,
    format: str = "medium",  # noqa: A002 - Babel's own name for it
) -> str:
    """An aware datetime in the reader's time zone and locale ("1 Dec 2026, 21:07")."""
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    local = value.astimezone(_zone(tz))
    locale = babel_locale(language)
    if format != "medium":
        return babel_format_datetime(local, format=format, locale=locale)
    # CLDR's medium datetime shows seconds; people read "1 Dec 2026, 21:07".
    pattern = str(locale.datetime_formats["medium"])
    return pattern.replace("{1}", babel_format_date(local, format="medium", locale=locale)).replace(
        "{0}", babel_format_time(local, format="short", locale=locale)
    )


def format_date(
    value: dt.date | dt.datetime | None,
    *,
    language: str | None = None,
    tz: str | dt.tzinfo | None = None,
    format: str = "medium",  # noqa: A002
) -> str:
    """A date ("1 Dec 2026", "1 déc. 2026", "2026/12/01"); datetimes are first moved into
    the reader's time zone, so a date never shifts by a day for a reader far from UTC."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        value = value.astimezone(_zone(tz)).date()
    return babel_format_date(value, format=format, locale=babel_locale(language))


def format_time(
    value: dt.datetime | None, *, language: str | None = None, tz: str | dt.tzinfo | None = None
) -> str:
    if value is None:
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return babel_format_time(
        value.astimezone(_zone(tz)), format="short", locale=babel_locale(language)
    )
