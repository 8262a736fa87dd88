"""Production static files: the chat client's ES modules load each other by hashed name.

Pages load ``{% static 'webchat/inbox.js' %}`` / ``widget-frame.js`` as ``<script
type="module">``; those import ``./chat-client.js``, which imports the other modules. With
the manifest storage each relative import must name its dependency's *hashed* file, so the
whole graph is cached immutably and one deploy never mixes old and new modules.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.production.support import STRIPE_KEYS, production_env, run_python

SPECIFIER = re.compile(
    r"""\b(?:import|export)\b[^'";]*?\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']"""
)
PAGE_MODULES = ("webchat/inbox.js", "webchat/widget-frame.js")


def _specifiers(text: str) -> list[str]:
    return [a or b for a, b in SPECIFIER.findall(text)]


def test_every_module_import_names_the_hashed_file_of_its_dependency(production_static_root):
    root = Path(production_static_root)
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    seen: set[str] = set()
    todo = list(PAGE_MODULES)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        hashed = paths[name]
        assert hashed != name
        text = (root / hashed).read_text()
        for specifier in _specifiers(text):
            assert specifier.startswith("./"), (hashed, specifier)
            target = str(Path(hashed).parent / specifier[2:])
            original = next((k for k, v in paths.items() if v == target), None)
            assert original is not None, f"{hashed} imports {specifier}, which is not a hashed file"
            assert (root / target).is_file()
            todo.append(original)
    # The graph reaches every module of the client
    assert {
        "webchat/chat-client.js",
        "webchat/controller.js",
        "webchat/protocol.js",
        "webchat/render.js",
        "webchat/format.js",
        "webchat/forms.js",
    } <= seen


SERVE_GRAPH = r"""
import re, django
django.setup()
from django.templatetags.static import static
from django.test import Client
from urllib.parse import urljoin
pattern = re.compile(SPECIFIER)
client = Client(HTTP_X_FORWARDED_PROTO="https")
todo = [static(name) for name in PAGE_MODULES]
seen = set()
while todo:
    url = todo.pop()
    if url in seen:
        continue
    seen.add(url)
    r = client.get(url)
    body = b"".join(r.streaming_content if r.streaming else [r.content]).decode()
    print(url, r.status_code, r.headers.get("Content-Type", "").split(";")[0],
          "immutable" in r.headers.get("Cache-Control", ""))
    for a, b in pattern.findall(body):
        todo.append(urljoin(url, a or b))
"""


def test_production_serves_the_module_graph_with_immutable_caching(production_static_root):
    code = f"SPECIFIER = {SPECIFIER.pattern!r}\nPAGE_MODULES = {PAGE_MODULES!r}\n{SERVE_GRAPH}"
    env = production_env(
        **STRIPE_KEYS, DJANGO_ALLOWED_HOSTS="testserver", STATIC_ROOT=production_static_root
    )
    result = run_python(code, env)
    lines = result.stdout.splitlines()
    assert len(lines) >= 7, result.stdout + result.stderr[-2000:]
    for line in lines:
        url, status, content_type, immutable = line.split()
        assert re.search(r"/static/webchat/[\w-]+\.[0-9a-f]{12}\.js$", url), line
        assert (status, content_type, immutable) == ("200", "text/javascript", "True"), line
