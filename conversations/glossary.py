"""Glossaries for craft vocabulary, readers' formality, and the options a translation uses.

Admins keep ``GlossaryTerm`` rows per language pair ("raku" stays "raku", "Töpferscheibe"
becomes "tour de potier"). ``sync_glossaries()`` uploads the active terms of each pair to
DeepL as one glossary and remembers its id in ``GlossarySync``; translations of that pair
then pass the id. Unchanged terms are never uploaded again (entries hash).

Formality is a reader's wish (``TranslationPreference``); the provider drops it for target
languages without a formal register (English, Chinese, Korean).

``TranslationOptions`` bundles what one translation call uses besides the text, and gives
the cache key: a text translated with a glossary or a formality must not be served to a
reader who asked for neither.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from conversations.models import (
    Formality,
    GlossarySync,
    GlossaryTerm,
    Message,
    Participant,
    TranslationPreference,
)
from conversations.translation.config import normalise_language_code
from conversations.translation.provider import Translator, get_translator
from conversations.translation.types import (
    GlossaryNotFound,
    TranslationError,
    TranslationNotConfigured,
    TranslationResult,
)
from core.models import User

logger = logging.getLogger(__name__)

# DeepL stores glossary entries as TSV: a tab or a line break inside a term would split it.
FORBIDDEN_TERM_CHARACTERS = ("\t", "\n", "\r")


# --- formality -------------------------------------------------------------------------


def formality_for(user: User) -> str:
    """The user's formality wish: "more", "less" or "default"."""
    preference = TranslationPreference.objects.filter(user=user).only("formality").first()
    return preference.formality if preference else Formality.DEFAULT


def set_translation_formality(*, user: User, formality: str) -> TranslationPreference:
    """Record how formally ``user`` wants machine translations to address them."""
    if formality not in Formality.values:
        raise ValidationError(f"formality must be one of {Formality.values}")
    preference, _ = TranslationPreference.objects.update_or_create(
        user=user, defaults={"formality": formality}
    )
    return preference


def shared_formality(users: list[User]) -> str | None:
    """The formality all ``users`` agree on; None when they differ or want nothing.

    One translation serves every reader of a language in a conversation, so a wish is
    honoured only when it is everyone's.
    """
    if not users:
        return None
    wishes = dict(
        TranslationPreference.objects.filter(user__in=users).values_list("user_id", "formality")
    )
    chosen = {wishes.get(user.pk, Formality.DEFAULT) for user in users}
    if len(chosen) != 1:
        return None
    [wish] = chosen
    return None if wish == Formality.DEFAULT else wish


# --- glossary terms ----------------------------------------------------------------------


def _language(code: str) -> str:
    try:
        return normalise_language_code(code or "")
    except ValueError:
        return ""


def validate_glossary_term(
    *, source_language: str, target_language: str, source: str, target: str
) -> tuple[str, str, str, str]:
    """Normalised (source_language, target_language, source, target) or ValidationError."""
    errors: dict[str, str] = {}
    source_code, target_code = _language(source_language), _language(target_language)
    if not source_code:
        errors["source_language"] = "Use a language code such as en, fr, de, ja."
    if not target_code:
        errors["target_language"] = "Use a language code such as en, fr, de, ja."
    if source_code and source_code == target_code:
        errors["target_language"] = "A glossary translates between two different languages."
    for name, value in (("source", source), ("target", target)):
        if not value.strip():
            errors[name] = "This term must not be empty."
        elif any(char in value for char in FORBIDDEN_TERM_CHARACTERS):
            errors[name] = "Terms cannot contain tabs or line breaks."
    if errors:
        raise ValidationError(errors)
    return source_code, target_code, source.strip(), target.strip()


@transaction.atomic
def save_glossary_term(
    *,
    source_language: str,
    target_language: str,
    source: str,
    target: str,
    active: bool = True,
    note: str = "",
) -> GlossaryTerm:
    """Add or update the translation of ``source`` for a pair (takes effect at next sync)."""
    source_language, target_language, source, target = validate_glossary_term(
        source_language=source_language,
        target_language=target_language,
        source=source,
        target=target,
    )
    term, _ = GlossaryTerm.objects.update_or_create(
        source_language=source_language,
        target_language=target_language,
        source=source,
        defaults={"target": target, "active": active, "note": note[:200]},
    )
    return term


def glossary_entries_by_pair() -> dict[tuple[str, str], dict[str, str]]:
    """Active terms grouped per (source, target) language pair."""
    pairs: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for term in GlossaryTerm.objects.filter(active=True).order_by("source"):
        pairs[(term.source_language, term.target_language)][term.source] = term.target
    return dict(pairs)


def entries_hash(entries: dict[str, str]) -> str:
    """Order-independent fingerprint of a glossary's entries."""
    tsv = "\n".join(f"{source}\t{target}" for source, target in sorted(entries.items()))
    return hashlib.sha256(tsv.encode("utf-8")).hexdigest()


def glossary_name(*, source_language: str, target_language: str) -> str:
    # The prefix keeps staging and production apart when they share one DeepL account:
    # a sync deletes older glossaries that carry the same name.
    prefix = str(getattr(settings, "DEEPL_GLOSSARY_PREFIX", "") or "atelier")
    return f"{prefix}-{source_language}-{target_language}"


@dataclass(frozen=True)
class GlossarySyncOutcome:
    source_language: str
    target_language: str
    glossary_id: str
    entry_count: int
    uploaded: bool  # False when DeepL already held exactly these entries
    error: str = ""


def _supports_glossaries(translator: Translator) -> bool:
    return callable(getattr(translator, "sync_glossary", None))


def sync_glossaries(
    *, translator: Translator | None = None, force: bool = False
) -> list[GlossarySyncOutcome]:
    """Upload each language pair's active terms to DeepL and store the glossary ids.

    A pair whose entries did not change since the last sync is skipped (no API call)
    unless ``force``. A pair left without active terms stops using its glossary. A
    provider error on one pair is recorded on its ``GlossarySync`` row (the previous
    glossary stays in use) and the other pairs still sync.
    Raises ``TranslationNotConfigured`` without a DeepL key.
    """
    translator = translator or get_translator()
    if not translator.is_configured or not _supports_glossaries(translator):
        raise TranslationNotConfigured("Glossaries need a configured DeepL translator.")
    wanted = glossary_entries_by_pair()
    outcomes: list[GlossarySyncOutcome] = []
    for (source, target), entries in sorted(wanted.items()):
        fingerprint = entries_hash(entries)
        current = GlossarySync.objects.filter(
            source_language=source, target_language=target
        ).first()
        if (
            not force
            and current is not None
            and current.glossary_id
            and current.entries_hash == fingerprint
        ):
            outcomes.append(
                GlossarySyncOutcome(source, target, current.glossary_id, len(entries), False)
            )
            continue
        try:
            glossary_id = translator.sync_glossary(  # type: ignore[attr-defined]
                name=glossary_name(source_language=source, target_language=target),
                source_lang=source,
                target_lang=target,
                entries=entries,
            )
        except TranslationError as exc:
            logger.warning("glossary sync failed for %s-%s: %s", source, target, exc)
            GlossarySync.objects.update_or_create(
                source_language=source,
                target_language=target,
                defaults={"last_error": str(exc)[:255] or "Glossary sync failed."},
            )
            outcomes.append(
                GlossarySyncOutcome(
                    source,
                    target,
                    current.glossary_id if current else "",
                    len(entries),
                    False,
                    error=str(exc)[:255],
                )
            )
            continue
        GlossarySync.objects.update_or_create(
            source_language=source,
            target_language=target,
            defaults={
                "glossary_id": glossary_id,
                "entries_hash": fingerprint,
                "entry_count": len(entries),
                "synced_at": timezone.now(),
                "last_error": "",
            },
        )
        outcomes.append(GlossarySyncOutcome(source, target, glossary_id, len(entries), True))
    # Pairs whose terms were all removed or deactivated: stop using their glossary.
    for stale in GlossarySync.objects.exclude(glossary_id=""):
        if (stale.source_language, stale.target_language) not in wanted:
            stale.glossary_id, stale.entries_hash, stale.entry_count = "", "", 0
            stale.synced_at = timezone.now()
            stale.save(update_fields=["glossary_id", "entries_hash", "entry_count", "synced_at"])
            outcomes.append(
                GlossarySyncOutcome(stale.source_language, stale.target_language, "", 0, True)
            )
    return outcomes


def forget_glossary(*, source_language: str, target_language: str) -> None:
    """DeepL no longer has the pair's glossary: stop using it until the next sync."""
    GlossarySync.objects.filter(
        source_language=source_language, target_language=target_language
    ).update(
        glossary_id="",
        entries_hash="",
        last_error="DeepL no longer has this glossary; sync again.",
    )


# --- options of one translation ------------------------------------------------------------


@dataclass(frozen=True)
class TranslationOptions:
    """Everything a translation call uses besides the text itself."""

    source_language: str  # our base code, "" when unknown (the provider detects it)
    target_language: str
    formality: str | None = None  # "more" / "less"; None = the provider's default
    glossary_id: str | None = None
    glossary_hash: str = ""

    def cache_key(self, text: str) -> str:
        """Cache key of ``text`` under these options.

        Plain sha256 of the text when no formality or glossary applies, so identical
        texts share one translation; otherwise the variant is part of the key (the
        glossary's entries hash, not its id, so re-uploading unchanged terms keeps hits).
        """
        text_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if not self.formality and not self.glossary_hash:
            return text_hash
        variant = f"{text_hash}|formality={self.formality or ''}|glossary={self.glossary_hash}"
        return hashlib.sha256(variant.encode("utf-8")).hexdigest()

    def without_glossary(self) -> TranslationOptions:
        return replace(self, glossary_id=None, glossary_hash="")


def translation_options(
    *, source_language: str, target_language: str, formality: str | None = None
) -> TranslationOptions:
    """Options for one pair: the synced glossary (needs a known source) and a formality."""
    source, target = _language(source_language), _language(target_language)
    glossary_id, glossary_hash = None, ""
    if source and target and source != target:
        synced = (
            GlossarySync.objects.filter(source_language=source, target_language=target)
            .exclude(glossary_id="")
            .first()
        )
        if synced is not None:
            glossary_id, glossary_hash = synced.glossary_id, synced.entries_hash
    return TranslationOptions(
        source_language=source,
        target_language=target or target_language,
        formality=formality if formality in (Formality.MORE, Formality.LESS) else None,
        glossary_id=glossary_id,
        glossary_hash=glossary_hash,
    )


def message_translation_options(*, message: Message, target_language: str) -> TranslationOptions:
    """Options for translating ``message`` for its readers in ``target_language``."""
    target = _language(target_language)
    readers = [
        participant.user
        for participant in Participant.objects.filter(
            conversation_id=message.conversation_id
        ).select_related("user")
        if participant.user_id != message.author_id
        and _language(participant.user.preferred_language) == target
    ]
    return translation_options(
        source_language=message.language,
        target_language=target_language,
        formality=shared_formality(readers),
    )


def translate_with_options(
    translator: Translator, *, text: str, options: TranslationOptions
) -> tuple[TranslationResult, TranslationOptions]:
    """Translate one text; returns the result and the options actually used.

    A glossary DeepL no longer has (deleted by a concurrent sync, or by hand) is
    forgotten and the text translated once more without it, rather than failing.
    """
    try:
        [result] = translator.translate(
            texts=[text],
            target_lang=options.target_language,
            source_lang=options.source_language or None,
            formality=options.formality,
            glossary_id=options.glossary_id,
        )
        return result, options
    except GlossaryNotFound:
        if options.glossary_id is None:
            raise
        logger.warning(
            "glossary %s vanished for %s-%s; translating without it",
            options.glossary_id,
            options.source_language,
            options.target_language,
        )
        forget_glossary(
            source_language=options.source_language, target_language=options.target_language
        )
        plain = options.without_glossary()
        [result] = translator.translate(
            texts=[text],
            target_lang=plain.target_language,
            source_lang=plain.source_language or None,
            formality=plain.formality,
        )
        return result, plain
