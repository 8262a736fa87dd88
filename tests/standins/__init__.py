"""Loopback stand-ins for internet APIs, used by tests (never reach the internet)."""
