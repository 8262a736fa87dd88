"""What the anonymous page cache (core/pagecache.py) must forget when the catalogue changes.

Every save or delete of something a public page shows bumps the catalogue-wide generation
and the generation of the shop it belongs to: the shop itself, its process photos, its
products with their photos, options and choices, its shipping profile and rates, its
reviews, categories (every page that names one) and listing translations. Writes that bypass
``save()`` (``QuerySet.update``) call ``shop_changed`` / ``content_changed`` themselves.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save

from commerce.models import (
    ArtisanProfile,
    Category,
    ChoiceValue,
    CustomizationOption,
    ProcessPhoto,
    Product,
    ProductPhoto,
    Review,
    ReviewPhoto,
    ShippingProfile,
    ShippingRate,
)
from conversations.models import ContentTranslation
from core.pagecache import CATEGORIES, bump, enabled, shop_scope

# The path from each model to the shop (ArtisanProfile) whose pages show it.
SHOP_PATHS: dict[type[models.Model], str] = {
    Product: "shop",
    ProductPhoto: "product__shop",
    CustomizationOption: "product__shop",
    ChoiceValue: "option__product__shop",
    ProcessPhoto: "profile",
    ShippingProfile: "shop",
    ShippingRate: "profile__shop",
    Review: "shop",
    ReviewPhoto: "review__shop",
}
# Listing translations, by content type label, to the path from that model to its shop.
TRANSLATED_SHOP_PATHS = {"commerce.product": (Product, "shop"), "commerce.artisanprofile": None}


def _slug_via(model: type[models.Model], pk: Any, path: str) -> str | None:
    """The shop slug reached from ``model`` row ``pk`` along ``path`` ("" = it is the shop)."""
    if pk is None:
        return None
    field = f"{path}__slug" if path else "slug"
    return model._default_manager.filter(pk=pk).values_list(field, flat=True).first()


def shop_changed(*slugs: str | None) -> None:
    """These shops' pages (and every catalogue-wide page) are out of date."""
    bump(*(shop_scope(slug) for slug in slugs if slug))


def shop_of(instance: models.Model) -> str | None:
    """The slug of the shop whose pages show ``instance`` (one small query)."""
    if isinstance(instance, ArtisanProfile):
        return instance.slug
    path = SHOP_PATHS.get(type(instance))
    if path is None:
        return None
    first, _, rest = path.partition("__")
    related = instance._meta.get_field(first).related_model
    return _slug_via(related, getattr(instance, f"{first}_id"), rest)


def content_changed(content_type: ContentType, object_id: int) -> None:
    """A listing translation of this object changed."""
    label = f"{content_type.app_label}.{content_type.model}"
    if not enabled() or label not in TRANSLATED_SHOP_PATHS:
        return
    target = TRANSLATED_SHOP_PATHS[label]
    if target is None:
        shop_changed(_slug_via(ArtisanProfile, object_id, ""))
    else:
        model, path = target
        shop_changed(_slug_via(model, object_id, path))


def _on_change(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    if not enabled():
        return
    if sender is Category:
        bump(CATEGORIES)
    elif sender is ContentTranslation:
        content_changed(
            ContentType.objects.get_for_id(instance.content_type_id), instance.object_id
        )
    else:
        shop_changed(shop_of(instance))


def _before_profile_save(
    sender: type[models.Model], instance: ArtisanProfile, **kwargs: Any
) -> None:
    """A renamed shop: its pages under the old slug go too."""
    if enabled() and instance.pk and not kwargs.get("raw"):
        old = _slug_via(ArtisanProfile, instance.pk, "")
        if old and old != instance.slug:
            shop_changed(old)


def connect() -> None:
    """Called once from CommerceConfig.ready()."""
    for model in (*SHOP_PATHS, ArtisanProfile, Category, ContentTranslation):
        uid = f"page-cache-{model._meta.label_lower}"
        post_save.connect(_on_change, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"{uid}-delete")
    pre_save.connect(_before_profile_save, sender=ArtisanProfile, dispatch_uid="page-cache-rename")
