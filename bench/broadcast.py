"""Broadcast a campaign to many people with several worker processes, kill one halfway, and
count what each person received: throughput, the rate Telegram saw, duplicates and losses.

    REDIS_URL=redis://127.0.0.1:6379/0 python bench/broadcast.py --recipients 10000
    python bench/broadcast.py --recipients 1000 --workers 2 --kill --storm 2   # the CI run

Everything is real but Telegram: PostgreSQL (a fresh database, ``--database-url``, default
``atelier_bench_broadcast`` on 127.0.0.1), the delivery code of ``commerce.services.marketing``
run by ``--workers`` separate processes, aiogram and the outbox with the Redis-shared limits,
Django's file email backend; Telegram is the Bot API stand-in (tests/standins) with its
flood limits on (30 msg/s for the bot, 1/s per chat), so a sender over the limit is told
429. ``--kill`` SIGKILLs worker 1 once a third is delivered and starts a replacement;
``--storm N`` answers every send with 429 for N seconds in the middle of the run.
``--paid`` switches ``TELEGRAM_PAID_BROADCAST`` on: campaign messages carry
``allow_paid_broadcast`` and may pass 30/s (the stand-in allows 1,000/s for those).

The audience: every person follows the shop and gets the updates page; every second one
also agreed to email; ``--telegram-share`` of them have a Telegram account and agreed to
Telegram news. ``--unsubscribed`` more followers withdrew every consent and ``--no-consent``
more never gave one: they must receive nothing.

Printed figures (one per line, ``name  value``): recipients per channel, seconds, rows/s,
Telegram messages/s, the highest number of Telegram messages in any one second, 429s
answered outside the storm, duplicates, duplicates explained by the kill (rows the killed
worker had sent but not yet recorded: the one window no sender can close, see
docs/marketing.md), lost, and messages to people who must get none; then
``RESULT OK`` or ``RESULT FAILED``.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/atelier_bench_broadcast"
CHAT_BASE = 9_000_000


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "core.settings"
    import django

    django.setup()


def fresh_database(url: str) -> None:
    """Drop and create the bench database (PostgreSQL only: workers need row locks)."""
    import psycopg

    base, _, name = url.rpartition("/")
    if not url.startswith("postgres") or not name.isidentifier():
        raise SystemExit("--database-url must be postgres://…/<name>")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def seed(args: argparse.Namespace) -> dict[str, object]:
    """People, consents and a campaign in state ``sending`` with every row written."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from bots.models import TelegramAccount
    from commerce.models import ArtisanProfile, Campaign, CampaignStatus, Follow
    from commerce.services import marketing
    from core.models import Consent, Role, User

    call_command("migrate", verbosity=0)
    password = make_password(None)
    artisan = User.objects.create_user(
        email="bench-artisan@bench.invalid", role=Role.ARTISAN, display_name="Bench Artisan"
    )
    shop = ArtisanProfile.objects.create(user=artisan, shop_name="Bench Pottery", slug="bench")
    total = args.recipients + args.unsubscribed + args.no_consent
    people = User.objects.bulk_create(
        [
            User(
                email=f"p{i}@bench.invalid",
                password=password,
                role=Role.BUYER,
                display_name=f"Person {i}",
                preferred_language=("en", "fr", "de", "es")[i % 4],
            )
            for i in range(total)
        ],
        batch_size=2000,
    )
    Follow.objects.bulk_create([Follow(user=p, shop=shop) for p in people], batch_size=2000)
    consents, accounts = [], []
    every_tg = max(1, round(1 / args.telegram_share)) if args.telegram_share > 0 else 0
    for i, person in enumerate(people):
        if i < args.recipients:
            consents.append(Consent(user=person, purpose="marketing_web", granted=True))
            if i % 2 == 0:
                consents.append(Consent(user=person, purpose="marketing_email", granted=True))
            if every_tg and i % every_tg == 0:
                consents.append(Consent(user=person, purpose="marketing_telegram", granted=True))
        elif i < args.recipients + args.unsubscribed:
            for purpose in ("marketing_web", "marketing_email", "marketing_telegram"):
                consents.append(Consent(user=person, purpose=purpose, granted=True))
                consents.append(Consent(user=person, purpose=purpose, granted=False))
        if every_tg and (i % every_tg == 0 or i >= args.recipients):
            accounts.append(
                TelegramAccount(
                    user=person,
                    telegram_user_id=CHAT_BASE + i,
                    chat_id=CHAT_BASE + i,
                    is_guest=False,
                )
            )
    # Withdrawals must be the latest rows: created one after the other, in order.
    Consent.objects.bulk_create(consents, batch_size=5000)
    TelegramAccount.objects.bulk_create(accounts, batch_size=2000)
    campaign = Campaign.objects.create(
        shop=shop,
        title="Kiln opening",
        body="New cobalt bowls this Saturday.",
        language="en",
        segment="followers",
        channels=["web", "email", "telegram"] if every_tg else ["web", "email"],
        created_by=artisan,
    )
    marketing.transition_campaign(
        campaign=campaign, to=CampaignStatus.SENDING, code="started", actor=artisan
    )
    rows = marketing.materialise_recipients(campaign)
    must_not = {p.pk for p in people[args.recipients :]}
    return {"campaign": campaign.pk, "rows": rows, "must_not": must_not}


def worker(campaign_id: int) -> None:
    """One worker process: deliver until the campaign is finished (a Celery worker's loop)."""
    _setup_django({})
    from bots.sender import stop_all_senders
    from commerce.models import Campaign, CampaignStatus
    from commerce.services.marketing import deliver_campaign

    try:
        while Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists():
            deliver_campaign(campaign_id)
            time.sleep(0.2)  # rows held by another worker, or backing off
    finally:
        stop_all_senders()


def _spawn(env: dict[str, str], campaign_id: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "worker", "--campaign", str(campaign_id)],
        cwd=ROOT,
        env={**os.environ, **env},
    )


def _counts(campaign_id: int) -> dict[str, int]:
    from commerce.services.marketing import delivery_counts

    return delivery_counts(campaign_id)


def _emails(folder: Path) -> collections.Counter[str]:
    received: collections.Counter[str] = collections.Counter()
    for path in folder.glob("*.log"):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("To: "):
                received[line[4:].strip()] += 1
    return received


def _telegram(standin) -> collections.Counter[int]:
    received: collections.Counter[int] = collections.Counter()
    for call in standin.calls_to("sendMessage"):
        if call.ok:
            received[int(call.params["chat_id"])] += 1
    return received


def _peak_per_second(standin) -> int:
    times = sorted(call.at for call in standin.calls_to("sendMessage") if call.ok)
    peak, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


def _in_doubt(campaign_id: int, standin, email_dir: Path) -> int:
    """Rows the killed worker still holds although their message already went out."""
    from commerce.models import CampaignRecipient, RecipientState

    held = list(
        CampaignRecipient.objects.filter(campaign_id=campaign_id, state=RecipientState.SENDING)
        .select_related("user")
        .values_list(
            "pk", "claim_token", "channel", "user__email", "user__telegram_account__chat_id"
        )
    )
    time.sleep(2.0)  # what the live workers hold, they settle meanwhile
    still = dict(
        CampaignRecipient.objects.filter(
            pk__in=[row[0] for row in held], state=RecipientState.SENDING
        ).values_list("pk", "claim_token")
    )
    emails, chats = _emails(email_dir), _telegram(standin)
    doubt = 0
    for pk, token, channel, email, chat_id in held:
        if still.get(pk) != token:
            continue
        if (channel == "email" and emails[email]) or (channel == "telegram" and chats[chat_id]):
            doubt += 1
    return doubt


def run(args: argparse.Namespace) -> int:
    from tests.standins.telegram_server import TelegramBotApiStandIn

    if not os.environ.get("REDIS_URL"):
        print("REDIS_URL is needed (the workers share Telegram's limits through Redis)")
        return 2
    database_url = args.database_url or DEFAULT_DB
    fresh_database(database_url)
    email_dir = Path(tempfile.mkdtemp(prefix="atelier-broadcast-mail-"))
    standin = TelegramBotApiStandIn(enforce_rate_limits=True).start()
    env = {
        "DATABASE_URL": database_url,
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(email_dir),
        "TELEGRAM_BOT_TOKEN": standin.token,
        "TELEGRAM_API_BASE": standin.base_url,
        "TELEGRAM_RATE_LIMIT_NAMESPACE": "bench-" + uuid.uuid4().hex[:8],
        "CAMPAIGN_BATCH_SIZE": str(args.batch),
        "CAMPAIGN_DELIVERY_LEASE_SECONDS": str(args.lease),
        "CAMPAIGN_TELEGRAM_WAIT_SECONDS": str(max(args.lease - 5, 1)),
        "CAMPAIGN_RETRY_SECONDS": "1",
        "CAMPAIGN_QUIET_HOURS": "",  # a run at night must not wait for the morning
        "DEEPL_AUTH_KEY": "",
        "LOG_LEVEL": "ERROR",
        "TELEGRAM_PAID_BROADCAST": "true" if args.paid else "false",
    }
    try:
        _setup_django(env)
        seeded = seed(args)
        campaign_id = int(seeded["campaign"])
        started = time.monotonic()
        workers = [_spawn(env, campaign_id) for _ in range(args.workers)]
        killed_doubt, storm_window = 0, None
        deadline = started + args.timeout
        from commerce.models import Campaign, CampaignRecipient, CampaignStatus, RecipientState

        telegram_rows = CampaignRecipient.objects.filter(
            campaign_id=campaign_id, channel="telegram"
        ).count()
        # Rows are claimed in id order, channel after channel: the kill and the storm wait
        # for Telegram to be under way, where a flood wait and the in-flight window are.
        while time.monotonic() < deadline:
            telegram_done = (
                CampaignRecipient.objects.filter(campaign_id=campaign_id, channel="telegram")
                .exclude(state__in=(RecipientState.PENDING, RecipientState.SENDING))
                .count()
            )
            done = (
                telegram_done
                if telegram_rows
                else sum(_counts(campaign_id)[k] for k in ("sent", "failed", "skipped"))
            )
            target = telegram_rows or int(seeded["rows"])
            if args.storm and storm_window is None and done >= target / 2:
                begin = time.monotonic()
                standin.storm(args.storm, retry_after=1)
                storm_window = (begin, begin + args.storm + 0.2)
            if args.kill and workers[0].returncode is None and done >= target / 3:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                killed_doubt = _in_doubt(campaign_id, standin, email_dir)
                workers.append(_spawn(env, campaign_id))  # the restarted worker
            if not Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).exists():
                break
            time.sleep(0.3)
        elapsed = time.monotonic() - started
        for process in workers:
            if process.returncode is None:
                process.terminate()
                process.wait(timeout=30)
        return report(args, seeded, standin, email_dir, elapsed, killed_doubt, storm_window)
    finally:
        standin.stop()


def report(args, seeded, standin, email_dir, elapsed, killed_doubt, storm_window) -> int:
    from commerce.models import CampaignRecipient

    campaign_id = int(seeded["campaign"])
    rows = list(
        CampaignRecipient.objects.filter(campaign_id=campaign_id).values_list(
            "user_id", "channel", "state", "user__email", "user__telegram_account__chat_id"
        )
    )
    emails, chats = _emails(email_dir), _telegram(standin)
    expected = collections.Counter(channel for _u, channel, _s, _e, _c in rows)
    must_not = seeded["must_not"]
    from core.models import User

    forbidden = User.objects.filter(pk__in=must_not).values_list(
        "email", "telegram_account__chat_id"
    )
    forbidden_received = sum(emails[e] + (chats[c] if c else 0) for e, c in forbidden)
    duplicates = sum(n - 1 for n in emails.values() if n > 1) + sum(
        n - 1 for n in chats.values() if n > 1
    )
    lost = 0
    for _user, channel, state, email, chat_id in rows:
        if channel == "web" and state != "sent":
            lost += 1
        elif channel == "email" and not emails[email]:
            lost += 1
        elif channel == "telegram" and not chats[chat_id]:
            lost += 1
    flood = [c for c in standin.calls_to("sendMessage") if c.status == 429]
    outside_storm = [
        c for c in flood if storm_window is None or not storm_window[0] <= c.at <= storm_window[1]
    ]
    telegram_sent = sum(chats.values())
    print(f"recipients          {sum(expected.values())} rows: {dict(sorted(expected.items()))}")
    print(f"workers             {args.workers}{' (one killed and restarted)' if args.kill else ''}")
    print(f"seconds             {elapsed:.1f}")
    print(f"rows per second     {sum(expected.values()) / elapsed:.1f}")
    print(f"telegram per second {telegram_sent / elapsed:.1f}")
    print(f"telegram peak/1s    {_peak_per_second(standin)}")
    print(f"paid broadcasts     {standin.paid_broadcasts}")
    print(f"429 in storm        {len(flood) - len(outside_storm)}")
    print(f"429 over limits     {len(outside_storm)}")
    print(f"duplicated          {duplicates}")
    print(f"in doubt at kill    {killed_doubt}")
    print(f"lost                {lost}")
    print(f"to unsubscribed     {forbidden_received}")
    ok = (
        lost == 0
        and forbidden_received == 0
        and duplicates <= killed_doubt
        and not outside_storm
        and _peak_per_second(standin) <= (1000 if args.paid else 30)
        and (standin.paid_broadcasts == telegram_sent if args.paid else not standin.paid_broadcasts)
    )
    print(f"RESULT              {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--telegram-share", type=float, default=0.3)
    parser.add_argument("--unsubscribed", type=int, default=50)
    parser.add_argument("--no-consent", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--storm", type=float, default=0.0)
    parser.add_argument(
        "--paid",
        action="store_true",
        help="TELEGRAM_PAID_BROADCAST on: campaign messages past 30/s (up to 1,000/s)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--database-url", default="")
    work = sub.add_parser("worker")
    work.add_argument("--campaign", type=int, required=True)
    args = parser.parse_args()
    if args.command == "worker":
        worker(args.campaign)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
