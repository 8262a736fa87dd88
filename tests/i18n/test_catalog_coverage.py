"""Every string the code marks for translation is translated in every UI locale.

``makemessages`` runs over a copy of the source tree (so the real catalogs are untouched),
and the result must have no untranslated and no fuzzy entry: a new English string that
nobody translated would otherwise reach a French or Japanese reader silently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

LOCALES = ["fr", "de", "es", "ja"]
SKIP = {
    ".venv",
    "node_modules",
    "media",
    "var",
    "staticfiles",
    ".git",
    "test-results",
    "tests",
    "bench",
}


@pytest.fixture(scope="module")
def regenerated_catalogs(tmp_path_factory) -> Path:
    assert shutil.which("msgattrib"), "GNU gettext is needed"
    root = Path(settings.BASE_DIR)
    copy = tmp_path_factory.mktemp("source")
    for entry in root.iterdir():
        if entry.name in SKIP or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(
                entry, copy / entry.name, ignore=shutil.ignore_patterns("*.mo", "__pycache__")
            )
        else:
            shutil.copy2(entry, copy / entry.name)
    args = [sys.executable, "manage.py", "makemessages", "-v0", "--no-obsolete"]
    args += [f"-l{code}" for code in LOCALES]
    result = subprocess.run(
        args, cwd=copy, capture_output=True, text=True, check=False, timeout=300
    )  # noqa: S603
    assert result.returncode == 0, result.stderr
    return copy / "locale"


@pytest.mark.parametrize("language", LOCALES)
def test_no_string_of_the_code_is_left_untranslated(regenerated_catalogs, language):
    po = regenerated_catalogs / language / "LC_MESSAGES" / "django.po"
    for flag in ("--untranslated", "--only-fuzzy"):
        found = subprocess.run(  # noqa: S603 - fixed arguments
            ["msgattrib", flag, "--no-obsolete", str(po)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries = [
            line for line in found.splitlines() if line.startswith("msgid ") and line != 'msgid ""'
        ]
        assert entries == [], f"{language}: {flag} entries:\n" + "\n".join(entries[:30])
