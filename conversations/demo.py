"""Demo conversation for `make run`: Léa (buyer, French) asks Rosa (potter, Spanish)."""

from __future__ import annotations

from conversations.models import Conversation, NotificationSettings, QuickReply
from conversations.services import post_message, start_conversation
from core.models import User


def seed(people: dict[str, User]) -> None:
    buyer = people.get("buyer@atelier.test")
    potter = people.get("potter@atelier.test")
    if buyer is None or potter is None:
        return
    NotificationSettings.objects.get_or_create(
        user=potter, defaults={"usual_response_hours": 6, "away_message": ""}
    )
    QuickReply.objects.get_or_create(
        owner=potter,
        title="Lead time",
        defaults={"text": "Each piece is thrown and glazed by hand; allow about 3 weeks."},
    )
    QuickReply.objects.get_or_create(
        owner=potter,
        title="Shipping",
        defaults={"text": "I ship with tracking, wrapped in recycled paper. EU: 3-5 days."},
    )
    if Conversation.objects.filter(buyer=buyer, artisan=potter).exists():
        return
    conversation = start_conversation(buyer=buyer, artisan=potter, subject="Service à thé bleu")
    lines = [
        (
            buyer,
            "Bonjour Rosa ! Je cherche un service à thé bleu pour six personnes.",
            "fr",
            "demo-1",
        ),
        (
            potter,
            "¡Hola Léa! Puedo hacerlo en esmalte azul cobalto. ¿Tienes un presupuesto?",
            "es",
            "demo-2",
        ),
        (buyer, "Autour de 180 €, et j'aimerais le recevoir avant la mi-décembre.", "fr", "demo-3"),
    ]
    for author, text, language, client_id in lines:
        post_message(
            conversation=conversation,
            author=author,
            text=text,
            client_id=client_id,
            language=language,
        )
