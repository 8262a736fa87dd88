"""Print the current 2FA code of the demo artisans (demo data only)."""

import pyotp
from django.core.management.base import BaseCommand

from core.management.commands.seed_demo import DEMO_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the demo artisans' current TOTP code."

    def handle(self, *args, **options) -> None:
        self.stdout.write(pyotp.TOTP(DEMO_TOTP_SECRET).now())
