from django.contrib import admin

from nlu.models import BotConversationState


@admin.register(BotConversationState)
class BotConversationStateAdmin(admin.ModelAdmin):
    list_display = ["conversation", "focus_artisan", "handed_over_at", "handed_back_at"]
    raw_id_fields = ["conversation", "focus_artisan"]
