from django.urls import path

from webchat import views

app_name = "webchat"

urlpatterns = [
    # Buyer widget (embedded with static/webchat/widget.js)
    path("widget/", views.widget_frame, name="widget_frame"),
    path("widget/start/", views.widget_start, name="widget_start"),
    path("widget/demo/", views.widget_demo, name="widget_demo"),
    # Artisan inbox
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:conversation_id>/", views.inbox_conversation, name="inbox_conversation"),
    path("inbox/quick-replies/", views.quick_replies, name="quick_replies"),
    path("inbox/quick-replies/<int:pk>/", views.quick_reply_edit, name="quick_reply_edit"),
    path(
        "inbox/quick-replies/<int:pk>/delete/",
        views.quick_reply_delete,
        name="quick_reply_delete",
    ),
    path("inbox/settings/", views.chat_settings, name="inbox_settings"),
    # Buyer messages (same templates as the inbox)
    path("messages/", views.buyer_messages, name="messages"),
    path("messages/<int:conversation_id>/", views.buyer_conversation, name="messages_conversation"),
    path("messages/settings/", views.chat_settings, name="messages_settings"),
    # Conversation actions shared by both
    path("chat/<int:conversation_id>/history/", views.history, name="history"),
    path("chat/<int:conversation_id>/labels/", views.conversation_labels, name="labels"),
    path("chat/<int:conversation_id>/status/", views.conversation_status, name="status"),
    path("chat/<int:conversation_id>/hand-back/", views.hand_back_to_assistant, name="hand_back"),
    path("chat/<int:conversation_id>/block/", views.block_person, name="block"),
    path("chat/messages/<int:message_id>/report/", views.report_message, name="report_message"),
    # Moderation console
    path("moderation/", views.moderation_queue, name="moderation_queue"),
    path(
        "moderation/conversations/<int:conversation_id>/",
        views.moderation_conversation,
        name="moderation_conversation",
    ),
    path(
        "moderation/messages/<int:message_id>/<str:action>/",
        views.moderate_message,
        name="moderate_message",
    ),
    path(
        "moderation/users/<int:user_id>/<str:action>/",
        views.moderate_user,
        name="moderate_user",
    ),
    path("moderation/flag-words/", views.flag_words, name="flag_words"),
    path(
        "moderation/flag-words/<int:pk>/<str:action>/",
        views.flag_word_change,
        name="flag_word_change",
    ),
]
