"""Hub-owned inbox settings (quick replies, labels, notification settings) and the flag-word
list: the services the chat pages call, with their errors in the reader's language."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from conversations import inbox_settings
from conversations.models import ConversationLabel, FlagWord
from conversations.services import (
    HubError,
    add_flag_word,
    delete_flag_word,
    set_flag_word_active,
)

pytestmark = pytest.mark.django_db


def test_a_quick_reply_is_saved_and_only_its_owner_may_change_it(artisan, buyer):
    reply = inbox_settings.save_quick_reply(owner=artisan, title=" Shipping ", text="3 days")
    assert (reply.title, reply.text) == ("Shipping", "3 days")
    with pytest.raises(PermissionDenied):
        inbox_settings.delete_quick_reply(owner=buyer, quick_reply=reply)
    inbox_settings.delete_quick_reply(owner=artisan, quick_reply=reply)
    assert not artisan.quick_replies.exists()


def test_an_empty_quick_reply_is_refused_in_the_readers_language(artisan):
    with translation.override("fr"), pytest.raises(HubError) as error:
        inbox_settings.save_quick_reply(owner=artisan, title="  ", text="x")
    assert error.value.message == "Une réponse rapide a besoin d’un titre et d’un texte."
    assert error.value.field == "title"


def test_labels_are_private_and_capped(conversation, buyer, artisan):
    for n in range(inbox_settings.MAX_LABELS_PER_CONVERSATION):
        inbox_settings.add_label(conversation=conversation, owner=artisan, name=f"tag {n}")
    # Adding an existing one again is fine; an eleventh is not
    inbox_settings.add_label(conversation=conversation, owner=artisan, name="tag 0")
    with pytest.raises(HubError) as error:
        inbox_settings.add_label(conversation=conversation, owner=artisan, name="one more")
    assert error.value.message == "A conversation can have at most 10 labels."
    assert ConversationLabel.objects.filter(owner=buyer).count() == 0
    inbox_settings.remove_label(conversation=conversation, owner=artisan, name="tag 0")
    assert ConversationLabel.objects.filter(owner=artisan).count() == 9


def test_quiet_hours_need_both_ends(buyer):
    with pytest.raises(HubError) as error:
        inbox_settings.update_notification_settings(
            user=buyer,
            email_enabled=True,
            telegram_enabled=False,
            quiet_start=time(22, 0),
            quiet_end=None,
        )
    assert error.value.field == "quiet_end"
    prefs = inbox_settings.update_notification_settings(
        user=buyer,
        email_enabled=False,
        telegram_enabled=True,
        quiet_start=time(22, 0),
        quiet_end=time(7, 0),
    )
    assert (prefs.email_enabled, prefs.quiet_end) == (False, time(7, 0))


def test_only_artisans_have_an_away_reply(buyer):
    with pytest.raises(PermissionDenied):
        inbox_settings.update_notification_settings(
            user=buyer,
            email_enabled=True,
            telegram_enabled=False,
            quiet_start=None,
            quiet_end=None,
            away_enabled=True,
            away_message="Back Monday",
        )


def test_moderators_manage_the_flag_word_list(admin_user, buyer):
    word = add_flag_word(moderator=admin_user, phrase="  Pay   ME Direct ", reason="")
    assert (word.phrase, word.reason) == ("pay me direct", "word list")
    with translation.override("de"), pytest.raises(HubError) as error:
        add_flag_word(moderator=admin_user, phrase="pay me direct", reason="again")
    assert error.value.message == "Dieser Ausdruck steht bereits auf der Liste."
    with pytest.raises(PermissionDenied):
        set_flag_word_active(moderator=buyer, flag_word=word, active=False)
    set_flag_word_active(moderator=admin_user, flag_word=word, active=False)
    assert FlagWord.objects.get(pk=word.pk).active is False
    delete_flag_word(moderator=admin_user, flag_word=word)
    assert not FlagWord.objects.exists()
