"""Machine translation for conversations: provider interface, DeepL adapter,
offline language detection and the pure budget/backoff helpers.

Import from the submodules (``provider``, ``types``, ``detect``, ``budget``,
``backoff``); ``deepl_client`` is loaded by the factory only when a key is set.
"""
