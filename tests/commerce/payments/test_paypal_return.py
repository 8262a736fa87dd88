"""The buyer's return from PayPal: capture through the payments service, errors explained.

Runs the real PayPal gateway against the loopback stand-in (no internet)."""

from __future__ import annotations

import pytest

from commerce import services
from commerce.models import Payment, PaymentStatus
from tests.standins import paypal_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def paypal_selected(settings, paypal_api):
    settings.PAYMENT_GATEWAY = "paypal"
    settings.PAYPAL_CLIENT_ID = paypal_server.CLIENT_ID
    settings.PAYPAL_CLIENT_SECRET = paypal_server.CLIENT_SECRET
    settings.PAYPAL_WEBHOOK_ID = paypal_server.WEBHOOK_ID
    settings.PAYPAL_API_BASE = paypal_api.base_url
    settings.PAYPAL_MAX_RETRIES = 0
    return paypal_api


@pytest.fixture
def paypal_payment(paypal_selected, buyer, order) -> Payment:
    payment = services.start_checkout(buyer=buyer, order=order)
    assert payment.provider == "paypal"
    return payment


def _return(client, buyer, order, token):
    client.force_login(buyer)
    response = client.get(f"/pay/{order.reference}/return/?token={token}", follow=False)
    flashes = [str(m) for m in response.wsgi_request._messages]
    return response, flashes


def test_an_approved_payment_is_captured_and_the_webhook_marks_it_paid(
    client, buyer, order, paypal_payment, paypal_selected
):
    paypal_selected.approve_order(paypal_payment.provider_payment_id)

    response, flashes = _return(client, buyer, order, paypal_payment.provider_payment_id)

    assert response["Location"] == f"/orders/{order.reference}/"
    assert flashes == ["Thank you! We will confirm as soon as the payment provider does."]
    capture = [r for r in paypal_selected.requests if r["path"].endswith("/capture")]
    assert [r["paypal_request_id"] for r in capture] == [
        f"capture:{paypal_payment.idempotency_key}"
    ]
    # The capture answer is informational: the payment stays pending until the webhook
    paypal_payment.refresh_from_db()
    assert paypal_payment.status == PaymentStatus.PENDING


def test_a_declined_capture_is_recorded_and_the_buyer_sent_back_to_pay(
    client, buyer, order, paypal_payment, paypal_selected
):
    paypal_selected.approve_order(paypal_payment.provider_payment_id, decline_on_capture=True)

    response, flashes = _return(client, buyer, order, paypal_payment.provider_payment_id)

    assert response["Location"] == f"/pay/{order.reference}/"
    assert flashes == [
        "PayPal declined the payment, so nothing was charged. Please pay again, with another "
        "card or PayPal account if you can."
    ]
    paypal_payment.refresh_from_db()
    assert paypal_payment.status == PaymentStatus.FAILED
    # The next visit to the pay page opens a fresh attempt with PayPal
    fresh = services.start_checkout(buyer=buyer, order=order)
    assert fresh.pk != paypal_payment.pk and fresh.provider_payment_id


def test_paypal_unreachable_keeps_the_payment_open_and_says_so_in_french(
    client, buyer, order, paypal_payment, paypal_selected, caplog
):
    paypal_selected.approve_order(paypal_payment.provider_payment_id)
    paypal_selected.fail_next_requests = 5
    buyer.preferred_language = "fr"
    buyer.save(update_fields=["preferred_language"])

    response, flashes = _return(client, buyer, order, paypal_payment.provider_payment_id)

    assert response["Location"] == f"/orders/{order.reference}/"
    assert flashes == [
        "Nous n’avons pas pu joindre PayPal pour finaliser votre paiement. Si vous l’avez "
        "approuvé, nous le confirmerons dès que PayPal le fera ; sinon, réessayez dans un instant."
    ]
    assert any("PayPal capture failed" in r.getMessage() for r in caplog.records)
    paypal_payment.refresh_from_db()
    assert paypal_payment.status == PaymentStatus.PENDING


def test_a_capture_of_an_unapproved_order_is_refused_but_the_attempt_stays_open(
    buyer, order, paypal_payment
):
    with pytest.raises(services.payments.PaymentNotCaptured) as error:
        services.capture_paypal_return(
            buyer=buyer, order=order, token=paypal_payment.provider_payment_id
        )
    assert error.value.code == "payment_not_captured"
    paypal_payment.refresh_from_db()
    assert paypal_payment.status == PaymentStatus.PENDING


def test_an_unknown_token_or_a_settled_payment_captures_nothing(
    buyer, order, paypal_payment, paypal_selected
):
    assert (
        services.capture_paypal_return(buyer=buyer, order=order, token="NOT-OURS")
        == "nothing_to_capture"
    )
    assert not [r for r in paypal_selected.requests if r["path"].endswith("/capture")]


def test_only_the_buyer_may_capture(stranger, order, paypal_payment):
    with pytest.raises(services.payments.NotAllowed):
        services.capture_paypal_return(
            buyer=stranger, order=order, token=paypal_payment.provider_payment_id
        )
