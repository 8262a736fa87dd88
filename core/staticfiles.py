"""Static files storage for production: whitenoise's compressed manifest, module-aware.

The chat client is a set of build-free ES modules (``static/webchat/*.js``) that load each
other with relative ``import … from "./x.js"``. ManifestStaticFilesStorage hashes every
file's name but rewrites those specifiers only when asked to (Django's
``support_js_module_import_aggregation``). Without it a hashed ``inbox.<hash>.js``, cached
for a year, would load the *unhashed* ``chat-client.js`` — served with a short cache, so a
deploy could pair a new page module with an old dependency (or the reverse). With it every
module names its dependencies' hashed files, and a new deploy is a new module graph.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ModuleAwareManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
