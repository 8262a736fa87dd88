"""Consent choices: the settings form records one evidence row per change, all or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core import services
from core.models import Consent

pytestmark = pytest.mark.django_db


def _latest(user) -> dict[str, bool]:
    return {p: services.has_consent(user=user, purpose=p) for p in Consent.Purpose.values}


def test_the_settings_form_records_only_the_changed_purposes(client, buyer):
    services.record_consent(user=buyer, purpose=Consent.Purpose.TRANSLATION, granted=True)
    client.force_login(buyer)

    response = client.post("/accounts/settings/consents/", {Consent.Purpose.MARKETING_EMAIL: "on"})

    assert response.status_code == 302
    assert _latest(buyer) == {
        Consent.Purpose.MARKETING_EMAIL: True,
        Consent.Purpose.MARKETING_TELEGRAM: False,
        Consent.Purpose.MARKETING_WEB: False,
        Consent.Purpose.EMAIL_TRACKING: False,
        Consent.Purpose.TRANSLATION: False,
    }
    # One earlier row, plus marketing email on and translation off; telegram was already off.
    rows = list(Consent.objects.filter(user=buyer).values_list("purpose", "granted"))
    assert sorted(rows) == sorted(
        [
            (Consent.Purpose.TRANSLATION, True),
            (Consent.Purpose.MARKETING_EMAIL, True),
            (Consent.Purpose.TRANSLATION, False),
        ]
    )


def test_submitting_the_same_choices_again_records_nothing(buyer):
    first = services.update_consents(user=buyer, granted={Consent.Purpose.MARKETING_TELEGRAM})
    again = services.update_consents(user=buyer, granted={Consent.Purpose.MARKETING_TELEGRAM})
    assert [c.purpose for c in first] == [Consent.Purpose.MARKETING_TELEGRAM]
    assert again == []


def test_a_failure_part_way_records_none_of_the_choices(buyer, monkeypatch):
    real_record = services.record_consent

    def fail_on_translation(**kwargs):
        if kwargs["purpose"] == Consent.Purpose.TRANSLATION:
            raise RuntimeError("database went away")
        return real_record(**kwargs)

    monkeypatch.setattr(services, "record_consent", fail_on_translation)
    with pytest.raises(RuntimeError):
        services.update_consents(
            user=buyer, granted={Consent.Purpose.MARKETING_EMAIL, Consent.Purpose.TRANSLATION}
        )
    assert not Consent.objects.filter(user=buyer).exists()


def test_an_unknown_purpose_is_refused(buyer):
    with pytest.raises(ValidationError):
        services.update_consents(user=buyer, granted={"carrier_pigeon"})
    assert not Consent.objects.filter(user=buyer).exists()
