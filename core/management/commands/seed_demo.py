"""Load demo data for `make run`: an admin, a buyer, artisans with profiles and products.

Idempotent: running it again updates nothing that exists and prints the logins.
Apps extend the demo through ``DEMO_SEEDERS`` (their own ``demo.py`` modules).
"""

from __future__ import annotations

import pyotp
from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.module_loading import import_string

from core.models import Role, User

DEMO_PASSWORD = "atelier-demo-2026"
# Known secret so a tester can add the demo artisans to an authenticator app.
DEMO_TOTP_SECRET = "ATELIERDEMOARTISAN2FA234"

PEOPLE = [
    ("admin@atelier.test", Role.ADMIN, "Ada Admin", "en"),
    ("buyer@atelier.test", Role.BUYER, "Léa Martin", "fr"),
    ("potter@atelier.test", Role.ARTISAN, "Rosa Méndez", "es"),
    ("weaver@atelier.test", Role.ARTISAN, "Jonas Weber", "de"),
    ("carrier@atelier.test", Role.LOGISTICS, "Swift Parcel Co.", "en"),
]

DEMO_SEEDERS = ["commerce.demo.seed", "commerce.demo.seed_marketing", "conversations.demo.seed"]


class Command(BaseCommand):
    help = "Create demo people, shops and products (idempotent)."

    def handle(self, *args, **options) -> None:
        people: dict[str, User] = {}
        for email, role, name, lang in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                if role == Role.ADMIN:
                    user = User.objects.create_superuser(email=email, password=DEMO_PASSWORD)
                    user.display_name, user.preferred_language = name, lang
                    user.save()
                else:
                    user = User.objects.create_user(
                        email=email,
                        password=DEMO_PASSWORD,
                        role=role,
                        display_name=name,
                        preferred_language=lang,
                    )
                if role == Role.ARTISAN:
                    user.totp_secret = DEMO_TOTP_SECRET
                    user.totp_confirmed_at = timezone.now()
                    user.save()
            people[email] = user
        for path in DEMO_SEEDERS:
            import_string(path)(people)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with (password for all):"))
        self.stdout.write(f"  password: {DEMO_PASSWORD}")
        for email, role, name, _lang in PEOPLE:
            self.stdout.write(f"  {role:<10} {email:<24} {name}")
        code = pyotp.TOTP(DEMO_TOTP_SECRET).now()
        self.stdout.write(
            f"  Artisans use 2FA; authenticator key {DEMO_TOTP_SECRET} (current code {code})."
        )
