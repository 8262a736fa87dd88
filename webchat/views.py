"""Browser-facing chat pages: widget, artisan inbox, buyer messages, moderation console.

Views are thin: parse the request, call one selector or service, render. Live behaviour
(sending, receipts, typing, presence, resume) is the WebSocket client in
``static/webchat/chat-client.js``; these pages render the first screen and its config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from commerce.card_render import render_system_line
from commerce.services.context import ask_about_product
from commerce.thread_context import (
    context_cards_for_client,
    context_kind_label,
    thread_actions,
    thread_context,
)
from conversations import inbox_settings
from conversations import selectors as hub_selectors
from conversations import services as hub
from conversations.models import (
    Channel,
    Conversation,
    FlagWord,
    Message,
    MessageKind,
    QuickReply,
)
from core.decorators import (
    admin_required,
    json_error,
    seller_required,
    wants_json,
)
from core.http import is_same_site_url, safe_next_url
from core.models import Role, User
from webchat import selectors
from webchat.forms import (
    AwaySettingsForm,
    FlagWordForm,
    InboxFilterForm,
    LabelForm,
    ModerationNoteForm,
    NotificationSettingsForm,
    QuickReplyForm,
    ReportForm,
    StatusForm,
    SuspendForm,
)
from webchat.strings import chat_strings

View = Callable[..., HttpResponse]
INBOX_PAGE_SIZE = 25
SECTION_INBOX = "inbox"
SECTION_MESSAGES = "messages"


def artisan_inbox_required(view: View) -> View:
    """Artisans (with 2FA) get the inbox; anyone else signed in is sent to /messages/."""

    guarded = seller_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not request.user.is_artisan:
            target = reverse("webchat:messages")
            if "conversation_id" in kwargs:
                target = reverse("webchat:messages_conversation", args=[kwargs["conversation_id"]])
            return redirect(target)
        return guarded(request, *args, **kwargs)

    return wrapper


moderator_required = admin_required  # admins with confirmed 2FA only


def _language(user: User) -> str:
    return (user.preferred_language or "en").split("-")[0].lower()


def _done(request: HttpRequest, fallback: str, message: str, *, ok: bool = True) -> HttpResponse:
    """Answer a small POST action: JSON for fetch() callers, redirect + flash otherwise."""
    if wants_json(request):
        if ok:
            return JsonResponse({"ok": True, "message": message})
        return json_error("invalid", message, 400)
    (flash.success if ok else flash.error)(request, message)
    return HttpResponseRedirect(safe_next_url(request, fallback=fallback))


def _hub_error(request: HttpRequest, fallback: str, exc: hub.HubError) -> HttpResponse:
    if wants_json(request):
        return json_error(exc.code, exc.message, 400, **({"field": exc.field} if exc.field else {}))
    flash.error(request, exc.message)
    return HttpResponseRedirect(safe_next_url(request, fallback=fallback))


def _chat_config(
    request: HttpRequest,
    *,
    conversation: Conversation | None,
    initial: list[dict[str, Any]],
    has_more: bool,
    other: User | None,
    **extra: Any,
) -> dict[str, Any]:
    """Everything chat-client.js needs to draw the first screen and connect."""
    user = request.user
    return {
        "conversation": conversation.pk if conversation else None,
        "me": user.pk,
        "language": _language(user),
        "wsPath": "/ws/chat/",
        "historyUrl": (
            reverse("webchat:history", args=[conversation.pk]) if conversation else None
        ),
        "messages": initial,
        "hasMore": has_more,
        "readMarkers": (
            {str(k): v for k, v in selectors.read_markers(conversation=conversation).items()}
            if conversation
            else {}
        ),
        "other": {"id": other.pk, "name": other.name, "role": other.role} if other else None,
        # Who the buyer is decides which card actions a reader gets (pay, review the offer).
        "buyer": conversation.buyer_id if conversation else user.pk,
        "csrfToken": get_token(request),
        # The hub's JSON API (conversations/api.py) stores and thumbnails uploads.
        "uploadUrl": "/api/conversations/{conversation}/attachments/",
        **extra,
    }


# --- Widget ----------------------------------------------------------------------------------


def _widget_context_ref(request: HttpRequest) -> tuple[str, int | None]:
    """``product=<id>`` or ``context=<type>:<id>`` from the embed's data attributes."""
    product = request.GET.get("product", "").strip()
    raw = f"product:{product}" if product else request.GET.get("context", "").strip()
    if ":" not in raw:
        return "", None
    kind, _sep, ident = raw.partition(":")
    kind = "".join(ch for ch in kind if ch.isalnum() or ch == "_")[:32]
    try:
        return (kind, int(ident)) if kind else ("", None)
    except ValueError:
        return "", None


@require_GET
@xframe_options_sameorigin
def widget_frame(request: HttpRequest) -> HttpResponse:
    """The chat panel inside the widget's iframe (same origin, so it shares the session)."""
    artisan_param = request.GET.get("artisan", "").strip()
    artisan = selectors.widget_artisan(artisan_id=artisan_param) if artisan_param else None
    context: dict[str, Any] = {"artisan": artisan, "strings": chat_strings()}
    if artisan_param and artisan is None:
        context["unavailable"] = _("This chat is not available. The shop may have closed.")
        return render(request, "webchat/widget.html", context, status=404)
    if not request.user.is_authenticated:
        page = request.GET.get("page", "")
        if not is_same_site_url(request, page):
            page = reverse("core:home")  # never bounce a signed-in buyer to another site
        context["login_url"] = f"{reverse('core:login')}?{urlencode({'next': page})}"
        context["signup_url"] = f"{reverse('core:signup')}?{urlencode({'next': page})}"
        return render(request, "webchat/widget.html", context)
    context_type, context_id = _widget_context_ref(request)
    conversation = selectors.open_widget_conversation(
        buyer=request.user, artisan=artisan, context_type=context_type, context_id=context_id
    )
    initial, has_more = (
        selectors.initial_messages(conversation=conversation) if conversation else ([], False)
    )
    profile = selectors.response_profile(artisan=artisan)
    context["profile"] = profile
    context["config"] = _chat_config(
        request,
        conversation=conversation,
        initial=initial,
        has_more=has_more,
        other=artisan,
        startUrl=reverse("webchat:widget_start"),
        start={
            "artisan": artisan.pk if artisan else None,
            "context_type": context_type,
            "context_id": context_id,
            "subject": request.GET.get("subject", "")[:200],
        },
        profile=(
            {
                "online": profile.online,
                "usualHours": profile.usual_response_hours,
                "away": profile.away,
            }
            if profile
            else None
        ),
        mode="widget",
    )
    return render(request, "webchat/widget.html", context)


@require_POST
def widget_start(request: HttpRequest) -> HttpResponse:
    """Open (or continue) the widget conversation when the buyer sends their first message."""
    if not request.user.is_authenticated:
        return json_error("not_authenticated", _("Sign in to chat."), 401)
    artisan_param = request.POST.get("artisan", "").strip()
    artisan = selectors.widget_artisan(artisan_id=artisan_param) if artisan_param else None
    if artisan_param and artisan is None:
        return json_error("not_found", _("This chat is not available."), 404)
    context_type = request.POST.get("context_type", "")[:32]
    try:
        context_id = int(request.POST["context_id"]) if request.POST.get("context_id") else None
    except ValueError:
        return json_error("invalid", _("The page reference is not valid."), 400, field="context_id")
    product = (
        selectors.widget_product(artisan=artisan, product_id=context_id)
        if artisan is not None and context_type == "product"
        else None
    )
    try:
        if product is not None:
            # The pair's thread, with a card saying which piece the widget was on.
            conversation = ask_about_product(
                buyer=request.user, product=product, channel=Channel.WIDGET
            )
        else:
            conversation = hub.start_conversation(
                buyer=request.user,
                artisan=artisan,
                subject=request.POST.get("subject", ""),
                channel=Channel.WIDGET,
                context_type=context_type if context_id is not None else "",
                context_id=context_id,
            )
    except hub.HubError as exc:
        return json_error(exc.code, exc.message, 400)
    return JsonResponse(
        {
            "conversation": conversation.pk,
            "historyUrl": reverse("webchat:history", args=[conversation.pk]),
        }
    )


@require_GET
def widget_demo(request: HttpRequest) -> HttpResponse:
    artisan = User.objects.filter(role=Role.ARTISAN, is_active=True).order_by("pk").first()
    return render(request, "webchat/widget_demo.html", {"demo_artisan": artisan})


# --- Conversation list and view (artisan inbox, buyer messages) ------------------------------


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    other_name: str
    unread: int
    preview: str
    labels: list[str]
    url: str


def _preview_text(message: Message | None) -> str:
    if message is None:
        return ""
    if message.is_hidden:
        return _("Removed by a moderator")
    if message.text:
        return message.text[:120]
    if message.kind == MessageKind.SYSTEM and (message.payload or {}).get("event"):
        return render_system_line(message.payload)[:120]  # a milestone, in the reader's words
    return {
        "image": _("Photo"),
        "offer": _("Offer"),
        "order_update": _("Order update"),
    }.get(message.kind, "")


def _conversation_list(request: HttpRequest, *, section: str) -> dict[str, Any]:
    form = InboxFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    conversations = hub_selectors.inbox(
        user=request.user,
        status=filters.get("status") or None,
        query=(filters.get("q") or "").strip(),
        label=(filters.get("label") or "").strip(),
    )
    page: Page = Paginator(conversations, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    ids = [c.pk for c in page.object_list]
    previews = selectors.last_previews(conversation_ids=ids)
    labels = selectors.labels_by_conversation(owner=request.user, conversation_ids=ids)
    url_name = (
        "webchat:inbox_conversation"
        if section == SECTION_INBOX
        else "webchat:messages_conversation"
    )
    rows = []
    for conversation in page.object_list:
        other = selectors.other_party(conversation=conversation, viewer=request.user)
        rows.append(
            ConversationRow(
                conversation=conversation,
                other_name=other.name if other else _("Atelier assistant"),
                unread=max(conversation.unread or 0, 0),
                preview=_preview_text(previews.get(conversation.pk)),
                labels=labels.get(conversation.pk, []),
                url=reverse(url_name, args=[conversation.pk]),
            )
        )
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "filter_form": form,
        "rows": rows,
        "page": page,
        "filters_active": any(filters.get(k) for k in ("q", "status", "label")),
        "page_query": query.urlencode(),
        "label_names": selectors.label_names(owner=request.user),
        "section": section,
        "list_url": reverse(f"webchat:{section}"),
    }


def _list_page(request: HttpRequest, *, section: str) -> HttpResponse:
    context = _conversation_list(request, section=section)
    if request.GET.get("partial") == "list":
        return render(request, "webchat/_conversation_list.html", context)
    return render(request, "webchat/inbox.html", context)


def _conversation_page(request: HttpRequest, conversation_id: int, *, section: str) -> HttpResponse:
    conversation = hub_selectors.conversation_for_writer(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404(_("No such conversation."))
    initial, has_more = selectors.initial_messages(conversation=conversation)
    other = selectors.other_party(conversation=conversation, viewer=request.user)
    profile = selectors.response_profile(artisan=other if other and other.is_artisan else None)
    context = _conversation_list(request, section=section)
    actions = thread_actions(conversation=conversation, viewer=request.user)
    context.update(
        conversation=conversation,
        other=other,
        profile=profile,
        labels=selectors.labels_for(conversation=conversation, owner=request.user),
        label_form=LabelForm(),
        status_form=StatusForm(initial={"status": conversation.status}),
        report_form=ReportForm(),
        quick_replies=(
            list(selectors.quick_replies_for(owner=request.user)) if request.user.is_artisan else []
        ),
        has_blocked=selectors.has_blocked(blocker=request.user, blocked=other),
        thread_context=thread_context(conversation=conversation),
        thread_actions=actions,
        strings=chat_strings(),
        config=_chat_config(
            request,
            conversation=conversation,
            initial=initial,
            has_more=has_more,
            other=other,
            profile=(
                {
                    "online": profile.online,
                    "usualHours": profile.usual_response_hours,
                    "away": profile.away,
                }
                if profile
                else None
            ),
            reportUrl=reverse("webchat:report_message", args=[0]),
            contextCards=context_cards_for_client(initial, offer_url=actions.offer_url),
            contextLabels={
                kind: context_kind_label(kind) for kind in ("ask", "request", "buy", "campaign")
            },
            mode=section,
        ),
    )
    return render(request, "webchat/inbox.html", context)


@artisan_inbox_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _list_page(request, section=SECTION_INBOX)


@artisan_inbox_required
def inbox_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _conversation_page(request, conversation_id, section=SECTION_INBOX)


@login_required
def buyer_messages(request: HttpRequest) -> HttpResponse:
    return _list_page(request, section=SECTION_MESSAGES)


@login_required
def buyer_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    return _conversation_page(request, conversation_id, section=SECTION_MESSAGES)


@require_GET
@login_required
def history(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Older messages for "Load earlier messages" (the socket replays only newer ones)."""
    conversation = hub_selectors.readable_conversation(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        return json_error("not_found", _("No such conversation."), 404)
    try:
        before_seq = int(request.GET.get("before_seq", ""))
    except ValueError:
        return json_error("invalid", _("before_seq must be a number."), 400, field="before_seq")
    page, has_more = selectors.earlier_messages(conversation=conversation, before_seq=before_seq)
    return JsonResponse({"messages": page, "has_more": has_more})


def _participant_conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    conversation = hub_selectors.conversation_for_writer(
        user=request.user, conversation_id=conversation_id
    )
    if conversation is None:
        raise Http404(_("No such conversation."))
    return conversation


def _conversation_url(request: HttpRequest, conversation: Conversation) -> str:
    name = "inbox_conversation" if request.user.is_artisan else "messages_conversation"
    return reverse(f"webchat:{name}", args=[conversation.pk])


@require_POST
@login_required
def conversation_labels(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _participant_conversation(request, conversation_id)
    back = _conversation_url(request, conversation)
    form = LabelForm(request.POST)
    if not form.is_valid():
        return _done(request, back, _("Type a label name (up to 40 characters)."), ok=False)
    name = form.cleaned_data["name"]
    try:
        if request.POST.get("action") == "remove":
            inbox_settings.remove_label(conversation=conversation, owner=request.user, name=name)
            return _done(request, back, _("Label removed."))
        inbox_settings.add_label(conversation=conversation, owner=request.user, name=name)
    except hub.HubError as exc:
        return _hub_error(request, back, exc)
    return _done(request, back, _("Label added."))


@require_POST
@login_required
def conversation_status(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _participant_conversation(request, conversation_id)
    back = _conversation_url(request, conversation)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _done(request, back, _("Choose a status."), ok=False)
    try:
        hub.set_conversation_status(
            conversation=conversation, user=request.user, status=form.cleaned_data["status"]
        )
    except hub.HubError as exc:
        return _hub_error(request, back, exc)
    return _done(request, back, _("Conversation updated."))


@require_POST
@login_required
def hand_back_to_assistant(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The artisan lets the shop bot answer this buyer again (after a handover)."""
    from nlu.dialogue import hand_back_to_bot

    conversation = _participant_conversation(request, conversation_id)
    back = _conversation_url(request, conversation)
    if conversation.artisan_id != request.user.pk:
        return _done(
            request, back, _("Only the artisan of this conversation can do that."), ok=False
        )
    hand_back_to_bot(conversation=conversation, artisan=request.user)
    return _done(request, back, _("The assistant will answer again until you write."))


@require_POST
@login_required
def block_person(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _participant_conversation(request, conversation_id)
    back = _conversation_url(request, conversation)
    other = selectors.other_party(conversation=conversation, viewer=request.user)
    if other is None:
        return _done(request, back, _("There is no one to block here."), ok=False)
    try:
        if request.POST.get("action") == "unblock":
            hub.unblock_user(blocker=request.user, blocked=other)
            return _done(request, back, _("%(name)s can message you again.") % {"name": other.name})
        hub.block_user(blocker=request.user, blocked=other)
    except hub.HubError as exc:
        return _hub_error(request, back, exc)
    return _done(request, back, _("%(name)s can no longer message you.") % {"name": other.name})


@require_POST
@login_required
def report_message(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(Message.objects.select_related("conversation"), pk=message_id)
    conversation = hub_selectors.conversation_for_writer(
        user=request.user, conversation_id=message.conversation_id
    )
    if conversation is None:
        if wants_json(request):
            return json_error("not_found", _("No such message."), 404)
        raise Http404(_("No such message."))
    back = _conversation_url(request, conversation)
    form = ReportForm(request.POST)
    if not form.is_valid():
        return _done(request, back, _("Tell us briefly what is wrong."), ok=False)
    try:
        hub.report_message(
            message=message, reporter=request.user, reason=form.cleaned_data["reason"]
        )
    except hub.HubError as exc:
        return _hub_error(request, back, exc)
    return _done(request, back, _("Thanks. A moderator will look at this message."))


# --- Artisan tools: quick replies, away and notification settings --------------------------------


@artisan_inbox_required
def quick_replies(request: HttpRequest) -> HttpResponse:
    form = QuickReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            inbox_settings.save_quick_reply(owner=request.user, **form.cleaned_data)
        except hub.HubError as exc:
            form.add_error(exc.field, exc.message)
        else:
            flash.success(request, _("Quick reply saved."))
            return redirect("webchat:quick_replies")
    return render(
        request,
        "webchat/quick_replies.html",
        {"form": form, "quick_replies": selectors.quick_replies_for(owner=request.user)},
    )


@artisan_inbox_required
def quick_reply_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quick_reply = get_object_or_404(QuickReply, pk=pk, owner=request.user)
    form = QuickReplyForm(
        request.POST or None, initial={"title": quick_reply.title, "text": quick_reply.text}
    )
    if request.method == "POST" and form.is_valid():
        try:
            inbox_settings.save_quick_reply(
                owner=request.user, quick_reply=quick_reply, **form.cleaned_data
            )
        except hub.HubError as exc:
            form.add_error(exc.field, exc.message)
        else:
            flash.success(request, _("Quick reply updated."))
            return redirect("webchat:quick_replies")
    return render(
        request, "webchat/quick_reply_edit.html", {"form": form, "quick_reply": quick_reply}
    )


@require_POST
@artisan_inbox_required
def quick_reply_delete(request: HttpRequest, pk: int) -> HttpResponse:
    quick_reply = get_object_or_404(QuickReply, pk=pk, owner=request.user)
    inbox_settings.delete_quick_reply(owner=request.user, quick_reply=quick_reply)
    flash.success(request, _("Quick reply deleted."))
    return redirect("webchat:quick_replies")


@login_required
def chat_settings(request: HttpRequest) -> HttpResponse:
    """Notification preferences and quiet hours for everyone; away reply for artisans."""
    prefs = selectors.notification_settings_for(user=request.user)
    is_artisan = request.user.is_artisan
    data = request.POST if request.method == "POST" else None
    notify_form = NotificationSettingsForm(
        data,
        initial={
            "email_enabled": prefs.email_enabled,
            "telegram_enabled": prefs.telegram_enabled,
            "quiet_start": prefs.quiet_start,
            "quiet_end": prefs.quiet_end,
        },
    )
    away_form = (
        AwaySettingsForm(
            data,
            prefix="away",
            initial={
                "away_enabled": prefs.away_enabled,
                "away_message": prefs.away_message,
                "usual_response_hours": prefs.usual_response_hours,
            },
        )
        if is_artisan
        else None
    )
    if data is not None and notify_form.is_valid() and (away_form is None or away_form.is_valid()):
        try:
            inbox_settings.update_notification_settings(
                user=request.user,
                **notify_form.cleaned_data,
                **(away_form.cleaned_data if away_form else {}),
            )
        except hub.HubError as exc:
            notify_form.add_error(None, exc.message)
        else:
            flash.success(request, _("Chat settings saved."))
            return redirect(request.path)
    return render(
        request,
        "webchat/settings.html",
        {
            "notify_form": notify_form,
            "away_form": away_form,
            "section": SECTION_INBOX if is_artisan else SECTION_MESSAGES,
        },
        status=400 if data is not None else 200,
    )


# --- Moderation console ------------------------------------------------------------------------


@moderator_required
def moderation_queue(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", selectors.QueueState.OPEN)
    if state not in selectors.QueueState.CHOICES:
        state = selectors.QueueState.OPEN
    page = Paginator(selectors.moderation_queue(state=state), 20).get_page(request.GET.get("page"))
    return render(
        request,
        "webchat/moderation_queue.html",
        {
            "page": page,
            "state": state,
            "note_form": ModerationNoteForm(),
            "suspend_form": SuspendForm(),
        },
    )


@moderator_required
def moderation_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = selectors.moderation_conversation(conversation_id=conversation_id)
    if conversation is None:
        raise Http404(_("No such conversation."))
    hub.record_moderator_view(conversation=conversation, moderator=request.user)
    return render(
        request,
        "webchat/moderation_conversation.html",
        {
            "conversation": conversation,
            "chat_messages": selectors.moderation_messages(conversation=conversation),
            "trail": selectors.moderation_trail(conversation=conversation)[:100],
            "note_form": ModerationNoteForm(),
            "suspend_form": SuspendForm(),
        },
    )


MODERATION_ACTIONS: dict[str, Callable[..., Any]] = {
    "hide": hub.hide_message,
    "unhide": hub.unhide_message,
    "dismiss": hub.dismiss_reports,
}
MODERATION_DONE = {
    "hide": _("Message hidden. Both people now see “Removed by a moderator”."),
    "unhide": _("Message restored."),
    "dismiss": _("Reports dismissed."),
}


@require_POST
@moderator_required
def moderate_message(request: HttpRequest, message_id: int, action: str) -> HttpResponse:
    act = MODERATION_ACTIONS.get(action)
    if act is None:
        raise Http404
    message = get_object_or_404(Message, pk=message_id)
    form = ModerationNoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    back = reverse("webchat:moderation_queue")
    try:
        act(message=message, moderator=request.user, note=note)
    except (hub.HubError, PermissionDenied) as exc:
        return _done(request, back, getattr(exc, "message", str(exc)), ok=False)
    return _done(request, back, str(MODERATION_DONE[action]))


@require_POST
@moderator_required
def moderate_user(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    person = get_object_or_404(User, pk=user_id)
    back = reverse("webchat:moderation_queue")
    if action == "unsuspend":
        hub.unsuspend_user(user=person, moderator=request.user)
        return _done(request, back, _("%(name)s can use Atelier again.") % {"name": person.name})
    if action != "suspend":
        raise Http404
    form = SuspendForm(request.POST)
    if not form.is_valid():
        return _done(request, back, _("Give a reason for the suspension."), ok=False)
    try:
        hub.suspend_user(user=person, moderator=request.user, reason=form.cleaned_data["reason"])
    except hub.HubError as exc:
        return _done(request, back, exc.message, ok=False)
    return _done(request, back, _("%(name)s is suspended.") % {"name": person.name})


@moderator_required
def flag_words(request: HttpRequest) -> HttpResponse:
    form = FlagWordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hub.add_flag_word(moderator=request.user, **form.cleaned_data)
        except hub.HubError as exc:
            form.add_error(exc.field, exc.message)
        else:
            flash.success(request, _("Added to the flag list."))
            return redirect("webchat:flag_words")
    return render(
        request,
        "webchat/flag_words.html",
        {"form": form, "flag_words": FlagWord.objects.order_by("phrase")},
    )


@require_POST
@moderator_required
def flag_word_change(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    flag_word = get_object_or_404(FlagWord, pk=pk)
    if action == "delete":
        hub.delete_flag_word(moderator=request.user, flag_word=flag_word)
        flash.success(request, _("Removed “%(phrase)s”.") % {"phrase": flag_word.phrase})
    elif action in ("enable", "disable"):
        hub.set_flag_word_active(
            moderator=request.user, flag_word=flag_word, active=action == "enable"
        )
        flash.success(request, _("Updated “%(phrase)s”.") % {"phrase": flag_word.phrase})
    else:
        raise Http404
    return redirect("webchat:flag_words")
