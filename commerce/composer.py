"""What the artisan's offer composer starts from: the conversation's custom request or the
product the buyer asked about (with the options they picked), and a shipping quote for the
buyer's default address. Reads only; sending goes through ``services.send_offer``."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from commerce.models import ChoiceValue, CustomizationOption, CustomRequest, OptionKind, Product
from commerce.services.shipping import (
    ShippingQuote,
    default_address,
    origin_country,
    quote_shipping,
)
from conversations.models import Conversation, Message


@dataclass
class ComposerStart:
    product: Product | None
    custom_request: CustomRequest | None
    currency: str
    lead_time_days: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    quote: ShippingQuote | None = None
    destination: str = ""
    destination_known: bool = False

    @property
    def subtotal(self) -> Decimal:
        """The lines' sum; a line still without a price (a request with no budget) counts 0."""
        total = Decimal("0")
        for line in self.lines:
            try:
                total += Decimal(str(line["unit_price"])) * int(line["quantity"])
            except (InvalidOperation, ValueError):
                continue
        return total


def _latest_context(conversation: Conversation) -> dict[str, Any]:
    """The newest context card (product + chosen options) posted in the thread, if any."""
    message = (
        Message.objects.filter(conversation=conversation, payload__type="context")
        .order_by("-seq")
        .only("payload")
        .first()
    )
    return dict(message.payload) if message else {}


def _option_lines(product: Product, options: list[dict[str, Any]]) -> tuple[str, list[dict]]:
    """Free-text answers join the piece's description; paid choices become their own lines."""
    suffixes: list[str] = []
    extra: list[dict[str, Any]] = []
    known = {o.pk: o for o in CustomizationOption.objects.filter(product=product)}
    values = {
        v.pk: v
        for v in ChoiceValue.objects.filter(option__product=product).select_related("option")
    }
    for chosen in options:
        option = known.get(chosen.get("option_id"))
        if option is None:
            continue
        if option.kind == OptionKind.TEXT:
            if chosen.get("text"):
                suffixes.append(f"{option.label}: {chosen['text']}")
            continue
        value = values.get(chosen.get("value_id"))
        if value is None:
            continue
        if value.price_delta > 0:
            extra.append(
                {
                    "description": f"{option.label}: {value.label}"[:200],
                    "quantity": 1,
                    "unit_price": value.price_delta,
                }
            )
        else:
            suffixes.append(f"{option.label}: {value.label}")
    return "; ".join(suffixes), extra


def composer_start(*, conversation: Conversation, artisan: Any) -> ComposerStart:
    request = conversation.custom_requests.order_by("-created_at").first()
    context = _latest_context(conversation)
    product = request.product if request and request.product_id else None
    options: list[dict[str, Any]] = []
    if context.get("product_id") and (product is None or product.pk == context["product_id"]):
        product = (
            product or Product.objects.filter(pk=context["product_id"], shop__user=artisan).first()
        )
        options = list(context.get("options") or [])
    if product is None and conversation.context_type == "product" and conversation.context_id:
        product = Product.objects.filter(pk=conversation.context_id, shop__user=artisan).first()
    currency = (
        product.currency
        if product
        else (request.budget_currency if request and request.budget_currency else "EUR")
    )
    lines: list[dict[str, Any]] = []
    if product is not None:
        suffix, extra = _option_lines(product, options)
        base = product.price + sum(
            (
                v.price_delta
                for v in ChoiceValue.objects.filter(
                    pk__in=[o.get("value_id") for o in options if o.get("value_id")],
                    option__product=product,
                    price_delta__lt=0,
                )
            ),
            Decimal("0"),
        )
        description = f"{product.title} — {suffix}" if suffix else product.title
        lines.append({"description": description[:200], "quantity": 1, "unit_price": base})
        lines += extra
    elif request is not None:
        first_line = request.description.strip().splitlines()[0] if request.description else ""
        lines.append(
            {
                "description": first_line[:200],
                "quantity": 1,
                "unit_price": request.budget or "",
            }
        )
    start = ComposerStart(
        product=product,
        custom_request=request,
        currency=currency,
        lead_time_days=product.lead_time_days if product else 0,
        lines=lines,
    )
    home = default_address(conversation.buyer)
    start.destination_known = home is not None
    start.destination = home.country.code if home else origin_country(artisan)
    start.quote = quote_shipping(
        artisan=artisan,
        country=start.destination,
        subtotal=start.subtotal,
        currency=currency,
    )
    return start
