from django.core.management.base import BaseCommand

from nlu.catalogue import CATALOGUE_FILE, sync_catalogue


class Command(BaseCommand):
    help = "Write the shops' names and regions into the NLU data (nlu_catalogue.yml)."

    def handle(self, *args, **options):
        names, regions, changed = sync_catalogue()
        state = "updated" if changed else "unchanged"
        self.stdout.write(
            f"{CATALOGUE_FILE.name} {state}: {names} names, {regions} new regions. "
            "Retrain Rasa (make rasa) to use them there; the embedded engine reads them at start."
        )
