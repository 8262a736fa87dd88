"""Journey-test helpers: people in their own browser context, who only click, type and read.

A :class:`Journey` owns the screenshot folder and the step counter; each :class:`Person` is
one browser context (phone for buyers, desktop for artisans) in one language. A person starts
from the home page with the single ``page.goto`` a journey allows; after that ``goto`` raises,
so a test can only move the way a person does (links, buttons, fields). Every :meth:`Person.step`
saves ``test-results/journeys/<journey>/<NN>-<who>-<step>.png`` and runs axe-core on the page.

Selectors are written in the reader's language through the catalogs (:meth:`Person.t`), so a
step reads like the person: ``buyer.click_button("Order and pay")`` finds "Commander et payer"
on a French page.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = ROOT / "test-results" / "journeys"
TIMEOUT = 10_000  # ms; every wait is on something visible, never a fixed sleep
BLOCKING_IMPACTS = ("serious", "critical")

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def t(lang: str, msgid: str, context: str | None = None) -> str:
    """``msgid`` as a reader of ``lang`` sees it (from the compiled catalogs)."""
    with translation.override(lang):
        if context:
            return translation.pgettext(context, msgid)
        return translation.gettext(msgid)


# ---------------------------------------------------------------------------------------------
# Accessibility (axe-core, injected from node_modules)


def _axe_available() -> bool:
    if AXE_PATH.exists():
        return True
    message = f"axe-core is missing ({AXE_PATH}); run `make axe` (npm ci)."
    if os.environ.get("ATELIER_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)
    return False


AXE_RUN_JS = """
async () => {
  const result = await axe.run(document, {resultTypes: ['violations'], iframes: false});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 8),
  }));
}
"""


def axe_violations(page) -> list[dict]:
    """Serious/critical axe-core violations on the page and its same-origin frames."""
    _axe_available()
    found = []
    for frame in page.frames:
        if not frame.url.startswith(("http://", "https://")):
            continue
        if frame is not page.main_frame and not frame.url.startswith(page.url.split("/")[0]):
            continue
        # Evaluated through DevTools, not as a <script> tag: the site's enforced CSP blocks
        # inline scripts, and the tests fail on any violation.
        frame.evaluate(AXE_PATH.read_text(encoding="utf-8"))
        for violation in frame.evaluate(AXE_RUN_JS):
            if violation["impact"] in BLOCKING_IMPACTS:
                violation["frame"] = frame.url
                found.append(violation)
    return found


def assert_accessible(page, name: str) -> None:
    """Fail listing every serious or critical axe-core violation (rule, help, targets)."""
    violations = axe_violations(page)
    if violations:
        lines = [
            f"axe-core: {len(violations)} serious/critical violation(s) on {name} ({page.url})"
        ]
        for v in violations:
            lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}  (frame {v['frame']})")
            lines.extend(f"      at {target}" for target in v["targets"])
        pytest.fail("\n".join(lines), pytrace=False)


# ---------------------------------------------------------------------------------------------
# Language: strings of another locale must not show up


# Text a reader may legitimately see in another language: what people wrote themselves
# (messages, notes, product titles and option labels, item descriptions on a card)…
USER_TEXT = (
    ".msg-text, .msg-original, .chat-card-note, [data-user-text], [translate=no],"
    " .chat-card-lines li > span:first-child, .context-title, .context-options,"
    " .context-request, .context-product,"
    # …and the language picker, where each language is named in itself on purpose
    " #lang-picker"
)

VISIBLE_TEXT_JS = """
([selector, userText]) => {
  const roots = selector ? [...document.querySelectorAll(selector)] : [document.body];
  return roots.map((root) => {
    const copy = root.cloneNode(true);
    copy.querySelectorAll('script, style, template, [hidden], ' + userText).forEach((el) => el.remove());
    // innerText of a detached node ignores CSS; attach it off-screen to read what renders.
    const holder = document.createElement('div');
    holder.style.cssText = 'position:absolute;left:-99999px;top:0;width:1000px';
    holder.append(copy);
    document.body.append(holder);
    const text = holder.innerText;
    holder.remove();
    return text;
  }).join('\\n');
}
"""


def visible_text(page, selector: str | None = None) -> str:
    """What the page shows (or the elements matching ``selector``), minus people's own words."""
    return page.evaluate(VISIBLE_TEXT_JS, [selector, USER_TEXT])


def assert_no_foreign_strings(page, forbidden, *, selector: str | None = None, where: str = ""):
    """The visible text (of ``selector``) contains none of ``forbidden`` (whole words)."""
    text = visible_text(page, selector)
    hits = sorted(
        {s for s in forbidden if re.search(rf"(?<!\w){re.escape(s)}(?!\w)", text)}, key=len
    )
    if hits:
        pytest.fail(
            f"Strings of another language on {where or page.url}: {hits!r}\n--- visible text ---\n"
            f"{text[:3000]}",
            pytrace=False,
        )


PLACEHOLDER = re.compile(r"%\([^)]*\)[sdf]|%[sdf]|\{[^}]*\}|<[^>]+>|&\w+;")


def _fragments(text: str) -> list[str]:
    """Fixed parts of a catalog string (placeholders and markup split it)."""
    return [p.strip(" .,:;!?…·—-()\"'«»¡¿\n") for p in PLACEHOLDER.split(text)]


@cache
def _catalog(lang: str) -> dict[tuple[str | None, str], str]:
    from babel.messages.pofile import read_po

    entries: dict[tuple[str | None, str], str] = {}
    for domain in ("django", "djangojs"):
        po = ROOT / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"
        if not po.exists():
            continue
        with po.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strs = message.string if isinstance(message.string, tuple) else (message.string,)
            for i, msgid in enumerate(ids):
                msgstr = strs[min(i, len(strs) - 1)] if strs else ""
                entries[(message.context, msgid)] = msgstr or msgid
    return entries


def _leaves(value) -> list[str]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [str(value)]


def strings_in(lang: str, build) -> list[str]:
    """Every string ``build()`` returns (a dict/list tree of labels) with ``lang`` active."""
    with translation.override(lang):
        return _leaves(build())


def foreign_card_strings(reader: str, others: tuple[str, ...], build) -> frozenset[str]:
    """Fixed fragments of ``build()``'s strings in ``others`` that differ from the reader's."""
    own = {f.casefold() for s in strings_in(reader, build) for f in _fragments(s) if f}
    forbidden = set()
    for other in others:
        for string in strings_in(other, build):
            for fragment in _fragments(string):
                if len(fragment) >= 4 and fragment.casefold() not in own:
                    forbidden.add(fragment)
    return frozenset(forbidden)


def _distinctive(fragment: str) -> bool:
    return len(fragment) >= 7 and (" " in fragment or len(fragment) >= 8)


@cache
def foreign_strings(reader: str, *others: str) -> frozenset[str]:
    """Catalog strings in ``others`` (use "en" for the msgids) a ``reader`` must never see.

    Every fixed fragment of every translation in the other locales, minus anything that also
    occurs in the reader's own catalog (shared words such as "Total" or "PayPal").
    """
    mine = _catalog(reader)
    own_text = "\n".join(mine.values()).casefold()
    forbidden: set[str] = set()
    for other in others:
        strings = (
            [msgid for (_ctx, msgid) in mine] if other == "en" else list(_catalog(other).values())
        )
        for string in strings:
            for fragment in _fragments(string):
                if _distinctive(fragment) and fragment.casefold() not in own_text:
                    forbidden.add(fragment)
    return frozenset(forbidden)


def sample_image(name: str = "photo.png") -> dict:
    """A small PNG a person picks from their files (for proofs and photos)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), "#efe6d8")
    ImageDraw.Draw(image).ellipse((60, 40, 260, 200), fill="#8a7a52")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


# ---------------------------------------------------------------------------------------------
# People


class JourneyRuleBroken(AssertionError):
    pass


@dataclass
class Journey:
    name: str
    base_url: str
    folder: Path = field(init=False)
    counter: int = 0

    def __post_init__(self):
        self.folder = RESULTS / self.name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        print(f"\nJourney screenshots: {self.folder}")

    def next_number(self) -> int:
        self.counter += 1
        return self.counter


class Person:
    """One person in one browser context, moving only by clicking, typing and reading."""

    def __init__(self, journey: Journey, browser, *, who: str, lang: str, device: dict, tz: str):
        self.journey, self.who, self.lang = journey, who, lang
        self.context = browser.new_context(
            base_url=journey.base_url,
            locale=lang,
            timezone_id=tz,
            extra_http_headers={"Accept-Language": f"{lang},en;q=0.5"},
            **device,
        )
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self._started = False

    # -- the rules -------------------------------------------------------------------------
    def open_home(self) -> None:
        """The one ``goto`` of a journey: the home page. Afterwards only clicks and typing."""
        if self._started:
            raise JourneyRuleBroken(f"{self.who} already opened the home page once")
        self._started = True
        self.page.goto("/")

        def no_deep_links(*_args, **_kwargs):
            raise JourneyRuleBroken(
                f"{self.who}: journeys move by clicking, not by page.goto to a URL"
            )

        self.page.goto = no_deep_links  # type: ignore[method-assign]

    def close(self) -> None:
        # The last screen each person saw: what to look at first when a journey fails.
        try:
            self.page.screenshot(path=str(self.journey.folder / f"99-{self.who}-last.png"))
        finally:
            self.context.close()

    # -- language ------------------------------------------------------------------------
    def t(self, msgid: str, context: str | None = None) -> str:
        return t(self.lang, msgid, context)

    def name(self, msgid: str, context: str | None = None, *, exact: bool = False):
        """An accessible-name matcher for ``msgid`` in this person's language."""
        text = self.t(msgid, context)
        return text if exact else re.compile(re.escape(text), re.IGNORECASE)

    # -- what a person does ----------------------------------------------------------------
    def link(self, msgid: str, context: str | None = None, *, within=None, exact=False):
        scope = within or self.page
        return scope.get_by_role("link", name=self.name(msgid, context, exact=exact)).first

    def button(self, msgid: str, context: str | None = None, *, within=None, exact=False):
        scope = within or self.page
        return scope.get_by_role("button", name=self.name(msgid, context, exact=exact)).first

    def field(self, msgid: str, context: str | None = None, *, within=None, exact=True):
        """A form control by its label (whole label by default: "Note" is not "Note to…")."""
        scope = within or self.page
        if exact:
            return scope.get_by_label(self.t(msgid, context), exact=True).first
        return scope.get_by_label(self.name(msgid, context)).first

    def click_link(self, msgid: str, context: str | None = None, **kw) -> None:
        self.link(msgid, context, **kw).click()

    def click_button(self, msgid: str, context: str | None = None, **kw) -> None:
        self.button(msgid, context, **kw).click()

    def choose(self, select, label_part: str) -> None:
        """Select the option whose visible label contains ``label_part`` (e.g. "Wood ash")."""
        labels = select.locator("option").all_inner_texts()
        matches = [label for label in labels if label_part in label]
        assert matches, f"no option containing {label_part!r} in {labels!r}"
        select.select_option(label=matches[0])

    def fill(self, msgid: str, value: str, context: str | None = None, **kw) -> None:
        self.field(msgid, context, **kw).fill(value)

    def nav(self, msgid: str) -> None:
        """Click an entry of the site's main navigation (opening the phone menu if closed)."""
        nav = self.page.get_by_role("navigation", name=self.name("Main", exact=True))
        target = nav.get_by_role("link", name=self.name(msgid, exact=True))
        if not target.is_visible():
            menu = self.page.get_by_role("button", name=self.name("Menu"))
            if menu.count() and menu.first.is_visible():
                menu.first.click()
        target.click()
        self.page.wait_for_load_state()

    def sees(self, text: str, *, within=None):
        from playwright.sync_api import expect

        locator = (within or self.page).get_by_text(text, exact=False).first
        expect(locator).to_be_visible(timeout=TIMEOUT)
        return locator

    def sees_t(self, msgid: str, context: str | None = None, **kw):
        return self.sees(self.t(msgid, context), **kw)

    def tf(self, msgid: str, context: str | None = None, **params) -> str:
        """A catalog string with its ``%(name)s`` placeholders filled in."""
        return self.t(msgid, context) % params

    def money(self, amount, currency: str = "EUR") -> str:
        """An amount as this person's locale writes it (Babel, like the pages)."""
        from core.l10n import format_money

        with translation.override(self.lang):
            return format_money(amount, currency, language=self.lang)

    def chat_box(self, other_name: str):
        return self.page.get_by_label(self.tf("Message %(name)s", name=other_name), exact=True)

    def say(self, other_name: str, text: str) -> None:
        """Type a message to ``other_name`` in the open conversation and press Enter."""
        box = self.chat_box(other_name)
        # A person waits until the chat is live (the page's own client, connected).
        self.page.wait_for_function(
            "() => window.atelierChat && window.atelierChat.socket.ready", timeout=TIMEOUT
        )
        box.fill(text)
        box.press("Enter")

    def chat_log(self):
        return self.page.locator("[data-chat-log]")

    def sign_in(self, email: str, password: str, totp=None) -> None:
        """Type into the sign-in form as a person would (and the 2FA code, from pyotp)."""
        self.fill("Email", email)
        self.page.get_by_label(self.t("Password"), exact=True).fill(password)
        self.page.get_by_role("main").get_by_role(
            "button", name=self.name("Sign in", exact=True)
        ).click()
        if totp is not None:
            self.field("Authentication code").fill(totp.now())
            self.click_button("Verify")
        self.page.wait_for_load_state()

    # -- evidence ------------------------------------------------------------------------
    def step(self, name: str, *, accessible: bool = True, forbidden=None) -> Path:
        """Screenshot ``NN-<who>-<name>.png``, then axe-core (and foreign strings if given)."""
        self.page.wait_for_load_state()
        number = self.journey.next_number()
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.journey.folder / f"{number:02d}-{self.who}-{slug}.png"
        self.page.screenshot(path=str(path), full_page=True)
        if accessible:
            assert_accessible(self.page, f"{self.who}: {name}")
        if forbidden:
            assert_no_foreign_strings(self.page, forbidden, where=f"{self.who}: {name}")
        return path
