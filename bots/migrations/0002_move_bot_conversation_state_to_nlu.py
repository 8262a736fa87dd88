# The shop assistant's per-conversation state moved to the nlu app (the dialogue owns it).
# State only: the table is kept and handed over by nlu.0001, then renamed by nlu.0002.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("bots", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="BotConversationState")],
            database_operations=[],
        )
    ]
