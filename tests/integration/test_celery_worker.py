"""A real Celery worker process on the Redis broker runs the hub's follow-up work.

CI runs this against PostgreSQL + Redis; locally it needs REDIS_URL and DATABASE_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.db import connection

from conversations.models import MessageTranslation, TranslationStatus
from conversations.services import post_message, start_conversation
from core.celery import app
from tests.conftest import make_user, require_or_skip
from tests.standins.deepl_server import DeepLStandIn

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KEY = "worker-test-key:fx"


@pytest.fixture
def worker_env(settings):
    yield from _worker(settings)


def _worker(settings, *, extra_env=None, slow_queue: bool = False, deepl_delay: float = 0.0):
    require_or_skip(bool(settings.REDIS_URL), "needs REDIS_URL (a real broker) for a worker")
    require_or_skip(connection.vendor == "postgresql", "needs PostgreSQL shared with the worker")
    with DeepLStandIn(auth_key=KEY) as deepl_api:
        settings.DEEPL_AUTH_KEY = KEY
        settings.DEEPL_SERVER_URL = deepl_api.url
        db = connection.settings_dict
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": settings.REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DEEPL_AUTH_KEY": KEY,
            "DEEPL_SERVER_URL": deepl_api.url,
            "DB_CONN_MAX_AGE": "0",
        }
        queue = f"test-{os.getpid()}"
        # Tasks the worker itself enqueues (translate after planning) stay on its queue.
        env["CELERY_TASK_DEFAULT_QUEUE"] = queue
        env.update(extra_env or {})
        queues = [queue]
        previous_routes = settings.FOLLOW_UP_QUEUES
        if slow_queue:
            # Translation on its own queue, as docs/operations.md sets up production.
            queues.append(f"{queue}-translation")
            settings.FOLLOW_UP_QUEUES = {"translation": f"{queue}-translation"}
        if deepl_delay:
            deepl_api.set_mode("slow", delay=deepl_delay)
        pool = ["--pool", "threads", "--concurrency", "2"] if slow_queue else ["--pool", "solo"]
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "core",
                "worker",
                *pool,
                "--loglevel",
                "WARNING",
                "-Q",
                ",".join(queues),
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        previous = (app.conf.task_always_eager, app.conf.task_default_queue)
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        try:
            yield deepl_api, worker
        finally:
            app.conf.task_always_eager, app.conf.task_default_queue = previous
            settings.FOLLOW_UP_QUEUES = previous_routes
            deepl_api.stop()  # interrupts a slow answer, so the worker can stop
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()


def test_translation_runs_on_a_real_worker(worker_env):
    deepl_api, worker = worker_env
    lea = make_user("lea@example.fr", preferred_language="fr")
    jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
    conversation = start_conversation(buyer=lea, artisan=jonas)
    message = post_message(
        conversation=conversation, author=lea, text="Bonjour", language="fr"
    ).message
    deadline = time.monotonic() + 45
    row = None
    while time.monotonic() < deadline:
        row = MessageTranslation.objects.filter(message=message, target_language="de").first()
        if row and row.status == TranslationStatus.DONE:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.2)
    assert row is not None
    assert row.status == TranslationStatus.DONE, (
        f"worker did not translate: {row.status} {row.error}"
    )
    assert row.text.startswith("[DE]")
    assert len(deepl_api.translate_calls) == 1


def test_with_a_worker_telegram_delivery_does_not_wait_for_a_slow_deepl(settings):
    """The 10 s DeepL of issue 15, with a real worker: the buyer has the artisan's message in
    Telegram while DeepL has not answered yet, then the translation is edited in."""
    from bots.models import TelegramAccount
    from tests.standins.telegram_server import TelegramBotApiStandIn

    with TelegramBotApiStandIn() as telegram:
        settings.TELEGRAM_BOT_TOKEN = telegram.token
        settings.TELEGRAM_API_BASE = telegram.base_url
        workers = _worker(
            settings,
            extra_env={
                "TELEGRAM_BOT_TOKEN": telegram.token,
                "TELEGRAM_API_BASE": telegram.base_url,
            },
            slow_queue=True,
            deepl_delay=10.0,
        )
        deepl_api, worker = next(workers)
        try:
            lea = make_user("lea@example.fr", preferred_language="fr")
            account = TelegramAccount.objects.create(
                user=lea, telegram_user_id=9150, chat_id=9150, is_guest=False, language_code="fr"
            )
            jonas = make_user("jonas@example.de", role="artisan", preferred_language="de")
            conversation = start_conversation(buyer=lea, artisan=jonas)
            TelegramAccount.objects.filter(pk=account.pk).update(active_conversation=conversation)
            post_message(conversation=conversation, author=jonas, text="Guten Tag!", language="de")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not telegram.sent_messages(9150):
                assert worker.poll() is None, worker.stdout.read()
                time.sleep(0.1)
            # Then the original reached Telegram, and DeepL has not answered
            [shown] = telegram.sent_messages(9150)
            assert "Guten Tag!" in shown["text"]
            while time.monotonic() < deadline and not deepl_api.translate_calls:
                time.sleep(0.1)
            assert [call.status for call in deepl_api.translate_calls] == [None]
        finally:
            workers.close()
