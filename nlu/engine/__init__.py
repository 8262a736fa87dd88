"""Embedded NLU engine trained from ``nlu/rasa/data/nlu.yml`` (no Rasa server needed)."""
