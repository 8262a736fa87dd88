"""Telegram plumbing: Bot construction (client), rate-limited outbox, keyboards."""
