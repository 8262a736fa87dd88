"""Offline language detection on short chat-like messages: accuracy and speed.

Run: .venv/bin/python bench/langdetect_accuracy.py

Candidates are the platform languages (en fr de es it pt nl ja zh ko pl), as in
production, so confusions with Dutch, Polish or Chinese count as errors. An
abstention (None: too short or unsure) is reported apart from a wrong guess,
since the caller then falls back to the author's known language.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

# Runnable as a plain script from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conversations.translation.config import DEFAULT_SUPPORTED_LANGUAGES  # noqa: E402
from conversations.translation.detect import detect_language, warm_up  # noqa: E402

SAMPLES: dict[str, list[str]] = {
    "en": [
        "Hi! Is the blue ceramic vase still available?",
        "Could you make the mug a little bigger?",
        "How long does shipping to Canada usually take?",
        "Thanks so much, it arrived safely and looks lovely.",
        "Do you accept custom orders for weddings?",
        "What kind of wood is the cutting board made of?",
        "I'd like two of these, can you do a discount?",
        "Sorry for the late reply, I was travelling.",
        "The colour in the photo looks darker than on your site.",
        "Can I pay with PayPal instead of a card?",
        "Is the necklace silver or just silver plated?",
        "Please send me the tracking number when you can.",
        "My order hasn't arrived yet, any news?",
        "Would it be possible to engrave my initials?",
        "Great, let's go ahead with the green one.",
    ],
    "fr": [
        "Bonjour, est-ce que le vase bleu est encore disponible ?",
        "Pourriez-vous faire la tasse un peu plus grande ?",
        "Combien de temps prend la livraison en Belgique ?",
        "Merci beaucoup, le colis est bien arrivé !",
        "Acceptez-vous les commandes personnalisées pour un mariage ?",
        "De quel bois est faite la planche à découper ?",
        "J'en voudrais deux, vous me faites un prix ?",
        "Désolée pour la réponse tardive, j'étais en voyage.",
        "La couleur sur la photo paraît plus foncée que sur le site.",
        "Je peux payer par virement plutôt que par carte ?",
        "Le collier est-il en argent massif ?",
        "Envoyez-moi le numéro de suivi quand vous pouvez.",
        "Ma commande n'est toujours pas arrivée, des nouvelles ?",
        "Serait-il possible de graver mes initiales ?",
        "Parfait, on part sur le vert alors.",
    ],
    "de": [
        "Hallo, ist die blaue Vase noch zu haben?",
        "Könnten Sie die Tasse etwas größer machen?",
        "Wie lange dauert der Versand nach Österreich?",
        "Vielen Dank, das Paket ist gut angekommen!",
        "Nehmen Sie auch Sonderanfertigungen für Hochzeiten an?",
        "Aus welchem Holz ist das Schneidebrett?",
        "Ich hätte gern zwei Stück, gibt es Rabatt?",
        "Entschuldigung für die späte Antwort, ich war unterwegs.",
        "Die Farbe auf dem Foto wirkt dunkler als im Shop.",
        "Kann ich auch per Überweisung bezahlen?",
        "Ist die Kette aus echtem Silber?",
        "Schicken Sie mir bitte die Sendungsnummer.",
        "Meine Bestellung ist noch nicht da, gibt es Neuigkeiten?",
        "Wäre es möglich, meine Initialen einzugravieren?",
        "Super, dann nehmen wir die grüne.",
    ],
    "es": [
        "Hola, ¿sigue disponible el jarrón azul?",
        "¿Podrías hacer la taza un poco más grande?",
        "¿Cuánto tarda el envío a México?",
        "¡Muchas gracias, llegó perfecto y es precioso!",
        "¿Aceptas encargos personalizados para bodas?",
        "¿De qué madera es la tabla de cortar?",
        "Quiero dos, ¿me haces un descuento?",
        "Perdona la tardanza, estaba de viaje.",
        "El color de la foto parece más oscuro que en la tienda.",
        "¿Puedo pagar con transferencia en lugar de tarjeta?",
        "¿El collar es de plata de ley?",
        "Envíame el número de seguimiento cuando puedas.",
        "Mi pedido todavía no ha llegado, ¿sabes algo?",
        "¿Sería posible grabar mis iniciales?",
        "Genial, entonces vamos con el verde.",
    ],
    "it": [
        "Ciao, il vaso blu è ancora disponibile?",
        "Potresti fare la tazza un po' più grande?",
        "Quanto ci mette la spedizione in Svizzera?",
        "Grazie mille, è arrivato ed è bellissimo!",
        "Accetti ordini personalizzati per matrimoni?",
        "Di che legno è fatto il tagliere?",
        "Ne vorrei due, mi fai uno sconto?",
        "Scusa il ritardo, ero in viaggio.",
        "Il colore nella foto sembra più scuro che sul sito.",
        "Posso pagare con bonifico invece che con la carta?",
        "La collana è in argento vero?",
        "Mandami il numero di tracciamento quando puoi.",
        "Il mio ordine non è ancora arrivato, novità?",
        "Sarebbe possibile incidere le mie iniziali?",
        "Perfetto, allora andiamo con quello verde.",
    ],
    "pt": [
        "Olá, o vaso azul ainda está disponível?",
        "Você poderia fazer a caneca um pouco maior?",
        "Quanto tempo demora o envio para o Brasil?",
        "Muito obrigada, chegou direitinho e é lindo!",
        "Você aceita encomendas personalizadas para casamentos?",
        "De que madeira é feita a tábua de cortar?",
        "Quero dois, consegue fazer um desconto?",
        "Desculpe a demora, estava viajando.",
        "A cor na foto parece mais escura do que no site.",
        "Posso pagar por transferência em vez de cartão?",
        "O colar é de prata verdadeira?",
        "Me mande o código de rastreio quando puder.",
        "Meu pedido ainda não chegou, alguma novidade?",
        "Seria possível gravar as minhas iniciais?",
        "Ótimo, então vamos com o verde.",
    ],
    "ja": [
        "こんにちは、青い花瓶はまだありますか？",
        "マグカップをもう少し大きく作れますか？",
        "カナダへの発送はどのくらいかかりますか？",
        "ありがとうございます、無事に届きました！",
        "結婚式用のオーダーメイドは受け付けていますか？",
        "このまな板は何の木でできていますか？",
        "二つ欲しいのですが、割引はありますか？",
        "返信が遅くなってすみません、旅行中でした。",
        "写真の色はサイトより暗く見えます。",
        "カードではなく銀行振込で払えますか？",
        "このネックレスは純銀ですか？",
        "追跡番号を送っていただけますか。",
        "注文がまだ届いていません。何か分かりますか？",
        "イニシャルを彫ることはできますか？",
        "いいですね、では緑のほうでお願いします。",
    ],
}


REPEATS = 50


def without_abstention(candidates: list[str]) -> tuple[int, int]:
    """Accuracy if we always guessed (threshold 0): what the threshold costs/buys."""
    total = correct = 0
    for language, messages in SAMPLES.items():
        for message in messages:
            detected = detect_language(message, languages=candidates, min_confidence=0.0)
            total += 1
            correct += int(detected is not None and detected.code == language)
    return correct, total


def main() -> None:
    candidates = list(DEFAULT_SUPPORTED_LANGUAGES)
    load_started = time.perf_counter()
    warm_up(languages=candidates)
    load_ms = (time.perf_counter() - load_started) * 1000
    # First calls pay one-off numpy/allocator costs; keep them out of the timing.
    for _ in range(20):
        detect_language(SAMPLES["en"][0], languages=candidates)

    timings_us: list[float] = []
    rows = []
    total = correct = abstained = 0
    for language, messages in SAMPLES.items():
        hits = misses = nones = 0
        confusions: dict[str, int] = {}
        for message in messages:
            started = time.perf_counter()
            for _ in range(REPEATS):
                detected = detect_language(message, languages=candidates)
            timings_us.append((time.perf_counter() - started) * 1e6 / REPEATS)
            if detected is None:
                nones += 1
            elif detected.code == language:
                hits += 1
            else:
                misses += 1
                confusions[detected.code] = confusions.get(detected.code, 0) + 1
        rows.append((language, len(messages), hits, misses, nones, confusions))
        total += len(messages)
        correct += hits
        abstained += nones

    print(f"candidates: {' '.join(candidates)}; model load {load_ms:.0f} ms (once per process)")
    print(f"{'lang':<5}{'n':>4}{'correct':>9}{'wrong':>7}{'none':>6}{'accuracy':>10}  confusions")
    for language, n, hits, misses, nones, confusions in rows:
        confused = ", ".join(f"{k}:{v}" for k, v in sorted(confusions.items())) or "-"
        print(f"{language:<5}{n:>4}{hits:>9}{misses:>7}{nones:>6}{hits / n:>10.1%}  {confused}")
    print(
        f"overall: {correct}/{total} = {correct / total:.1%} correct, "
        f"{abstained} abstained, {total - correct - abstained} wrong"
    )
    forced_correct, forced_total = without_abstention(candidates)
    print(
        f"always guessing (min_confidence=0): {forced_correct}/{forced_total} = "
        f"{forced_correct / forced_total:.1%} correct"
    )
    print(
        f"detection time per message (mean of {REPEATS} runs each): mean {statistics.mean(timings_us):.0f} µs, "
        f"median {statistics.median(timings_us):.0f} µs, max {max(timings_us):.0f} µs"
    )


if __name__ == "__main__":
    main()
