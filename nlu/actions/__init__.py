"""The rasa-sdk action server: ``python -m rasa_sdk --actions nlu.actions --port 5055``.

Rasa calls ``POST /webhook`` with the action name and the tracker; each action here is a
thin wrapper around the same action code the embedded dialogue runs
(:mod:`nlu.dialogue.actions`), so both engines behave alike. The tracker's ``sender_id``
is ``conversation-<id>`` (set by :func:`nlu.dialogue.engine.rasa_sender_id`), which tells
the actions whose conversation — and so which buyer — they act for.

Django is set up when this package is imported (the action server is its own process).
"""

import os

import django
from django.apps import apps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
if not apps.ready:
    django.setup()
