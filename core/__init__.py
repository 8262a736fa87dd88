"""Atelier project core: settings, accounts, authentication, audit, GDPR."""

from core.celery import app as celery_app

__all__ = ["celery_app"]
