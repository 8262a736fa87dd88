"""The enforced CSP blocks inline script in a real browser, and the shared browser fixture's
violation recorder (tests/conftest.py) catches it — so every browser test would fail on one."""

from __future__ import annotations

import pytest

from tests.conftest import _record_csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_inline_script_is_blocked_and_recorded(chromium_path, server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    from tests.webchat.browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            violations = _record_csp_violations(browser)
            page = browser.new_context(base_url=server).new_page()
            page.goto("/accounts/login/")
            # The site's own scripts ran without a violation
            page.wait_for_load_state("load")
            assert violations == []
            # An injected inline script does not run, and is reported
            with pytest.raises(Exception):  # noqa: B017, PT011 (Playwright reports the block)
                page.add_script_tag(content="window.__injected = true;")
            assert page.evaluate("window.__injected === undefined")
            page.wait_for_timeout(200)
            assert any("script-src" in text for text in violations), violations
        finally:
            browser.close()
