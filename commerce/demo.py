"""Demo shops for `make run` (called by core's seed_demo with {email: User}). Idempotent.

Pictures are drawn with Pillow at seed time into MEDIA_ROOT: no downloads.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from commerce import services
from commerce.models import ArtisanProfile, Category, LogisticsProvider
from core.models import User

Painter = Callable[[ImageDraw.ImageDraw, int, int], None]


def _picture(background: str, painter: Painter, name: str) -> ContentFile:
    width, height = 800, 600
    image = Image.new("RGB", (width, height), background)
    painter(ImageDraw.Draw(image), width, height)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return ContentFile(buffer.getvalue(), name=name)


def _bowl(glaze: str) -> Painter:
    def paint(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
        draw.rectangle([0, h * 0.72, w, h], fill="#d9cdb8")
        draw.ellipse([w * 0.2, h * 0.68, w * 0.8, h * 0.8], fill="#b8a88e")
        draw.chord([w * 0.22, h * 0.12, w * 0.78, h * 0.78], 0, 180, fill=glaze)
        draw.ellipse(
            [w * 0.22, h * 0.38, w * 0.78, h * 0.52], fill="#f3eee6", outline=glaze, width=8
        )

    return paint


def _vase(glaze: str) -> Painter:
    def paint(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
        draw.rectangle([0, h * 0.8, w, h], fill="#d9cdb8")
        draw.ellipse([w * 0.32, h * 0.3, w * 0.68, h * 0.84], fill=glaze)
        draw.rectangle([w * 0.44, h * 0.12, w * 0.56, h * 0.4], fill=glaze)
        draw.ellipse([w * 0.41, h * 0.08, w * 0.59, h * 0.16], fill="#6b3a22")

    return paint


def _weave(colours: list[str]) -> Painter:
    def paint(draw: ImageDraw.ImageDraw, w: int, h: int) -> None:
        stripe = w // 16
        for i in range(16):
            draw.rectangle([i * stripe, 0, (i + 1) * stripe, h], fill=colours[i % len(colours)])
        for j in range(0, h, 24):
            draw.line([0, j, w, j], fill="#faf7f2", width=2)

    return paint


SHOPS = {
    "potter@atelier.test": {
        "profile": {
            "shop_name": "Taller Rosa Méndez",
            "tagline": "Stoneware from the hills of Oaxaca, thrown and glazed by hand.",
            "story": "I learned the wheel from my grandmother and still dig part of my clay from the river bank behind the workshop.",
            "process": "Each piece is thrown on a kick wheel, trimmed the next day, bisque-fired, glazed with my own cobalt and ash glazes and fired again to 1240 °C.",
            "region": "Oaxaca",
            "country": "MX",
            "languages": ["es", "en"],
            "materials": "stoneware clay, cobalt glaze, wood ash glaze",
        },
        "process_pictures": [("#c8b59a", _vase("#2f5d8a"), "Glazed vases drying")],
        "products": [
            {
                "title": "Cobalt breakfast bowl",
                "description": "A deep bowl for café con leche or cereal, glazed in cobalt with a raw clay foot.",
                "price": "38.00",
                "currency": "EUR",
                "stock_quantity": 6,
                "category": "Ceramics",
                "tags": "bowl, blue, breakfast",
                "picture": ("#efe6d8", _bowl("#2f5d8a")),
                "options": [
                    services.OptionInput(
                        kind="choice",
                        label="Glaze",
                        required=True,
                        choices=[
                            services.ChoiceInput("Cobalt", "0"),
                            services.ChoiceInput("Wood ash", "4.00"),
                        ],
                    ),
                    services.OptionInput(
                        kind="text", label="Initials under the foot", max_length=4
                    ),
                ],
            },
            {
                "title": "Tall ash-glazed vase",
                "description": "Made to order: each vase is thrown for you and takes about three weeks.",
                "price": "120.00",
                "currency": "EUR",
                "made_to_order": True,
                "lead_time_days": 21,
                "category": "Ceramics",
                "tags": "vase, ash glaze",
                "picture": ("#e9e1d3", _vase("#8a7a52")),
                "options": [
                    services.OptionInput(
                        kind="choice",
                        label="Height",
                        required=True,
                        choices=[
                            services.ChoiceInput("30 cm", "0"),
                            services.ChoiceInput("40 cm", "35.00"),
                        ],
                    )
                ],
            },
            {
                "title": "Terracotta serving dish",
                "description": "A wide shallow dish for mole or salads.",
                "price": "64.00",
                "currency": "EUR",
                "stock_quantity": 2,
                "category": "Ceramics",
                "tags": "dish, terracotta",
                "picture": ("#f1e7da", _bowl("#9a3f1c")),
            },
        ],
    },
    "weaver@atelier.test": {
        "profile": {
            "shop_name": "Weber Webstube",
            "tagline": "Wool and linen woven on a 1920s floor loom in the Black Forest.",
            "story": "I restored my great-uncle's loom and weave throws, scarves and table linen in small runs.",
            "process": "Yarn is dyed in small batches with plant dyes, warped by hand and woven on a four-shaft floor loom.",
            "region": "Black Forest",
            "country": "DE",
            "languages": ["de", "en", "fr"],
            "materials": "merino wool, linen, plant dyes",
            "handmade_declaration": "with_help",
            "helpers_note": "My daughter finishes the fringes.",
        },
        "process_pictures": [
            ("#ddd3c2", _weave(["#6b4f2a", "#c8a86b", "#e9dcc0"]), "Warp on the loom")
        ],
        "products": [
            {
                "title": "Merino throw, forest stripes",
                "description": "A soft 130 × 180 cm throw in greens and wheat.",
                "price": "185.00",
                "currency": "EUR",
                "stock_quantity": 3,
                "category": "Textiles",
                "tags": "throw, blanket, wool",
                "picture": ("#ffffff", _weave(["#2f6f62", "#c8a86b", "#1f3d36"])),
                "options": [
                    services.OptionInput(kind="text", label="Woven name label", max_length=20)
                ],
            },
            {
                "title": "Linen table runner",
                "description": "Made to order in your length.",
                "price": "72.00",
                "currency": "EUR",
                "made_to_order": True,
                "lead_time_days": 14,
                "category": "Textiles",
                "tags": "linen, table",
                "picture": ("#ffffff", _weave(["#e9dcc0", "#b9a77e"])),
                "options": [
                    services.OptionInput(
                        kind="choice",
                        label="Length",
                        required=True,
                        choices=[
                            services.ChoiceInput("150 cm", "0"),
                            services.ChoiceInput("220 cm", "24.00"),
                        ],
                    )
                ],
            },
        ],
    },
}


EU = ("AT", "BE", "DE", "DK", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PL", "PT", "SE")


def _seed_shipping(artisan: User) -> None:
    """Every demo shop ships: at home, to the EU zone and to the rest of the world."""
    from commerce.services.shipping import RateInput, save_shipping_profile

    save_shipping_profile(
        artisan=artisan,
        processing_days=2,
        currency="EUR",
        free_shipping_threshold="150.00",
        rates=[
            RateInput(zone="domestic", price="6.00", transit_days_min=2, transit_days_max=4),
            RateInput(
                zone="zone", price="14.00", transit_days_min=5, transit_days_max=9, countries=EU
            ),
            RateInput(zone="world", price="25.00", transit_days_min=8, transit_days_max=15),
        ],
    )


def seed(people: dict[str, User]) -> None:
    categories = {
        name: Category.objects.get_or_create(name=name, defaults={"slug": name.lower()})[0]
        for name in ("Ceramics", "Textiles", "Home")
    }
    for email, spec in SHOPS.items():
        artisan = people.get(email)
        if artisan is None or ArtisanProfile.objects.filter(user=artisan).exists():
            continue
        profile = services.save_artisan_profile(user=artisan, **spec["profile"])
        for background, painter, caption in spec["process_pictures"]:
            services.add_process_photo(
                artisan=artisan,
                profile=profile,
                caption=caption,
                image=_picture(background, painter, "process.jpg"),
            )
        _seed_shipping(artisan)
        for item in spec["products"]:
            item = dict(item)
            background, painter = item.pop("picture")
            item["category"] = categories[item["category"]]
            options = item.pop("options", ())
            product = services.create_product(
                artisan=artisan, fields=services.ProductInput(**item), options=options
            )
            services.add_product_photo(
                artisan=artisan,
                product=product,
                alt_text=product.title,
                image=_picture(background, painter, f"{product.slug}.jpg"),
            )
    carrier = people.get("carrier@atelier.test")
    provider, _created = LogisticsProvider.objects.get_or_create(
        slug="swift-parcel",
        defaults={
            "name": "Swift Parcel Co.",
            # Demo secret: shown in docs/commerce.md for trying the signed webhook with curl.
            "webhook_secret": "demo-swift-parcel-secret",  # noqa: S106
            "tracking_url_template": "https://track.swift-parcel.example/{tracking_number}",
        },
    )
    if carrier is not None:
        provider.members.add(carrier)


def seed_marketing(people: dict[str, User]) -> None:
    """Léa follows Jonas's weaving shop, so a newcomer signed in as Jonas can send a campaign
    and read it as Léa on her updates page (Rosa's shop is left for following by hand)."""
    from commerce.models import ArtisanProfile
    from commerce.services.marketing import follow_shop

    buyer, weaver = people.get("buyer@atelier.test"), people.get("weaver@atelier.test")
    shop = ArtisanProfile.objects.filter(user=weaver).first() if weaver else None
    if buyer is not None and shop is not None:
        follow_shop(user=buyer, shop=shop)
