"""Warm-ups: imports run at once on the starting thread (a background import of a package
with internal cycles can deadlock against a request importing it); models load behind."""

from __future__ import annotations

import threading

from core import startup


def test_import_warm_ups_run_first_on_the_calling_thread_and_the_rest_in_the_background(
    monkeypatch,
):
    monkeypatch.setattr(startup, "_warm_ups", [])
    monkeypatch.setattr(startup, "_imports", [])
    seen: dict[str, str] = {}
    release = threading.Event()

    def imports() -> None:
        seen["imports"] = threading.current_thread().name

    def model() -> None:
        release.wait(5)
        seen["model"] = threading.current_thread().name

    startup.register_warm_up(imports, imports_only=True)
    startup.register_warm_up(imports, imports_only=True)  # registered once
    startup.register_warm_up(model)

    thread = startup.start_warm_ups()

    assert seen == {"imports": threading.current_thread().name}  # done before it returned
    release.set()
    thread.join(5)
    assert seen["model"] == "atelier-warm-up"
    assert startup._imports == [imports]


def test_a_failing_warm_up_is_logged_and_does_not_stop_the_server(monkeypatch, caplog):
    monkeypatch.setattr(startup, "_warm_ups", [])
    monkeypatch.setattr(startup, "_imports", [])

    def broken() -> None:
        raise ImportError("no such module")

    startup.register_warm_up(broken, imports_only=True)
    startup.start_warm_ups().join(5)
    assert "warm-up" in caplog.text and "no such module" in caplog.text
