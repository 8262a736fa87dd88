"""Webchat fixtures: people, conversations built through the hub services, signed-in clients."""

from __future__ import annotations

import pytest
from django.test import Client

from conversations.services import post_message, start_conversation
from core.models import Role
from tests.conftest import enrol_totp, make_user


@pytest.fixture
def other_artisan(db):
    user = make_user("weaver@example.com", Role.ARTISAN, display_name="Jonas Weaver")
    enrol_totp(user)
    return user


@pytest.fixture
def other_buyer(db):
    return make_user("second-buyer@example.com", display_name="Sam Second")


@pytest.fixture
def conversation(buyer, artisan):
    return start_conversation(buyer=buyer, artisan=artisan, subject="A blue vase")


def say(conversation, author, text: str, **extra):
    """Post through the one real entry point, as every channel does."""
    return post_message(conversation=conversation, author=author, text=text, **extra).message


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def artisan_client(artisan) -> Client:
    return signed_in(artisan)


@pytest.fixture
def buyer_client(buyer) -> Client:
    return signed_in(buyer)


@pytest.fixture
def admin_client_signed_in(admin_user) -> Client:
    enrol_totp(admin_user)  # the moderation console needs an admin with 2FA
    return signed_in(admin_user)
