"""Personal content is ciphertext in the database (and so in every backup), readable through
the models, re-encryptable under a new key, and the inbox still finds it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from commerce import services
from commerce.models import CustomRequest, Offer, Order, ShippingAddress
from commerce.services.shipping import set_order_shipping_address
from conversations.models import Message, MessageRevision, MessageSearchTerm
from conversations.selectors import inbox
from conversations.services import edit_message, hide_message, post_message, start_conversation
from core import crypto
from core.gdpr import erase_personal_data
from tests.commerce.conftest import save_address, send
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def raw(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {connection.ops.quote_name(column)} FROM "  # noqa: S608 - test's own names
            f"{connection.ops.quote_name(model._meta.db_table)} WHERE id = %s",
            [pk],
        )
        return cursor.fetchone()[0]


def assert_ciphertext(model, pk, column: str, plain: str) -> None:
    stored = raw(model, pk, column)
    assert stored.startswith("fernet:"), f"{model.__name__}.{column} is stored in plain text"
    assert plain not in stored


def test_chat_requests_offers_and_addresses_are_ciphertext_in_the_database(
    buyer, artisan, shop, conversation
):
    # Given a message (edited once), a custom request, an offer with a note and an order
    # shipped to a saved address
    message = post_message(
        conversation=conversation, author=buyer, text="Ma porte est bleue"
    ).message
    edit_message(message=message, editor=buyer, text="Ma porte est verte")
    request = services.submit_custom_request(
        buyer=buyer, shop=shop, description="A teapot glazed like the sea at Étretat"
    )
    offer = send(artisan, request.conversation, note="Glaze tests take two weeks")
    order = services.accept_offer(buyer=buyer, offer=offer)
    address = save_address(buyer, phone="+33 6 12 34 56 78")
    set_order_shipping_address(buyer=buyer, order=order, address=address)

    # Then the database holds only ciphertext for each of them
    assert_ciphertext(Message, message.pk, "text", "verte")
    [revision] = MessageRevision.objects.filter(message=message)
    assert_ciphertext(MessageRevision, revision.pk, "text", "bleue")
    assert_ciphertext(CustomRequest, request.pk, "description", "teapot")
    assert_ciphertext(Offer, offer.pk, "note", "Glaze")
    for column, plain in [
        ("full_name", "Léa"),
        ("line1", "République"),
        ("city", "Lyon"),
        ("postal_code", "69001"),
        ("phone", "56 78"),
    ]:
        assert_ciphertext(ShippingAddress, address.pk, column, plain)
    assert_ciphertext(Order, order.pk, "shipping_address", "Lyon")

    # And the models read the plain values back
    assert Message.objects.get(pk=message.pk).text == "Ma porte est verte"
    assert CustomRequest.objects.get(pk=request.pk).description.startswith("A teapot")
    assert Order.objects.get(pk=order.pk).shipping_address["city"] == "Lyon"
    assert ShippingAddress.objects.get(pk=address.pk).phone == "+33 6 12 34 56 78"


def test_rotation_moves_every_value_to_the_new_key(settings, buyer, conversation):
    # Given values written under the current key, and a plain value left from before
    # encryption was switched on
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    written = post_message(
        conversation=conversation, author=buyer, text="sous l'ancienne clé"
    ).message
    legacy = post_message(conversation=conversation, author=buyer, text="placeholder").message
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversations_message SET text = %s WHERE id = %s",
            ["écrit en clair", legacy.pk],
        )

    # When a new key is put first and the rotation command runs
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_encryption_keys", batch_size=1, stdout=open("/dev/null", "w"))  # noqa: SIM115

    # Then, with the old key removed, everything still reads
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Message.objects.get(pk=written.pk).text == "sous l'ancienne clé"
    assert Message.objects.get(pk=legacy.pk).text == "écrit en clair"
    assert_ciphertext(Message, legacy.pk, "text", "clair")
    only_new = Fernet(new_key.encode())
    stored = raw(Message, written.pk, "text")
    assert only_new.decrypt(stored.removeprefix("fernet:").encode()).decode() == (
        "sous l'ancienne clé"
    )


def test_a_value_no_key_opens_is_an_error_not_garbage(settings, buyer, conversation):
    message = post_message(conversation=conversation, author=buyer, text="secret").message
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(Exception, match="No configured key decrypts"):
        Message.objects.get(pk=message.pk)


def test_without_keys_the_deploy_check_refuses(settings):
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = []
    assert [e.id for e in crypto.check_encryption_keys()] == ["core.E010"]
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    assert [e.id for e in crypto.check_encryption_keys()] == ["core.E011"]


# --- the inbox's blind index ------------------------------------------------------------


def found(artisan, query: str) -> list[int]:
    return [c.pk for c in inbox(user=artisan, query=query)]


@pytest.fixture
def threads(buyer, artisan, shop):
    other = make_user("sam@example.com", display_name="Sam")
    vase = start_conversation(buyer=buyer, artisan=artisan, subject="Order")
    bowl = start_conversation(buyer=other, artisan=artisan, subject="Question")
    post_message(conversation=vase, author=buyer, text="Un vase en céramique, émail COBALT?")
    post_message(conversation=bowl, author=other, text="青い花瓶をお願いします。Terracotta bowl")
    return vase, bowl


def test_search_finds_words_prefixes_case_and_accents(artisan, threads):
    vase, bowl = threads
    assert found(artisan, "cobalt") == [vase.pk]
    assert found(artisan, "Céramique") == [vase.pk]
    assert found(artisan, "ceramique email") == [vase.pk]  # accents folded, all words
    assert found(artisan, "cob") == [vase.pk]  # a typed prefix
    assert found(artisan, "terracotta") == [bowl.pk]
    assert found(artisan, "花瓶") == [bowl.pk]  # Japanese without spaces
    assert found(artisan, "cobalt terracotta") == []  # all words in one message
    assert found(artisan, "cotta") == []  # not inside a word (documented trade-off)


def test_search_follows_edits_hiding_and_erasure(buyer, artisan, threads):
    vase, _ = threads
    moderator = make_user("mod@example.com", role="admin")
    message = Message.objects.get(conversation=vase)
    edit_message(message=message, editor=buyer, text="Finalement en grès")
    assert found(artisan, "cobalt") == []
    assert found(artisan, "gres") == [vase.pk]

    hide_message(message=message, moderator=moderator)
    assert found(artisan, "gres") == []

    erase_personal_data(user=buyer)
    assert not MessageSearchTerm.objects.filter(message=message).exists()


def test_the_index_holds_no_words(threads):
    digests = set(MessageSearchTerm.objects.values_list("digest", flat=True))
    assert digests and all(len(d) == 32 and "cobalt" not in d for d in digests)


def test_rebuild_command_restores_a_lost_index(artisan, threads):
    vase, _ = threads
    MessageSearchTerm.objects.all().delete()
    call_command("rebuild_search_index", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert found(artisan, "cobalt") == [vase.pk]


def test_admin_message_search_uses_the_index(rf, threads):
    from django.contrib import admin

    vase, _ = threads
    model_admin = admin.site._registry[Message]
    results, _ = model_admin.get_search_results(rf.get("/"), Message.objects.all(), "cobalt")
    assert [m.conversation_id for m in results] == [vase.pk]
