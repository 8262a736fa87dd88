"""Commerce write operations (services). Views, API, bots and tasks call only these.

Modules: ``catalog`` (shops, products, options), ``offers`` (custom requests, offers,
change orders), ``orders`` (status machine, production timeline, proofs), ``payments``
(checkout, webhooks, refunds), ``logistics`` (shipments, tracking webhooks), ``payouts``,
``ledger``.
"""

from commerce.services.catalog import (
    ChoiceInput,
    OptionInput,
    add_process_photo,
    add_product_photo,
    create_product,
    price_selection,
    review_authenticity_claim,
    save_artisan_profile,
    set_product_options,
    update_product,
)
from commerce.services.logistics import (
    handle_tracking_webhook,
    record_shipment_status,
    ship_order,
)
from commerce.services.offers import (
    OfferLineInput,
    accept_offer,
    decline_offer,
    expire_stale_offers,
    request_offer_changes,
    send_change_order,
    send_offer,
    submit_custom_request,
)
from commerce.services.orders import (
    ALLOWED_TRANSITIONS,
    approve_proof,
    cancel_order,
    create_product_order,
    mark_order_ready,
    payable_now,
    post_production_update,
    post_proof,
    request_proof_changes,
    transition_order,
)
from commerce.services.payments import (
    WebhookOutcome,
    confirm_dev_payment,
    handle_payment_event,
    handle_payment_webhook,
    refund_order,
    refund_payment,
    start_checkout,
)
from commerce.services.payouts import (
    approve_payout,
    available_balance,
    mark_payout_paid,
    reject_payout,
    request_payout,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "ChoiceInput",
    "OfferLineInput",
    "OptionInput",
    "WebhookOutcome",
    "accept_offer",
    "add_process_photo",
    "add_product_photo",
    "approve_payout",
    "approve_proof",
    "available_balance",
    "cancel_order",
    "confirm_dev_payment",
    "create_product",
    "create_product_order",
    "decline_offer",
    "expire_stale_offers",
    "handle_payment_event",
    "handle_payment_webhook",
    "handle_tracking_webhook",
    "mark_order_ready",
    "mark_payout_paid",
    "payable_now",
    "post_production_update",
    "post_proof",
    "price_selection",
    "record_shipment_status",
    "refund_order",
    "refund_payment",
    "reject_payout",
    "request_offer_changes",
    "request_payout",
    "request_proof_changes",
    "review_authenticity_claim",
    "save_artisan_profile",
    "send_change_order",
    "send_offer",
    "set_product_options",
    "ship_order",
    "start_checkout",
    "submit_custom_request",
    "transition_order",
    "update_product",
]
