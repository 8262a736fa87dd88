"""Feature routers, included by :func:`bots.dispatcher.build_dispatcher` in this order
(the fallback router last: it takes whatever the others did not)."""

from aiogram import Router

from bots.routers import (
    artisan_chat,
    campaigns,
    checkout,
    csat,
    discovery,
    fallback,
    start,
    tracking,
)


def build_routers() -> list[Router]:
    return [
        start.build_router(),
        discovery.build_router(),
        tracking.build_router(),
        campaigns.build_router(),
        csat.build_router(),
        checkout.build_router(),
        artisan_chat.build_router(),
        fallback.build_router(),
    ]
