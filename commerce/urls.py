from django.conf import settings
from django.urls import path

from commerce import marketing_views, shipping_views, views

app_name = "commerce"

urlpatterns = [
    # Storefront
    path("shop/", views.shop_list, name="shop"),
    path("shop/<slug:slug>/", views.shop_profile, name="shop_profile"),
    path("shop/<slug:slug>/request/", views.custom_request, name="custom_request"),
    path("shop/<slug:slug>/follow/", marketing_views.follow, name="follow"),
    path(
        "shop/<slug:slug>/news/<int:campaign_id>/",
        marketing_views.campaign_landing,
        name="campaign_landing",
    ),
    path("shop/<slug:slug>/<slug:product_slug>/", views.product_detail, name="product"),
    path("shop/<slug:slug>/<slug:product_slug>/ask/", views.product_ask, name="product_ask"),
    path("shop/<slug:slug>/<slug:product_slug>/buy/", views.product_buy, name="product_buy"),
    path(
        "shop/<slug:slug>/<slug:product_slug>/favourite/",
        marketing_views.favourite,
        name="favourite",
    ),
    # Shop news: the buyer's updates page and the signed links in every campaign message
    path("updates/", marketing_views.updates, name="updates"),
    path(
        "updates/<int:recipient_id>/reply/", marketing_views.campaign_reply, name="campaign_reply"
    ),
    path("news/go/<str:token>/", marketing_views.campaign_click, name="campaign_click"),
    path(
        "news/open/<str:token>.gif", marketing_views.campaign_open_pixel, name="campaign_open_pixel"
    ),
    path(
        "news/unsubscribe/<str:token>/",
        marketing_views.campaign_unsubscribe,
        name="campaign_unsubscribe",
    ),
    # Offers (parties only)
    path("offers/<int:offer_id>/", views.offer_detail, name="offer_detail"),
    path("offers/<int:offer_id>/<str:action>/", views.offer_respond, name="offer_respond"),
    # Paying
    path("pay/<str:reference>/", views.pay, name="pay"),
    path("pay/<str:reference>/return/", views.pay_return, name="pay_return"),
    path("pay/<str:reference>/code/", views.pay_promo, name="pay_promo"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("webhooks/paypal/", views.paypal_webhook, name="paypal_webhook"),
    path(
        "webhooks/logistics/<slug:provider_slug>/",
        views.logistics_webhook,
        name="logistics_webhook",
    ),
    # Buyer's address book
    path("accounts/addresses/", shipping_views.addresses, name="addresses"),
    path("accounts/addresses/<int:address_id>/", shipping_views.address_edit, name="address_edit"),
    path(
        "accounts/addresses/<int:address_id>/delete/",
        shipping_views.address_delete,
        name="address_delete",
    ),
    path(
        "accounts/addresses/<int:address_id>/default/",
        shipping_views.address_default,
        name="address_default",
    ),
    # Buyer orders
    path("orders/", views.order_list, name="order_list"),
    path("orders/<str:reference>/", views.order_detail, name="order_detail"),
    path("orders/<str:reference>/review/", views.review_order, name="review_order"),
    path(
        "orders/<str:reference>/proofs/<int:proof_id>/<str:action>/",
        views.proof_respond,
        name="proof_respond",
    ),
    # Artisan studio
    path("studio/orders/", views.studio_orders, name="studio_orders"),
    path("studio/orders/<str:reference>/", views.studio_order, name="studio_order"),
    path(
        "studio/conversations/<int:conversation_id>/offer/",
        views.offer_composer,
        name="offer_composer",
    ),
    path("studio/products/", views.studio_products, name="studio_products"),
    path("studio/products/new/", views.product_edit, name="product_new"),
    path("studio/products/<int:product_id>/", views.product_edit, name="product_edit"),
    path(
        "studio/products/<int:product_id>/translations/",
        views.product_translations,
        name="product_translations",
    ),
    path("studio/profile/", views.studio_profile, name="studio_profile"),
    path("studio/campaigns/", marketing_views.studio_campaigns, name="studio_campaigns"),
    path("studio/campaigns/new/", marketing_views.campaign_edit, name="campaign_new"),
    path("studio/codes/", marketing_views.studio_promo_codes, name="studio_promo_codes"),
    path("studio/reviews/", marketing_views.studio_reviews, name="studio_reviews"),
    path("studio/engagement/", marketing_views.studio_engagement, name="studio_engagement"),
    path(
        "studio/campaigns/<int:campaign_id>/",
        marketing_views.campaign_detail,
        name="campaign_detail",
    ),
    path(
        "studio/campaigns/<int:campaign_id>/edit/",
        marketing_views.campaign_edit,
        name="campaign_edit",
    ),
    path(
        "studio/campaigns/<int:campaign_id>/report.csv",
        marketing_views.campaign_report_csv,
        name="campaign_report_csv",
    ),
    path(
        "studio/campaigns/<int:campaign_id>/translations/",
        marketing_views.campaign_translations,
        name="campaign_translations",
    ),
    path(
        "studio/campaigns/<int:campaign_id>/progress/",
        marketing_views.campaign_progress,
        name="campaign_progress",
    ),
    path("studio/shipping/", shipping_views.studio_shipping, name="studio_shipping"),
    path("studio/balance/", views.studio_balance, name="studio_balance"),
    path("studio/balance/withdraw/", views.payout_request, name="payout_request"),
    # Logistics partners, admins
    path("logistics/", views.logistics_dashboard, name="logistics"),
    path("logistics/shipments/<int:shipment_id>/", views.logistics_update, name="logistics_update"),
    path("authenticity-review/", views.authenticity_queue, name="authenticity_queue"),
]

if settings.DEV_GATEWAY_ALLOWED:
    # The dev gateway's confirm page and webhook exist only in development (DEBUG on at
    # load time); in production these URLs are 404 and the gateway itself is refused.
    urlpatterns += [
        path("pay/dev/<str:payment_id>/confirm/", views.dev_confirm, name="dev_confirm"),
        path("webhooks/dev/", views.dev_webhook, name="dev_webhook"),
    ]
