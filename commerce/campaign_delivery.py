"""A campaign as one recipient reads it, and commerce's own channels (updates page, email).

The artisan's text is shown in the reader's language where a translation is ready
(``commerce.translation``, the same machinery as listings), else as written; everything
around it (subject, buttons, the unsubscribe line) is a translatable string rendered in the
reader's language at send or display time. Links carry a signed per-recipient token, so a
click is counted for that person and an unsubscribe needs no sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from commerce.campaign_channels import CampaignChannelSpec, Outcome, register_campaign_channel
from commerce.models import Campaign, CampaignChannel, CampaignRecipient
from commerce.serializers import absolute_url
from core import l10n
from core.models import Consent, User
from core.services import has_consent


@dataclass(frozen=True)
class CampaignView:
    """Everything a channel shows, already in the reader's language."""

    subject: str
    shop_name: str
    title: str
    body: str
    is_translated: bool
    original: str
    product_title: str
    product_price: str
    link_url: str
    link_label: str
    unsubscribe_url: str
    unsubscribe_label: str
    why_line: str
    promo_line: str = ""
    # The translation is the artisan's own wording (not labelled "machine translated").
    is_own_translation: bool = False
    # The campaign's picture (absolute like the links when ``absolute``) and its description
    # in the reader's language; empty without a picture.
    image_url: str = ""
    image_alt: str = ""
    # Email only, for people who agreed to EMAIL_TRACKING: a 1×1 image counting the open.
    open_pixel_url: str = ""


def reader_language(user: User | None) -> str:
    preferred = getattr(user, "preferred_language", "") if user is not None else ""
    return preferred or settings.LANGUAGE_CODE


def render_campaign(
    campaign: Campaign,
    *,
    reader: User | None,
    recipient: CampaignRecipient | None,
    absolute: bool = True,
    variant: str = "",
    language: str = "",
) -> CampaignView:
    """``absolute``: links for elsewhere (email, Telegram) carry ``SITE_URL``; the pages
    themselves link by path, so they work on whatever host serves them. The version is the
    recipient's (an A/B test), else ``variant`` (a preview or a test send), else A. The
    language is the reader's, else ``language`` (the public landing page's visitor)."""
    from commerce.services.marketing import recipient_token
    from commerce.translation import localized

    language = language or reader_language(reader)
    shop = campaign.shop
    with translation.override(language):
        version = (recipient.variant if recipient is not None else variant) or "a"
        field = "body_b" if version == "b" and campaign.is_ab_test else "body"
        body = localized(campaign, field, language)
        title = localized(campaign, "title", language).text
        token = recipient_token(recipient) if recipient is not None else ""
        product = campaign.product
        if product is not None:
            product_title = localized(product, "title", language).text
            price = l10n.format_money(product.price, product.currency)
            target_label = _("See the piece")
        else:
            product_title, price, target_label = "", "", _("Visit the shop")
        full = absolute_url if absolute else str
        image_url = full(campaign.image.url) if campaign.image else ""
        image_alt = localized(campaign, "image_alt", language).text if image_url else ""
        if token:
            link = full(reverse("commerce:campaign_click", args=[token]))
            unsubscribe = full(reverse("commerce:campaign_unsubscribe", args=[token]))
        else:  # a test send, a preview or the landing page: plain links, nothing to count
            link = full(target_path(campaign))
            unsubscribe = ""
        return CampaignView(
            subject=_("News from %(shop)s: %(title)s") % {"shop": shop.shop_name, "title": title},
            shop_name=shop.shop_name,
            title=title,
            body=body.text,
            is_translated=body.is_translated,
            original=body.original,
            product_title=product_title,
            product_price=price,
            link_url=link,
            link_label=target_label,
            unsubscribe_url=unsubscribe,
            unsubscribe_label=_("Unsubscribe from these messages"),
            why_line=_("You get this because you agreed to news from shops on Atelier."),
            promo_line=_promo_line(campaign.promo_code),
            is_own_translation=body.is_translated and body.is_manual_override,
            image_url=image_url,
            image_alt=(image_alt or title) if image_url else "",
        )


def landing_path(campaign: Campaign) -> str:
    """The campaign's public page (``commerce.campaign_landing``): where its signed links lead,
    and what people share."""
    return reverse("commerce:campaign_landing", args=[campaign.shop.slug, campaign.pk])


def target_path(campaign: Campaign) -> str:
    """What the campaign is about: its featured piece, else the shop."""
    if campaign.product is not None:
        return reverse("commerce:product", args=[campaign.shop.slug, campaign.product.slug])
    return reverse("commerce:shop_profile", args=[campaign.shop.slug])


def _promo_line(promo) -> str:
    """The offer in the reader's language (called inside their translation override)."""
    if promo is None:
        return ""
    from commerce.models import PromoKind

    if promo.kind == PromoKind.PERCENT:
        off = l10n.format_percentage(promo.value)
    else:
        off = l10n.format_money(promo.value, promo.currency)
    line = _("Use the code %(code)s at checkout: %(off)s off.") % {"code": promo.code, "off": off}
    if promo.ends_at is not None:
        line += " " + _("Until %(date)s.") % {"date": l10n.format_date(promo.ends_at)}
    return line


# --- the updates page ---------------------------------------------------------------------------


def send_to_updates_page(recipient: CampaignRecipient) -> Outcome:
    """The row itself is the entry on the buyer's updates page: delivered once it is ``sent``."""
    return Outcome(sent=True, external_id=f"web-{recipient.pk}")


# --- email ------------------------------------------------------------------------------------


def _email(
    view: CampaignView, *, to: str, language: str, message_id: str
) -> EmailMultiAlternatives:
    with translation.override(language):
        context = {"view": view}
        text = render_to_string("commerce/email/campaign.txt", context)
        html = render_to_string("commerce/email/campaign.html", context)
    headers = {"Message-ID": message_id}
    if view.unsubscribe_url:
        # RFC 2369 + RFC 8058: mail clients show "Unsubscribe" and POST to it in one tap.
        headers["List-Unsubscribe"] = f"<{view.unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(subject=view.subject, body=text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def send_by_email(recipient: CampaignRecipient) -> Outcome:
    user = recipient.user
    if not user.email:
        return Outcome(sent=False, permanent=True, reason="no_address")
    view = render_campaign(recipient.campaign, reader=user, recipient=recipient)
    if has_consent(user=user, purpose=Consent.Purpose.EMAIL_TRACKING):
        from commerce.services.marketing import recipient_token

        pixel = reverse("commerce:campaign_open_pixel", args=[recipient_token(recipient)])
        view = replace(view, open_pixel_url=absolute_url(pixel))
    # A stable Message-ID: a resend after a crash is recognisable as the same message.
    message_id = (
        f"<campaign-{recipient.campaign_id}-{recipient.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>"
    )
    _email(view, to=user.email, language=reader_language(user), message_id=message_id).send()
    return Outcome(sent=True, external_id=message_id)


def send_test_email(*, campaign: Campaign, artisan: User, variant: str = "a") -> None:
    """One test email; an A/B test sends one per version, each marked in its subject."""
    view = render_campaign(campaign, reader=artisan, recipient=None, variant=variant)
    with translation.override(reader_language(artisan)):
        subject = _("[Test] %(subject)s") % {"subject": view.subject}
        if campaign.is_ab_test:
            subject = _("[Test, version %(version)s] %(subject)s") % {
                "version": variant.upper(),
                "subject": view.subject,
            }
        view = replace(view, subject=subject)
    _email(
        view,
        to=artisan.email,
        language=reader_language(artisan),
        message_id=f"<campaign-{campaign.pk}-test-{variant}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>",
    ).send()


def register_commerce_channels() -> None:
    register_campaign_channel(
        CampaignChannelSpec(
            name=CampaignChannel.WEB,
            consent_purpose=Consent.Purpose.MARKETING_WEB,
            send=send_to_updates_page,
        )
    )
    register_campaign_channel(
        CampaignChannelSpec(
            name=CampaignChannel.EMAIL,
            consent_purpose=Consent.Purpose.MARKETING_EMAIL,
            send=send_by_email,
            reachable=lambda users: users.exclude(email=""),
        )
    )
