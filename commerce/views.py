"""Commerce pages and webhook endpoints. Each view parses input, calls one service, renders."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from commerce import selectors, services
from commerce.composer import composer_start
from commerce.errors import CommerceError, InvalidInput, NotAllowed, OfferAlreadyAccepted
from commerce.forms import (
    AddressForm,
    BuyForm,
    ChangeOrderForm,
    CustomRequestForm,
    OfferForm,
    OfferLineFormSet,
    PayoutForm,
    ProductForm,
    ProductionUpdateForm,
    ProfileForm,
    ProofForm,
    ShipForm,
    ShipmentUpdateForm,
    ShopFilterForm,
    country_choices,
    offer_lines,
)
from commerce.history import order_steps
from commerce.models import (
    ArtisanProfile,
    ClaimStatus,
    LedgerEntry,
    LogisticsProvider,
    Offer,
    OfferKind,
    OfferStatus,
    OrderStatus,
    Payment,
    PayoutRequest,
    Product,
    ProductStatus,
    Proof,
    ShippingAddress,
)
from commerce.money import format_money
from commerce.option_rows import rows_from_post, rows_from_product, validate_rows, with_spare_row
from commerce.payments.types import GatewayNotConfigured, InvalidWebhook
from commerce.receipt import order_receipt
from commerce.serializers import absolute_url
from commerce.services import shipping, studio
from commerce.services.context import ask_about_product
from commerce.services.ledger import ledger_balances
from commerce.services.orders import ALLOWED_TRANSITIONS, payable_now
from commerce.services.payments import PaymentNotCaptured
from commerce.services.reviews import PHOTOS_MAX as REVIEW_PHOTOS_MAX
from commerce.services.reviews import can_review, leave_review
from conversations.models import Conversation
from conversations.services import HubError
from core.decorators import reauth_redirect, role_required, seller_required, sensitive_action
from core.pagecache import CATEGORIES, cache_public_page, shop_scope
from core.security import is_recently_authenticated

logger = logging.getLogger(__name__)
SHOP_PAGE_SIZE = 12


def conversation_path(conversation_id: int) -> str:
    """The web conversation page (served by webchat's inbox)."""
    return reverse("webchat:inbox_conversation", args=[conversation_id])


def _fail(request: HttpRequest, error: CommerceError | HubError) -> None:
    messages.error(request, error.message)


# --- Storefront ----------------------------------------------------------------------------


@cache_public_page(
    query_keys={
        "q": r".{0,100}",
        "category": r"[-\w]{0,60}",
        "region": r".{0,80}",
        "min_price": r"\d{0,7}(\.\d{1,2})?",
        "max_price": r"\d{0,7}(\.\d{1,2})?",
        "page": r"\d{1,4}",
    }
)
def shop_list(request: HttpRequest) -> HttpResponse:
    form = ShopFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_valid():
        data = form.cleaned_data
        filters = {
            "text": data["q"] or "",
            "category_slug": data["category"].slug if data["category"] else "",
            "region": data["region"] or "",
            "min_price": data["min_price"],
            "max_price": data["max_price"],
        }
    products = selectors.search_products(**filters)
    page = Paginator(products, SHOP_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "commerce/shop_list.html",
        {
            "form": form,
            "page": page,
            "query_string": query.urlencode(),
            "shops": selectors.public_shops().order_by("?")[:6] if not filters else [],
            "filtered": any(v not in (None, "") for v in filters.values()),
        },
    )


def _shop_scopes(*, slug: str, **_: Any) -> tuple[str, ...]:
    """A shop's own pages change with that shop (and the category names), not with others."""
    return (shop_scope(slug), CATEGORIES)


@cache_public_page(scopes=_shop_scopes)
def shop_profile(request: HttpRequest, slug: str) -> HttpResponse:
    shop = get_object_or_404(
        selectors.public_shops().select_related("user").prefetch_related("photos"), slug=slug
    )
    products = selectors.listed_products().filter(shop=shop)
    photos = list(shop.photos.all())
    response_hours = getattr(
        getattr(shop.user, "notification_settings", None), "usual_response_hours", None
    )
    return render(
        request,
        "commerce/shop_profile.html",
        {
            "shop": shop,
            "products": products,
            "photos": photos,
            "page_url": absolute_url(request.path),
            "og_image": _first_image_url(shop, photos),
            "response_hours": response_hours,
            "following": selectors.is_following(request.user, shop),
            "rating": selectors.rating_summary(shop=shop),
            "reviews": selectors.visible_reviews(shop=shop)[:10],
        },
    )


def _first_image_url(shop: ArtisanProfile, photos: list[Any]) -> str:
    photo = photos[0] if photos else None
    if photo:
        return absolute_url(photo.image.url)
    product_photo = (
        Product.objects.filter(shop=shop, status=ProductStatus.ACTIVE, photos__isnull=False)
        .values_list("photos__image", flat=True)
        .first()
    )
    return absolute_url(settings.MEDIA_URL + product_photo) if product_photo else ""


@cache_public_page(
    scopes=_shop_scopes,
    query_keys={"ship_to": r"[A-Za-z]{2}", "quantity": r"\d{1,2}"},
    query_prefixes={"option_": r"\d{1,12}"},  # choice ids; a text option is not cached
)
def product_detail(request: HttpRequest, slug: str, product_slug: str) -> HttpResponse:
    product = get_object_or_404(
        selectors.listed_products()
        .select_related("shop__user", "shop__shipping_profile")
        .prefetch_related("options__values", "shop__shipping_profile__rates"),
        shop__slug=slug,
        slug=product_slug,
    )
    photos = list(product.photos.all())  # prefetched by listed_products
    first_photo = photos[0] if photos else None
    shipping_profile = getattr(product.shop, "shipping_profile", None)
    home = shipping.default_address(request.user)
    picked = (request.GET.get("ship_to") or "").upper()
    country_names = dict(country_choices())
    ship_country = (
        picked
        if picked and picked in country_names
        else (home.country.code if home else shipping.shop_origin_country(product.shop))
    )
    quote = shipping.quote_shipping(
        artisan=product.shop.user,
        country=ship_country,
        subtotal=product.price,
        currency=product.currency,
        lead_time_days=product.lead_time_days,
        shop=product.shop,
    )
    return render(
        request,
        "commerce/product_detail.html",
        {
            "product": product,
            "shop": product.shop,
            "quote": quote,
            "ship_country": ship_country,
            "ship_country_name": country_names.get(ship_country, ""),
            "shipping_profile": shipping_profile,
            # Choices carried back from sign-in (or a failed order) are pre-selected.
            "buy_form": BuyForm(product=product, initial=_chosen_query(request.GET)),
            "request_form": CustomRequestForm(initial={"budget_currency": product.currency}),
            "page_url": absolute_url(request.path),
            "og_image": absolute_url(first_photo.image.url) if first_photo else "",
            "favourited": selectors.has_favourited(request.user, product),
            "rating": selectors.rating_summary(product=product),
            "reviews": selectors.visible_reviews(product=product)[:10],
        },
    )


def _chosen_query(data: Any) -> dict[str, str]:
    """The product form's choices (``option_<id>``, ``quantity``) worth carrying in a URL."""
    return {
        key: str(value)[:200]
        for key, value in data.items()
        if (key.startswith("option_") and key.removeprefix("option_").isdigit())
        or key == "quantity"
        if str(value).strip()
    }


def _product_url_with_choices(product: Product, data: Any) -> str:
    url = reverse("commerce:product", args=[product.shop.slug, product.slug])
    chosen = _chosen_query(data)
    return f"{url}?{urlencode(chosen)}" if chosen else url


def _sign_in_first(request: HttpRequest, product: Product) -> HttpResponse:
    """Signed out: sign in, then come back to the same piece with the same options picked.

    The ask/buy URLs take POST only, so ``next`` is the product page (a GET) with the
    choices in its query string; the page pre-selects them.
    """
    next_url = _product_url_with_choices(product, request.POST or request.GET)
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("commerce:product", args=[product.shop.slug, product.slug])
    messages.info(request, _("Sign in to continue; your choices are kept."))
    return redirect(f"{reverse('core:login')}?{urlencode({'next': next_url})}")


def _selections(data: Any) -> dict[str, str]:
    return {
        key.removeprefix("option_"): str(value)
        for key, value in data.items()
        if key.startswith("option_") and key.removeprefix("option_").isdigit()
    }


@require_http_methods(["GET", "POST"])
def product_ask(request: HttpRequest, slug: str, product_slug: str) -> HttpResponse:
    product = get_object_or_404(selectors.listed_products(), shop__slug=slug, slug=product_slug)
    if not request.user.is_authenticated:
        return _sign_in_first(request, product)
    if request.method != "POST":
        return redirect(_product_url_with_choices(product, request.GET))
    try:
        conversation = ask_about_product(
            buyer=request.user, product=product, selections=_selections(request.POST)
        )
    except HubError as error:
        _fail(request, error)
        return redirect(_product_url_with_choices(product, request.POST))
    return redirect(conversation_path(conversation.pk))


@require_http_methods(["GET", "POST"])
def product_buy(request: HttpRequest, slug: str, product_slug: str) -> HttpResponse:
    product = get_object_or_404(selectors.listed_products(), shop__slug=slug, slug=product_slug)
    if not request.user.is_authenticated:
        return _sign_in_first(request, product)
    if request.method != "POST":
        return redirect(_product_url_with_choices(product, request.GET))
    form = BuyForm(request.POST, product=product)
    if form.is_valid():
        try:
            order = services.create_product_order(
                buyer=request.user,
                product=product,
                selections=form.selections(),
                quantity=form.cleaned_data["quantity"],
            )
        except (CommerceError, HubError) as error:
            _fail(request, error)
        else:
            return redirect("commerce:pay", reference=order.reference)
    else:
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
    return redirect(_product_url_with_choices(product, request.POST))


@login_required
def custom_request(request: HttpRequest, slug: str) -> HttpResponse:
    shop = get_object_or_404(selectors.public_shops(), slug=slug)
    product = None
    product_id = request.GET.get("product") or request.POST.get("product")
    if product_id and str(product_id).isdigit():
        product = selectors.listed_products().filter(shop=shop, pk=int(product_id)).first()
    form = CustomRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.submit_custom_request(
                buyer=request.user,
                shop=shop,
                description=data["description"],
                budget=data["budget"],
                budget_currency=data["budget_currency"],
                deadline=data["deadline"],
                product=product,
                images=[data["image"]] if data.get("image") else [],
            )
        except (CommerceError, HubError) as error:
            _fail(request, error)
        else:
            messages.success(request, _("Your request is with the artisan. Continue in the chat."))
            return redirect(conversation_path(created.conversation_id))
    return render(
        request, "commerce/custom_request.html", {"shop": shop, "product": product, "form": form}
    )


# --- Offers -------------------------------------------------------------------------------


@login_required
def offer_detail(request: HttpRequest, offer_id: int) -> HttpResponse:
    offer = selectors.offer_for_viewer(offer_id=offer_id, user=request.user)
    versions = Offer.objects.filter(conversation=offer.conversation, kind=offer.kind)
    if offer.kind == OfferKind.CHANGE_ORDER:
        versions = versions.filter(order=offer.order)
    return render(
        request,
        "commerce/offer_detail.html",
        {
            "offer": offer,
            "lines": offer.lines.all(),
            "versions": versions.order_by("-version"),
            "can_answer": request.user.pk == offer.buyer_id
            and offer.status == OfferStatus.SENT
            and not offer.is_expired,
            "order": getattr(offer, "resulting_order", None),
            "conversation_url": conversation_path(offer.conversation_id),
            **_offer_arrival(offer),
        },
    )


def _offer_arrival(offer: Offer) -> dict[str, Any]:
    """The delivery window as it would be if the offer were accepted today."""
    if offer.kind != OfferKind.INITIAL or not offer.transit_days_max:
        return {}
    today = timezone.localdate()
    return {
        "arrives_from": today + timedelta(days=offer.lead_time_days + offer.transit_days_min),
        "arrives_to": today + timedelta(days=offer.lead_time_days + offer.transit_days_max),
    }


@login_required
@require_POST
def offer_respond(request: HttpRequest, offer_id: int, action: str) -> HttpResponse:
    offer = selectors.offer_for_viewer(offer_id=offer_id, user=request.user)
    note = request.POST.get("note", "")
    try:
        if action == "accept":
            order = services.accept_offer(buyer=request.user, offer=offer)
            if offer.kind == OfferKind.INITIAL:
                return redirect("commerce:pay", reference=order.reference)
            messages.success(request, _("Change accepted."))
            return redirect("commerce:order_detail", reference=order.reference)
        if action == "decline":
            services.decline_offer(buyer=request.user, offer=offer, note=note)
        elif action == "changes":
            services.request_offer_changes(buyer=request.user, offer=offer, note=note)
        else:
            raise Http404
    except OfferAlreadyAccepted as error:
        messages.info(request, error.message)
        if error.order_reference:
            return redirect("commerce:order_detail", reference=error.order_reference)
    except CommerceError as error:
        _fail(request, error)
    return redirect("commerce:offer_detail", offer_id=offer.pk)


# --- Paying --------------------------------------------------------------------------------


def _needs_address(order: Any) -> bool:
    """An unpaid order has no destination yet: the buyer picks one before paying."""
    return order.status == OrderStatus.PENDING_PAYMENT and not order.shipping_address


@login_required
def pay(request: HttpRequest, reference: str) -> HttpResponse:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    if order.buyer_id != request.user.pk:
        raise Http404("No such order.")
    can_change_address = order.status == OrderStatus.PENDING_PAYMENT and not order.amount_paid
    choosing = _needs_address(order) or (can_change_address and "address" in request.GET)
    saved = list(ShippingAddress.objects.filter(buyer=request.user))
    address_form = AddressForm(request.POST if request.POST.get("address") == "new" else None)
    if request.method == "POST" and can_change_address:
        choice = request.POST.get("address", "")
        try:
            if choice == "new":
                if not address_form.is_valid():
                    raise CommerceError(_("Please correct the address below."))
                destination = address_form.address_input()
            else:
                destination = next((a for a in saved if str(a.pk) == choice), None)
                if destination is None:
                    raise CommerceError(_("Choose where to send the piece."))
            shipping.set_order_shipping_address(
                buyer=request.user, order=order, address=destination
            )
        except CommerceError as error:
            if choice == "new" and address_form.is_bound and error.field in address_form.fields:
                address_form.add_error(error.field, error.message)
            elif not address_form.errors:
                _fail(request, error)
            choosing = True
        else:
            return redirect("commerce:pay", reference=order.reference)
    payable = payable_now(order)
    payment = None
    error = ""
    if payable is not None and not choosing:
        try:
            payment = services.start_checkout(buyer=request.user, order=order)
        except (CommerceError, GatewayNotConfigured) as exc:
            error = getattr(exc, "message", str(exc))
    gateway = payment.provider if payment else ""
    default = next((a for a in saved if a.is_default), None)
    return render(
        request,
        "commerce/pay.html",
        {
            "order": order,
            "snapshot": order.spec_snapshot,
            "receipt": order_receipt(order),
            "payable": payable,
            "due_display": format_money(payable.amount, order.currency) if payable else "",
            "payment": payment,
            "gateway": gateway,
            "error": error,
            "choosing_address": choosing,
            "can_use_code": can_change_address,
            "promo_error": request.session.pop(f"promo-error-{order.pk}", ""),
            "promo_prefill": request.session.pop(f"promo-code-{order.pk}", "")
            or request.session.get("campaign_code", ""),
            "can_change_address": can_change_address,
            "saved_addresses": saved,
            "selected_address": request.POST.get("address")
            or (str(default.pk) if default else ("new" if not saved else "")),
            "address_form": address_form,
            "stripe_js_url": settings.STRIPE_JS_URL,
            "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "return_url": absolute_url(reverse("commerce:pay_return", args=[order.reference])),
        },
    )


@login_required
@require_POST
@login_required
def pay_promo(request: HttpRequest, reference: str) -> HttpResponse:
    """Apply or remove a promo code on the pay page; a refusal shows under the field."""
    from commerce.services.promos import apply_promo_code, remove_promo_code

    order = selectors.order_for_viewer(reference=reference, user=request.user)
    try:
        if request.POST.get("action") == "remove":
            remove_promo_code(buyer=request.user, order=order)
            messages.success(request, _("Code removed."))
        else:
            applied = apply_promo_code(
                buyer=request.user, order=order, code=request.POST.get("code", "")
            )
            messages.success(
                request,
                _("Code %(code)s applied: %(amount)s off.")
                % {
                    "code": applied.promo_code.code,
                    "amount": format_money(applied.discount_amount, applied.currency),
                },
            )
    except CommerceError as error:
        request.session[f"promo-error-{order.pk}"] = error.message
        request.session[f"promo-code-{order.pk}"] = request.POST.get("code", "")[:32]
    return redirect("commerce:pay", reference=order.reference)


def pay_return(request: HttpRequest, reference: str) -> HttpResponse:
    """Where the buyer lands after paying; the webhook, not this page, marks the order paid."""
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    if request.GET.get("token") and order.buyer_id == request.user.pk:
        try:
            services.capture_paypal_return(
                buyer=request.user, order=order, token=request.GET["token"]
            )
        except PaymentNotCaptured as error:
            _fail(request, error)
            return redirect("commerce:pay", reference=order.reference)
        except CommerceError as error:
            _fail(request, error)
            return redirect("commerce:order_detail", reference=order.reference)
    messages.info(request, _("Thank you! We will confirm as soon as the payment provider does."))
    return redirect("commerce:order_detail", reference=order.reference)


@login_required
def dev_confirm(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = get_object_or_404(
        Payment.objects.select_related("order"), provider="dev", provider_payment_id=payment_id
    )
    if payment.order.buyer_id != request.user.pk:
        raise Http404("No such payment.")
    if request.method == "POST":
        outcome = services.confirm_dev_payment(
            buyer=request.user, payment=payment, succeed=request.POST.get("outcome") != "fail"
        )
        if outcome.outcome == "paid":
            messages.success(request, _("Payment received (dev gateway)."))
        elif outcome.outcome == "failed":
            messages.error(request, _("The test payment failed (as you asked)."))
        else:
            messages.info(
                request, _("Payment recorded: %(outcome)s.") % {"outcome": outcome.outcome}
            )
        return redirect("commerce:order_detail", reference=payment.order.reference)
    return render(
        request, "commerce/dev_confirm.html", {"payment": payment, "order": payment.order}
    )


def _webhook_response(provider: str, request: HttpRequest) -> HttpResponse:
    try:
        outcome = services.handle_payment_webhook(
            provider=provider, body=request.body, headers=request.headers
        )
    except InvalidWebhook as error:
        logger.warning("Rejected %s webhook: %s", provider, error)
        return JsonResponse({"code": "invalid_webhook", "message": str(error)}, status=400)
    except GatewayNotConfigured as error:
        return JsonResponse({"code": "not_configured", "message": str(error)}, status=503)
    return JsonResponse({"outcome": outcome.outcome})


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    return _webhook_response("stripe", request)


@csrf_exempt
@require_POST
def paypal_webhook(request: HttpRequest) -> HttpResponse:
    return _webhook_response("paypal", request)


@csrf_exempt
@require_POST
def dev_webhook(request: HttpRequest) -> HttpResponse:
    return _webhook_response("dev", request)


@csrf_exempt
@require_POST
def logistics_webhook(request: HttpRequest, provider_slug: str) -> HttpResponse:
    from commerce.services.logistics import SIGNATURE_HEADER

    try:
        shipment, applied = services.handle_tracking_webhook(
            provider_slug=provider_slug,
            body=request.body,
            signature_header=request.headers.get(SIGNATURE_HEADER, ""),
        )
    except CommerceError as error:
        return JsonResponse({"code": error.code, "message": error.message}, status=error.status)
    return JsonResponse(
        {"shipment": shipment.tracking_number, "status": shipment.status, "applied": applied}
    )


# --- Buyer orders ---------------------------------------------------------------------------


def _order_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.buyer_orders(buyer=request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "commerce/order_list.html", {"page": page})


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    if settings.REAUTH_FOR_ORDER_HISTORY:
        return sensitive_action(_order_list)(request)
    return _order_list(request)


@login_required
def order_detail(request: HttpRequest, reference: str) -> HttpResponse:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    is_buyer = order.buyer_id == request.user.pk
    return render(
        request,
        "commerce/order_detail.html",
        {
            "order": order,
            "snapshot": order.spec_snapshot,
            "events": order.events.select_related("actor"),
            "stages": order.stages.all(),
            "proofs": order.proofs.all(),
            "shipments": order.shipments.prefetch_related("events"),
            "payable": payable_now(order) if is_buyer else None,
            "is_buyer": is_buyer,
            "steps": order_steps(order, viewer_is_buyer=is_buyer),
            "open_change_orders": order.change_orders.filter(status=OfferStatus.SENT),
            "review": getattr(order, "review", None),
            "can_review": is_buyer and can_review(order, request.user),
            "review_photos_max": REVIEW_PHOTOS_MAX,
            "review_scales": [("piece_rating", _("The piece")), ("shop_rating", _("The shop"))],
            "conversation_url": conversation_path(order.conversation_id)
            if order.conversation_id
            else "",
        },
    )


@login_required
@require_POST
def review_order(request: HttpRequest, reference: str) -> HttpResponse:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    try:
        leave_review(
            buyer=request.user,
            order=order,
            piece_rating=request.POST.get("piece_rating"),
            shop_rating=request.POST.get("shop_rating"),
            text=request.POST.get("text", ""),
            photos=request.FILES.getlist("photos"),
        )
    except CommerceError as error:
        _fail(request, error)
    else:
        messages.success(
            request, _("Thank you: your review is on the piece's and the shop's pages.")
        )
    return redirect("commerce:order_detail", reference=order.reference)


@login_required
@require_POST
def proof_respond(request: HttpRequest, reference: str, proof_id: int, action: str) -> HttpResponse:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    proof = get_object_or_404(Proof, pk=proof_id, order=order)
    try:
        if action == "approve":
            services.approve_proof(buyer=request.user, proof=proof)
            messages.success(request, _("Proof approved."))
        elif action == "changes":
            services.request_proof_changes(
                buyer=request.user, proof=proof, note=request.POST.get("note", "")
            )
            messages.success(request, _("Your changes were sent to the artisan."))
        else:
            raise Http404
    except CommerceError as error:
        _fail(request, error)
    return redirect("commerce:order_detail", reference=order.reference)


# --- Studio (artisans) ---------------------------------------------------------------------------


@seller_required
def studio_orders(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    orders = selectors.artisan_orders(artisan=request.user, status=status)
    page = Paginator(orders, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "commerce/studio_orders.html",
        {"page": page, "status": status, "statuses": OrderStatus.choices},
    )


@seller_required
def studio_order(request: HttpRequest, reference: str) -> HttpResponse:
    order = selectors.order_for_viewer(reference=reference, user=request.user)
    if order.artisan_id != request.user.pk:
        raise Http404("No such order.")
    action = request.POST.get("action", "")
    if (
        request.method == "POST"
        and action in studio.REAUTH_ACTIONS
        and not is_recently_authenticated(request.session)
    ):
        # Back to this page after re-authenticating; the artisan confirms the refund again.
        return reauth_redirect(request)
    forms = {
        "production": ProductionUpdateForm(
            request.POST if action == "production" else None,
            request.FILES if action == "production" else None,
            auto_id="id_production_%s",
        ),
        "proof": ProofForm(
            request.POST if action == "proof" else None,
            request.FILES if action == "proof" else None,
            auto_id="id_proof_%s",
        ),
        # One page, four forms with a "note": ids per form so each label names its own field.
        "ship": ShipForm(request.POST if action == "ship" else None, auto_id="id_ship_%s"),
        "change": ChangeOrderForm(
            request.POST if action == "change" else None, auto_id="id_change_%s"
        ),
    }
    if request.method == "POST":
        form = forms.get(action)
        run = studio.STUDIO_ACTIONS.get(action)
        try:
            if run is None or (form is not None and not form.is_valid()):
                raise CommerceError(_("Please correct the form below."))
            data = form.cleaned_data if form is not None else {"note": request.POST.get("note", "")}
            run(artisan=request.user, order=order, data=data)
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(request, _("Saved and sent to the buyer."))
            return redirect("commerce:studio_order", reference=order.reference)
        order.refresh_from_db()
    return render(
        request,
        "commerce/studio_order.html",
        {
            "order": order,
            "snapshot": order.spec_snapshot,
            "events": order.events.select_related("actor"),
            "stages": order.stages.all(),
            "proofs": order.proofs.all(),
            "shipments": order.shipments.all(),
            "forms": forms,
            "allowed": ALLOWED_TRANSITIONS[order.status],
            "steps": order_steps(order, viewer_is_buyer=False),
            "carriers": LogisticsProvider.objects.all(),
            "conversation_url": conversation_path(order.conversation_id)
            if order.conversation_id
            else "",
        },
    )


@seller_required
def offer_composer(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_object_or_404(Conversation, pk=conversation_id, artisan=request.user)
    start = composer_start(conversation=conversation, artisan=request.user)
    quote = start.quote if start.quote and start.quote.currency == start.currency else None
    initial = {
        "currency": start.currency,
        "lead_time_days": start.lead_time_days,
        "shipping_amount": quote.amount if quote else Decimal("0"),
        "transit_days_min": (quote.processing_days + quote.transit_days_min) if quote else 0,
        "transit_days_max": (quote.processing_days + quote.transit_days_max) if quote else 0,
    }
    form = OfferForm(request.POST or None, initial=initial)
    lines = OfferLineFormSet(
        request.POST or None,
        prefix="line",
        initial=start.lines or [{"quantity": 1}],
    )
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            services.send_offer(
                artisan=request.user,
                conversation=conversation,
                lines=offer_lines(lines),
                currency=data["currency"],
                lead_time_days=data["lead_time_days"],
                valid_days=data["valid_days"],
                deposit_percent=data["deposit_percent"],
                revision_rounds_included=data["revision_rounds_included"],
                personalised=data["personalised"],
                note=data["note"],
                shipping_amount=data["shipping_amount"],
                transit_days_min=data["transit_days_min"],
                transit_days_max=data["transit_days_max"],
            )
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(request, _("Offer sent."))
            return redirect(conversation_path(conversation.pk))
    return render(
        request,
        "commerce/offer_composer.html",
        {
            "conversation": conversation,
            "form": form,
            "lines": lines,
            "start": start,
            "custom_request": start.custom_request,
            "product": start.product,
            "destination_name": dict(country_choices()).get(start.destination, ""),
            "today": timezone.localdate().isoformat(),
            "previous": Offer.objects.filter(
                conversation=conversation, kind=OfferKind.INITIAL
            ).order_by("-version")[:5],
        },
    )


@seller_required
def studio_products(request: HttpRequest) -> HttpResponse:
    shop = ArtisanProfile.objects.filter(user=request.user).first()
    products = (
        Product.objects.filter(shop=shop).prefetch_related("photos")
        if shop
        else Product.objects.none()
    )
    return render(request, "commerce/studio_products.html", {"shop": shop, "products": products})


@seller_required
def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    shop = ArtisanProfile.objects.filter(user=request.user).first()
    if shop is None:
        messages.info(request, _("Set up your shop profile first."))
        return redirect("commerce:studio_profile")
    product = get_object_or_404(Product, pk=product_id, shop=shop) if product_id else None
    initial: dict[str, Any] = {
        "currency": "EUR",
        "status": ProductStatus.ACTIVE,
        "lead_time_days": 0,
    }
    if product:
        initial = services.ProductInput.from_product(product).as_initial()
    form = ProductForm(request.POST or None, request.FILES or None, initial=initial)
    option_rows = (
        rows_from_post(request.POST) if request.method == "POST" else rows_from_product(product)
    )
    options, options_ok = validate_rows(option_rows) if request.method == "POST" else ([], True)
    if request.method == "POST" and not options_ok:
        messages.error(request, _("Some options need fixing; see the highlighted rows."))
    if request.method == "POST" and form.is_valid() and options_ok:
        data = form.cleaned_data
        fields = services.ProductInput.from_mapping(data)
        try:
            if product is None:
                product = services.create_product(
                    artisan=request.user, fields=fields, options=options
                )
            else:
                product = services.update_product(
                    artisan=request.user, product=product, fields=fields
                )
                services.set_product_options(artisan=request.user, product=product, options=options)
            if data.get("photo"):
                services.add_product_photo(
                    artisan=request.user,
                    product=product,
                    image=data["photo"],
                    alt_text=data["photo_alt"],
                )
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("commerce:studio_products")
    return render(
        request,
        "commerce/product_form.html",
        {"form": form, "product": product, "option_rows": with_spare_row(option_rows)},
    )


@seller_required
def studio_profile(request: HttpRequest) -> HttpResponse:
    profile = ArtisanProfile.objects.filter(user=request.user).first()
    initial = {}
    if profile:
        initial = {
            "shop_name": profile.shop_name,
            "tagline": profile.tagline,
            "story": profile.story,
            "process": profile.process,
            "region": profile.region,
            "country": profile.country,
            "languages": ", ".join(profile.languages),
            "materials": profile.materials,
            "handmade_declaration": profile.handmade_declaration,
            "helpers_note": profile.helpers_note,
        }
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile = services.save_artisan_profile(
                user=request.user,
                shop_name=data["shop_name"],
                tagline=data["tagline"],
                story=data["story"],
                process=data["process"],
                region=data["region"],
                country=data["country"],
                languages=data["languages"].split(","),
                materials=data["materials"],
                handmade_declaration=data["handmade_declaration"],
                helpers_note=data["helpers_note"],
            )
            if data.get("process_photo"):
                services.add_process_photo(
                    artisan=request.user, profile=profile, image=data["process_photo"]
                )
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(request, _("Profile saved."))
            return redirect("commerce:studio_profile")
    return render(request, "commerce/studio_profile.html", {"form": form, "profile": profile})


@seller_required
def studio_balance(request: HttpRequest) -> HttpResponse:
    balances = ledger_balances(artisan=request.user)
    available = {
        currency: services.available_balance(artisan=request.user, currency=currency)
        for currency in balances
    }
    return render(
        request,
        "commerce/studio_balance.html",
        {
            "balances": [
                (c, format_money(b, c), format_money(available[c], c)) for c, b in balances.items()
            ],
            "entries": LedgerEntry.objects.filter(artisan=request.user)
            .select_related("order")
            .order_by("-created_at", "-id")[:50],
            "payouts": PayoutRequest.objects.filter(artisan=request.user)[:20],
            "form": PayoutForm(initial={"currency": next(iter(balances), "EUR")}),
        },
    )


@require_POST
@seller_required
@sensitive_action
def payout_request(request: HttpRequest) -> HttpResponse:
    form = PayoutForm(request.POST)
    if form.is_valid():
        try:
            payout = services.request_payout(
                artisan=request.user,
                amount=form.cleaned_data["amount"],
                currency=form.cleaned_data["currency"],
            )
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(
                request,
                _("Withdrawal of %(amount)s requested; an admin will review it.")
                % {"amount": payout.amount_display},
            )
    else:
        messages.error(request, _("Enter an amount and a currency."))
    return redirect("commerce:studio_balance")


# --- Logistics partners and admins -----------------------------------------------------------


@role_required("logistics", "admin")
def logistics_dashboard(request: HttpRequest) -> HttpResponse:
    shipments = selectors.shipments_for_partner(user=request.user).prefetch_related("events")
    page = Paginator(shipments, 30).get_page(request.GET.get("page"))
    return render(request, "commerce/logistics.html", {"page": page, "form": ShipmentUpdateForm()})


@require_POST
@role_required("logistics", "admin")
def logistics_update(request: HttpRequest, shipment_id: int) -> HttpResponse:
    shipment = get_object_or_404(selectors.shipments_for_partner(user=request.user), pk=shipment_id)
    form = ShipmentUpdateForm(request.POST)
    if form.is_valid():
        try:
            moved = services.record_shipment_status(
                shipment=shipment,
                status=form.cleaned_data["status"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except CommerceError as error:
            _fail(request, error)
        else:
            if moved:
                messages.success(
                    request,
                    _("%(tracking_number)s updated.")
                    % {"tracking_number": shipment.tracking_number},
                )
            else:
                messages.info(
                    request, _("That status is not newer than the current one; nothing changed.")
                )
    return redirect("commerce:logistics")


@role_required("admin")
def authenticity_queue(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        profile = get_object_or_404(ArtisanProfile, pk=request.POST.get("profile"))
        try:
            services.review_authenticity_claim(
                admin=request.user,
                profile=profile,
                status=request.POST.get("status", ""),
                note=request.POST.get("note", ""),
            )
        except CommerceError as error:
            _fail(request, error)
        else:
            messages.success(
                request, _("%(shop_name)s: review saved.") % {"shop_name": profile.shop_name}
            )
        return redirect("commerce:authenticity_queue")
    return render(
        request,
        "commerce/authenticity_queue.html",
        {
            "pending": ArtisanProfile.objects.filter(
                claim_status=ClaimStatus.PENDING
            ).select_related("user"),
            "recent": ArtisanProfile.objects.exclude(claim_status=ClaimStatus.PENDING).order_by(
                "-claim_reviewed_at"
            )[:20],
        },
    )


def listing_translations_page(
    request: HttpRequest,
    *,
    obj: Any,
    fields: tuple[str, ...],
    labels: dict[str, str],
    context: dict[str, Any],
    here: str,
    editable: bool = True,
    source_language: str = "",
) -> HttpResponse:
    """The artisan reviews the machine translations of a listing (a product, a campaign)
    and writes their own; theirs are never replaced. ``here`` is the page's own URL."""
    from django.utils.translation import get_language_info

    from commerce.errors import CommerceError as _Error
    from commerce.translation import (
        listing_languages,
        localized,
        override_listing_translation,
        revert_listing_translation,
    )

    if request.method == "POST":
        field, language = request.POST.get("field", ""), request.POST.get("language", "")
        try:
            if not editable:
                raise NotAllowed(_("A campaign cannot be edited once sending has started."))
            if field not in fields:
                raise InvalidInput(_("This field is not translated."), field="field")
            if request.POST.get("action") == "revert":
                revert_listing_translation(
                    artisan=request.user, obj=obj, field=field, language=language
                )
                messages.success(request, _("Back to the machine translation."))
            else:
                override_listing_translation(
                    artisan=request.user,
                    obj=obj,
                    field=field,
                    language=language,
                    text=request.POST.get("text", ""),
                )
                messages.success(request, _("Your translation is saved."))
        except _Error as exc:
            messages.error(request, str(exc))
        return redirect(here)
    rows = [
        {
            "language": code,
            "language_name": get_language_info(code)["name_local"],
            "fields": [
                {"name": name, "label": labels[name], "loc": localized(obj, name, code)}
                for name in fields
            ],
        }
        for code in listing_languages()
        if code != source_language.split("-")[0]  # nobody translates into the original
    ]
    return render(
        request,
        "commerce/listing_translations.html",
        {**context, "rows": rows, "editable": editable},
    )


@seller_required
def product_translations(request: HttpRequest, product_id: int) -> HttpResponse:
    from commerce.translation import translatable_fields

    shop = get_object_or_404(ArtisanProfile, user=request.user)
    product = get_object_or_404(Product, pk=product_id, shop=shop)
    fields = translatable_fields(product)
    return listing_translations_page(
        request,
        obj=product,
        fields=fields,
        labels={name: str(product._meta.get_field(name).verbose_name) for name in fields},
        context={
            "shop": shop,
            "title": product.title,
            "back_url": reverse("commerce:product_edit", args=[product.pk]),
            "intro": _(
                "Buyers see your listing in their language. Check the machine translations "
                "and write your own where you know better: yours are never replaced."
            ),
        },
        here=reverse("commerce:product_translations", args=[product.pk]),
    )
