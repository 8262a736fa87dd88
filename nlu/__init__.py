"""Atelier NLU: Rasa project, Rasa HTTP client and embedded engine.

Public entry point: :func:`nlu.interface.get_nlu_engine`.
"""
