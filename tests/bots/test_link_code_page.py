"""The profile page hands out a one-time code to link a Telegram account."""

import pytest
from django.urls import reverse

from bots.models import LinkCode

pytestmark = pytest.mark.django_db


def test_settings_offers_linking_and_the_page_shows_a_single_use_code(client, buyer):
    client.force_login(buyer)
    settings_page = client.get(reverse("core:settings")).content.decode()
    assert reverse("bots:telegram_link") in settings_page
    response = client.post(reverse("bots:telegram_link"))
    assert response.status_code == 200
    code = LinkCode.objects.get(user=buyer).code
    assert f"/link {code}" in response.content.decode()
    # asking again replaces the live code
    client.post(reverse("bots:telegram_link"))
    assert LinkCode.objects.filter(user=buyer, used_at__isnull=True).count() == 1
