"""Journey fixtures: the real ASGI app (uvicorn), Debian Chromium, demo-like shops, people.

Run: ``.venv/bin/python -m pytest tests/journeys -q`` (screenshots land in
``test-results/journeys/<journey>/``). Without Chromium they skip locally and fail in CI
(``ATELIER_REQUIRE_BROWSER=1``); axe-core comes from ``npm ci`` (``make axe``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyotp
import pytest
from django.utils import timezone

from core.management.commands.seed_demo import DEMO_PASSWORD
from core.models import Role, User
from tests.journeys.harness import DESKTOP, PHONE, Journey, Person


@dataclass
class Login:
    email: str
    password: str
    name: str
    lang: str
    user: User
    totp: pyotp.TOTP | None = None


def _person(email: str, role: str, name: str, lang: str, tz: str) -> Login:
    user = User.objects.create_user(
        email=email,
        password=DEMO_PASSWORD,
        role=role,
        display_name=name,
        preferred_language=lang,
        time_zone=tz,
    )
    totp = None
    if role == Role.ARTISAN:
        user.totp_secret = pyotp.random_base32()
        user.totp_confirmed_at = timezone.now()
        user.save()
        totp = pyotp.TOTP(user.totp_secret)
    return Login(email, DEMO_PASSWORD, name, lang, user, totp)


@pytest.fixture
def shops(transactional_db):
    """The demo shops (commerce.demo), owned by a French buyer's two artisans.

    Rosa (potter, Spanish, 2FA) sells the "Cobalt breakfast bowl" (38 € + "Wood ash" glaze
    4 €) and ships to France for 12 € (4–8 days, 2 days' processing); no conversation exists
    yet, so every thread in a journey is one the test opened.
    """
    from commerce import demo

    people = {
        "buyer@atelier.test": _person(
            "buyer@atelier.test", Role.BUYER, "Léa Martin", "fr", "Europe/Paris"
        ),
        "buyer-en@atelier.test": _person(
            "buyer-en@atelier.test", Role.BUYER, "Emma Brown", "en", "Europe/London"
        ),
        "potter@atelier.test": _person(
            "potter@atelier.test", Role.ARTISAN, "Rosa Méndez", "es", "America/Mexico_City"
        ),
        "weaver@atelier.test": _person(
            "weaver@atelier.test", Role.ARTISAN, "Jonas Weber", "de", "Europe/Berlin"
        ),
    }
    demo.seed({email: login.user for email, login in people.items()})
    from commerce.services.shipping import RateInput, save_shipping_profile

    for email in ("potter@atelier.test", "weaver@atelier.test"):
        save_shipping_profile(
            artisan=people[email].user,
            processing_days=2,
            currency="EUR",
            rates=[
                RateInput("domestic", "6.00", 2, 4),
                RateInput("zone", "12.00", 4, 8, countries=("FR", "ES", "DE", "BE", "IT")),
                RateInput("world", "25.00", 7, 15),
            ],
        )
    return people


@pytest.fixture
def journey(request, server):
    """The screenshot folder and step counter, named after the test module and test."""
    module = request.node.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = request.node.name.removeprefix("test_")
    return Journey(f"{module}-{name}"[:80], server)


@pytest.fixture
def people(browser, journey):
    """Factory: ``people("buyer", "fr")`` → a Person at phone width (artisans at desktop)."""
    opened: list[Person] = []

    def open_person(who: str, lang: str, *, phone: bool | None = None, tz: str = "Europe/Paris"):
        phone = who.startswith("buyer") if phone is None else phone
        person = Person(
            journey, browser, who=who, lang=lang, device=PHONE if phone else DESKTOP, tz=tz
        )
        opened.append(person)
        return person

    yield open_person
    for person in opened:
        person.close()
