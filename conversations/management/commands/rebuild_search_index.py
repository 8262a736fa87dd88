"""Rebuild the inbox's blind search index (after changing SEARCH_INDEX_KEY, or to repair it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from conversations.models import Message, MessageSearchTerm
from conversations.search import index_message


class Command(BaseCommand):
    help = "Rebuild the inbox search index from the (decrypted) message texts."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        last_pk = 0
        indexed = 0
        while True:
            batch = list(
                Message.objects.filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", "conversation_id", "text", "hidden_at")[:batch_size]
            )
            if not batch:
                break
            with transaction.atomic():
                for message in batch:
                    index_message(message)
            indexed += len(batch)
            last_pk = batch[-1].pk
        terms = MessageSearchTerm.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Indexed {indexed} messages ({terms} terms)."))
