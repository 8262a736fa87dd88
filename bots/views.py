"""Webhook mode: Telegram POSTs each update to /telegram/webhook/.

Only requests carrying our secret (``X-Telegram-Bot-Api-Secret-Token``, registered with
``setWebhook(secret_token=...)``) are accepted; anything else is a forgery (403). The
update is handled before answering, so a failure answers 500 and Telegram re-delivers;
``ProcessedUpdate`` makes re-deliveries of handled updates no-ops.
"""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import ValidationError

logger = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@csrf_exempt
@require_POST
async def telegram_webhook(request: HttpRequest) -> JsonResponse:
    secret = str(getattr(settings, "TELEGRAM_WEBHOOK_SECRET", "") or "")
    if not secret:
        # Never accept unauthenticated updates: without a secret anyone could post them.
        logger.error("Telegram webhook called but TELEGRAM_WEBHOOK_SECRET is not set")
        return JsonResponse({"ok": False, "error": "webhook secret not configured"}, status=403)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        logger.warning("Telegram webhook call with a wrong secret token refused")
        return JsonResponse({"ok": False, "error": "forbidden"}, status=403)
    # Here, not at import time: aiogram loads only where updates arrive (bots.apps._lazy).
    from aiogram.types import Update

    from bots.runtime import get_bot_runtime
    from bots.telegram.client import TelegramNotConfigured

    try:
        runtime = get_bot_runtime()
    except TelegramNotConfigured as error:
        logger.error("Telegram webhook: %s", error)
        return JsonResponse({"ok": False, "error": str(error)}, status=503)
    try:
        data = json.loads(request.body)
        update = Update.model_validate(data, context={"bot": runtime.bot})
    except (ValueError, ValidationError):
        return JsonResponse({"ok": False, "error": "not a Telegram update"}, status=400)
    await runtime.dispatcher.feed_update(runtime.bot, update)
    return JsonResponse({"ok": True})


@login_required
@require_POST
def create_telegram_link_code(request: HttpRequest) -> HttpResponse:
    """Profile page: show a one-time code to send to the bot as ``/link CODE``."""
    from django.contrib import messages
    from django.shortcuts import redirect, render

    from bots.services import BotServiceError, create_link_code

    try:
        link = create_link_code(user=request.user)
    except BotServiceError as exc:
        messages.error(request, str(exc))
        return redirect("core:settings")
    return render(
        request,
        "bots/link_code.html",
        {
            "code": link.code,
            "expires_at": link.expires_at,
            "bot_username": settings.TELEGRAM_BOT_USERNAME,
        },
    )
