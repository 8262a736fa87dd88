"""The chat client's protocol module (static/webchat/protocol.js) under node's test runner.

The module has no DOM and no build step, so node runs it exactly as browsers load it; the
cases themselves are in tests/webchat/js/protocol.test.mjs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parent / "js"


def test_protocol_module_passes_its_node_tests():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("ATELIER_REQUIRE_BROWSER"):
            pytest.fail("node is required in CI but was not found on PATH.")
        pytest.skip("node is not installed")
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [node, "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", "--test", str(JS_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
    assert "# pass 0" not in result.stdout  # the runner found the cases
