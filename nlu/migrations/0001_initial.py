# Takes over bots.BotConversationState (its table already exists), then renames the table.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("bots", "0002_move_bot_conversation_state_to_nlu"),
        ("conversations", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="BotConversationState",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("focus_product_id", models.BigIntegerField(blank=True, null=True)),
                        ("handed_over_at", models.DateTimeField(blank=True, null=True)),
                        ("handover_reason", models.CharField(blank=True, max_length=32)),
                        ("handed_back_at", models.DateTimeField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("conversation", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="bot_state", to="conversations.conversation")),
                        ("focus_artisan", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={"db_table": "bots_botconversationstate"},
                )
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="botconversationstate", table=None),
    ]
